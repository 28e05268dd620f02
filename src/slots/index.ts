/** The only places the agent keeps KES sign keys: the staging slot and the active slot. */
export { StagedSlot } from './staged-slot';
export { ActiveSlot } from './active-slot';
