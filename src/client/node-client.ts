/**
 * The block producer's side of the service socket: KesNodeClient, the public face of three
 * parts: the reconnect loop (reconnect-loop.ts), the session decoder (node-session-decoder.ts)
 * and key custody (key-custody.ts).
 *
 * It keeps one connection to the agent, validates every key the agent pushes before it replaces
 * the held one, evolves the held key itself at each KES period boundary, keeps it across agent
 * restarts and disconnects, and signs at the current period. Everything here follows from what
 * went wrong in other clients (cardano-node's own: docs/haskell-protocol.md §9):
 *
 * - a pushed key is checked with a probe signature, not only by its derived vk (dingo's client checked only
 *   that: the vk is computed from 64 PUBLIC bytes of the key, so a forged key passes that check);
 * - the opcert is checked against the configured cold key (cardano-node checks nothing);
 * - reconnects back off exponentially and the backoff resets only after a session delivered a
 *   valid state message, never after a bare handshake (dingo's client, which reset on connect, made 7,000
 *   reconnects/s);
 * - every failure is an event with a reason that names the socket (dingo's client logged nothing when its
 *   socket path was wrong);
 * - nothing recoverable throws into the host: there is no 'error' event.
 */
import { KesError, type ErrorCode } from '../errors';
import { assertBytes, assertInteger } from '../crypto/bytes';
import { type WireErrorName } from '../protocol';
import { type ChainTiming } from '../time';
import { type BackoffOptions } from './backoff';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './connect';
import { defaultAgentTrust, type AgentTrust } from './agent-identity';
import { TypedEvents } from './typed-events';
import { KeyCustody, type DropReason, type MismatchCode, type NodeKeyInfo, type NodeSignature } from './key-custody';
import { runNodeSession } from './node-session-decoder';
import { ReconnectLoop } from './reconnect-loop';

export type { DropReason, MismatchCode, NodeKeyInfo, NodeSignature } from './key-custody';

import { MAX_TIMER_DELAY_MS } from '../platform/timers';

/** Cold verification key size (Ed25519). */
const COLD_VK_BYTES = 32;

export interface KesNodeClientInit {
  /** The agent's service socket. */
  socketPath: string;
  /** The chain's KES clock (networkTiming('mainnet'), readGenesisFile(...)). */
  timing: ChainTiming;
  /** The pool's cold verification key: when given, a key whose opcert it did not sign is refused. */
  coldVk?: Uint8Array;
  /** Capped exponential reconnect backoff. @default { initialMs: 100, maxMs: 10000 } */
  backoff?: BackoffOptions;
  /** Wall clock in unix ms. @default Date.now */
  now?: () => number;
  /**
   * Which uids the agent may run as besides root and this process's: a listener running as any
   * other uid is refused before anything is read from it (AGENT_NOT_TRUSTED).
   * @default defaultAgentTrust(): the owner of /run/kes-agent
   */
  trust?: AgentTrust;
  /** connect() limit per attempt. @default DEFAULT_CONNECT_TIMEOUT_MS (5000) */
  connectTimeoutMs?: number;
  /**
   * How long the agent has to answer HELLO, and then to send its key state (KEY or NO_KEY).
   * @default DEFAULT_HANDSHAKE_TIMEOUT_MS (5000)
   */
  handshakeTimeoutMs?: number;
}

