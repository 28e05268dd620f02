/** The key state: one xstate machine (the single writer of both slots) behind the Agent facade. */
export { Agent, type AgentDeps, type AgentClock, type ActiveChangeListener, type Refusal, type RefusalListener } from './agent';
export { createAgentMachine, type AgentMachine, INITIAL_CONTEXT } from './agent-machine';
export { buildStatus, MAX_WARNINGS, MAX_WARNING_BYTES } from './status';
export { EXPIRY_WARNING_PERIODS, MAX_TIMER_DELAY_MS } from './rules';
export * from './types';
