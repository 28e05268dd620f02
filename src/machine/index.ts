/** The key state: one xstate machine (the single writer of both slots) behind the Agent facade. */
export { Agent, type AgentDeps, type AgentClock, type ActiveChangeListener, type Refusal, type RefusalListener } from './agent';
export { createAgentMachine, type AgentMachine, INITIAL_CONTEXT } from './agent-machine';
export { buildStatus } from './status';
/** The wire limits on Status.warnings (applied by src/server/wire-status.ts), under the names this index has always exported. */
export { MAX_STATUS_WARNINGS as MAX_WARNINGS, MAX_WARNING_BYTES } from '../protocol/constants';
export { EXPIRY_WARNING_PERIODS, MAX_TIMER_DELAY_MS } from './rules';
export * from './types';