export interface KesNodeClientEvents {
  /** The handshake completed. */
  connected: { agentVersion: string; protocolVersion: number };
  /**
   * A connection attempt failed or a session ended. `code` says which: AGENT_SOCKET_MISSING,
   * AGENT_SOCKET_DENIED, AGENT_UNREACHABLE, AGENT_HANDSHAKE_FAILED, AGENT_HANDSHAKE_TIMEOUT,
   * SOCKET_PATH_TOO_LONG (attempts) or AGENT_CONNECTION_LOST (sessions). The held key is kept.
   */
  disconnected: { reason: string; code: ErrorCode; willRetryInMs: number };
  /** A key was installed (new, or replacing the held one). Not emitted when the agent re-sends the held key. */
  key: { kesVk: string; counter: number; startKesPeriod: number; evolution: number; replaced: boolean };
  /** The held key was wiped. */
  dropped: { reason: DropReason };
  /** A pushed key was refused (the held key, if any, is unchanged); `code` went back to the agent in CONFIRM. */
  rejected: { code: WireErrorName; reason: string };
  /**
   * Emitted with 'rejected' when the refusal comes from a mismatch between the agent's setup and
   * this client's, which waiting will not cure: the opcert's cold key is not this client's
   * (OPCERT_WRONG_COLD_KEY), its signature does not verify (OPCERT_BAD_SIGNATURE), or the key is
   * at another public network's KES period (NETWORK_MISMATCH, network-mismatch.ts). A caller
   * that must answer now (kes-node sign) fails with `error` at once.
   */
  mismatch: { error: MismatchCode; reason: string };
  /** The held key evolved (old evolutions are erased). */
  evolved: { evolution: number; kesPeriod: number };
  /** The agent said it has no active key (e.g. it restarted). `keptKey`: the node still holds its own. */
  noKey: { keptKey: boolean };
}

/**
 * A block producer's connection to kes-agent.
 *
 * ```ts
 * import { KesNodeClient } from './src/client';
 * import { networkTiming } from './src/time';
 * import { readColdVerificationKeyFile } from './src/cardano';
 * import { loadSodium } from './src/crypto/sodium';
 *
 * await loadSodium(); // once per process (start() also waits for it before it connects)
 * const client = new KesNodeClient({
 *   socketPath: '/run/kes-agent/service.sock',
 *   timing: networkTiming('mainnet'),
 *   coldVk: readColdVerificationKeyFile('/etc/cardano/cold.vkey'), // refuse keys of other pools
 * });
 * client.on('key', (k) => log.info(`KES key ${k.kesVk} counter ${k.counter} evolution ${k.evolution}`));
 * client.on('dropped', (d) => log.warn(`key dropped: ${d.reason}`));
 * client.on('rejected', (r) => log.warn(`refused a key from the agent: ${r.code}: ${r.reason}`));
 * client.on('disconnected', (d) => log.warn(`${d.reason} [${d.code}]; retrying in ${d.willRetryInMs} ms`));
 * client.start();
 *
 * await client.waitForKey(10_000).catch((e) => log.error(e.message)); // bounded; the agent may start later
 *
 * // When the node leads a slot: signs at the CURRENT KES period, evolving first if it moved on.
 * const { signature, kesPeriod, evolution } = client.sign(headerBodyBytes);
 *
 * await client.stop(); // closes the socket and wipes the key
 * ```
 *
 * The client never keeps the process alive by itself (its socket and timers are unref'd), and
 * nothing recoverable is thrown at the host: failures are events, and the client reconnects.
 */
export class KesNodeClient extends TypedEvents<KesNodeClientEvents> {
  readonly socketPath: string;
  readonly timing: ChainTiming;
  readonly #now: () => number;
  readonly #custody: KeyCustody;
  readonly #connection: ReconnectLoop;

  #state: 'new' | 'running' | 'stopped' = 'new';
  #loop: Promise<void> | undefined;

