/** Clients of the agent's sockets: the node library (service socket) and connection helpers. */
export {
  KesNodeClient,
  type KesNodeClientInit,
  type KesNodeClientEvents,
  type NodeKeyInfo,
  type NodeSignature,
  type DropReason,
} from './node-client';
export { MAX_TIMER_DELAY_MS } from '../platform/timers';
export {
  connectToAgent,
  connectFailure,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  type ConnectOptions,
  type AgentConnection,
} from './connect';
export {
  Backoff,
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  BACKOFF_FACTOR,
  MIN_BACKOFF_MS,
  MAX_BACKOFF_MS,
  type BackoffOptions,
} from './backoff';
export { TypedEvents, type Listener } from './typed-events';
export { AGENT_UID_ENV, type AgentTrust, agentTrustFrom, defaultAgentTrust, verifyAgent } from './agent-identity';
/**
 * Call once, after loadSodium() and before starting a KesNodeClient, to receive keys into locked,
 * no-dump memory with core dumps off: `hardenProcess({ allowUnlockedMemory: true })` returns
 * the warnings for whatever the host did not allow; `allowUnlockedMemory: false` makes a gap fatal.
 */
export { hardenProcess, type Hardening, type HardeningOptions } from '../platform/hardening';