  constructor(init: KesNodeClientInit) {
    super();
    if (typeof init.socketPath !== 'string' || init.socketPath === '') {
      throw new KesError('INVALID_ARGUMENT', 'KesNodeClient socketPath: expected a non-empty string');
    }
    if (typeof init.timing !== 'object' || init.timing === null) {
      throw new KesError('INVALID_ARGUMENT', 'KesNodeClient timing: expected a ChainTiming');
    }
    if (init.coldVk !== undefined) assertBytes(init.coldVk, 'KesNodeClient coldVk', COLD_VK_BYTES);
    this.socketPath = init.socketPath;
    this.timing = init.timing;
    this.#now = init.now ?? Date.now;
    const trust = init.trust ?? defaultAgentTrust();
    const connectTimeoutMs = init.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const handshakeTimeoutMs = init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const custody = new KeyCustody({
      timing: init.timing,
      coldVk: init.coldVk?.slice(),
      now: this.#now,
      emit: (event, payload) => this.emit(event, payload),
      isStopped: () => this.#state === 'stopped',
    });
    this.#custody = custody;
    const isRunning = (): boolean => this.#state === 'running';
    this.#connection = new ReconnectLoop({
      socketPath: init.socketPath,
      trust,
      ...(init.backoff === undefined ? {} : { backoff: init.backoff }),
      connectTimeoutMs,
      handshakeTimeoutMs,
      isRunning,
      onConnected: (conn) => {
        if (!custody.hasKey()) custody.noteProblem('connected, but the agent has not sent its key state yet');
        this.emit('connected', { agentVersion: conn.agentVersion, protocolVersion: conn.protocolVersion });
      },
      session: (framed, session) => runNodeSession(framed, { stateTimeoutMs: handshakeTimeoutMs, isRunning, pushes: custody }, session),
      onDisconnected: (end, willRetryInMs) => {
        if (end.code !== 'AGENT_CONNECTION_LOST') custody.noteProblem(`cannot reach the agent: ${end.reason}`);
        this.emit('disconnected', { reason: end.reason, code: end.code, willRetryInMs });
      },
    });
    assertInteger(connectTimeoutMs, 'KesNodeClient connectTimeoutMs', 1, MAX_TIMER_DELAY_MS);
    assertInteger(handshakeTimeoutMs, 'KesNodeClient handshakeTimeoutMs', 1, MAX_TIMER_DELAY_MS);
  }

  /** Connect and keep reconnecting until stop(). Calling it again while running does nothing. */
  start(): void {
    if (this.#state === 'stopped') throw new KesError('CLIENT_STOPPED', 'KesNodeClient: start() after stop(); create a new client');
    if (this.#state === 'running') return;
    this.#state = 'running';
    this.#loop = this.#connection.run();
  }

  /** Close the connection, cancel every timer, wipe the key, and reject pending waitForKey() calls. */
  async stop(): Promise<void> {
    if (this.#state !== 'stopped') {
      this.#state = 'stopped';
      // The key goes first: nothing below can fail in a way that leaves it behind.
      this.#custody.wipe();
      this.#connection.interrupt();
      this.#custody.rejectWaiters(new KesError('CLIENT_STOPPED', 'KesNodeClient was stopped while waiting for a key'));
    }
    await this.#loop;
  }

  /** True while a session with the agent is open (after the handshake). */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /** Whether a key is held (it may not be valid yet: see waitForKey for "usable"). */
  hasKey(): boolean {
    return this.#custody.hasKey();
  }

  keyInfo(): NodeKeyInfo | null {
    return this.#custody.keyInfo();
  }

  /**
   * Sign `message` at the current KES period, evolving the key first if the period moved on
   * (the old evolutions are erased: docs/kes-construction.md §4.7).
   * @throws KesError NO_KEY, KEY_NOT_YET_VALID (opcert starts later, chain not started), KEY_EXPIRED
   */
  sign(message: Uint8Array): NodeSignature {
    assertBytes(message, 'message to sign');
    return this.#custody.sign(message);
  }

  /**
   * Resolve once a key that can sign now is held (immediately if one is).
   * @throws KesError TIMEOUT (its message says why: agent unreachable, no key, key refused, not
   *   valid yet), CLIENT_STOPPED
   */
  waitForKey(timeoutMs: number): Promise<void> {
    assertInteger(timeoutMs, 'waitForKey timeoutMs', 0, MAX_TIMER_DELAY_MS);
    if (this.#state === 'stopped') return Promise.reject(new KesError('CLIENT_STOPPED', 'KesNodeClient was stopped'));
    return this.#custody.waitForKey(timeoutMs);
  }
}
