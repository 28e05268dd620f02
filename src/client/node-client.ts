/**
 * The block producer's side of the service socket: KesNodeClient.
 *
 * It keeps one connection to the agent, validates every key the agent pushes before it replaces
 * the held one, evolves the held key itself at each KES period boundary, keeps it across agent
 * restarts and disconnects, and signs at the current period. Everything here follows from what
 * went wrong in other clients (peers.md §1.2, §2; haskell-kes-agent.md §2.13, §6.2):
 *
 * - a pushed key is checked with a probe signature, not only by its derived vk (dingo defect 6:
 *   the vk is computed from 64 PUBLIC bytes of the key, so a forged key passes that check);
 * - the opcert is checked against the configured cold key (cardano-node checks nothing);
 * - reconnects back off exponentially and the backoff resets only after a session delivered a
 *   valid state message, never after a bare handshake (dingo defect 4: 7,000 reconnects/s);
 * - every failure is an event with a reason that names the socket (dingo defect 1);
 * - nothing recoverable throws into the host: there is no 'error' event.
 */
import { KesError, type ErrorCode } from '../errors';
import { assertBytes, assertInteger, bytesEqual, toHex } from '../crypto/bytes';
import { releaseSecret } from '../crypto/secret-memory';
import { KesSignKey } from '../crypto/kes';
import { loadSodium } from '../crypto/sodium';
import { verifyOpcert, type Opcert } from '../cardano/opcert';
import {
  ConnectionClosedError,
  ProtocolError,
  ReceiveTimeoutError,
  WIRE_ERROR_CODES,
  wireErrorName,
  wipeMessage,
  type FramedSocket,
  type KeyMessage,
  type Message,
  type WireErrorName,
} from '../protocol';
import { type ChainTiming, kesTimeAt, opcertStanding } from '../time';
import { msUntilNextCheck } from '../machine/rules';
import { Backoff, type BackoffOptions } from './backoff';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, connectToAgent } from './connect';
import { defaultAgentTrust, type AgentTrust } from './agent-identity';
import { TypedEvents } from './typed-events';
import { describeNetworkMismatch, networkMismatchOf } from './network-mismatch';

/** setTimeout's largest delay (2^31 − 1 ms); longer waits are done in steps and re-checked. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

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

/** Public facts about the held key. Never key bytes. */
export interface NodeKeyInfo {
  /** The KES verification key (the opcert's hot vk), hex. */
  kesVk: string;
  counter: number;
  startKesPeriod: number;
  /** The evolution the held key is at now. */
  evolution: number;
  /** A copy of the opcert that came with the key. */
  opcert: Opcert;
}

export type DropReason =
  /** The agent sent KEY_DROPPED (drop-active, or its key expired). */
  | 'agent-dropped'
  /** The opcert window ended here (kp ≥ c0 + maxKESEvolutions); the key was wiped. */
  | 'expired'
  /** Evolving the key failed (libsodium error); the half-evolved key was wiped. */
  | 'evolution-failed';

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

export type MismatchCode = Extract<ErrorCode, 'OPCERT_WRONG_COLD_KEY' | 'OPCERT_BAD_SIGNATURE' | 'NETWORK_MISMATCH'>;

export interface NodeSignature {
  /** 448-byte Sum6KES signature. */
  signature: Uint8Array;
  /** The absolute KES period signed at (what goes into a block header). */
  kesPeriod: number;
  /** kesPeriod − the opcert's start period: what verifyKes needs. */
  evolution: number;
}

interface HeldKey {
  key: KesSignKey;
  opcert: Opcert;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

type SessionEnd = { productive: boolean; reason: string; code: ErrorCode };

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
  readonly #coldVk: Uint8Array | undefined;
  readonly #now: () => number;
  readonly #trust: AgentTrust;
  readonly #backoff: Backoff;
  readonly #connectTimeoutMs: number;
  readonly #handshakeTimeoutMs: number;

  #state: 'new' | 'running' | 'stopped' = 'new';
  #loop: Promise<void> | undefined;
  readonly #abort = new AbortController();
  #framed: FramedSocket | undefined;
  #retry: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  #held: HeldKey | undefined;
  readonly #waiters = new Set<Waiter>();
  /** Why there is no usable key, for waitForKey's timeout message; cleared when a key is installed. */
  #lastProblem: string | undefined;
  /** Set when the held key expired, so sign() can say KEY_EXPIRED rather than NO_KEY. */
  #expired: { counter: number; endPeriod: number } | undefined;

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
    this.#coldVk = init.coldVk?.slice();
    this.#now = init.now ?? Date.now;
    this.#trust = init.trust ?? defaultAgentTrust();
    this.#backoff = new Backoff(init.backoff);
    this.#connectTimeoutMs = init.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#handshakeTimeoutMs = init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    assertInteger(this.#connectTimeoutMs, 'KesNodeClient connectTimeoutMs', 1, MAX_TIMER_DELAY_MS);
    assertInteger(this.#handshakeTimeoutMs, 'KesNodeClient handshakeTimeoutMs', 1, MAX_TIMER_DELAY_MS);
  }

  /** Connect and keep reconnecting until stop(). Calling it again while running does nothing. */
  start(): void {
    if (this.#state === 'stopped') throw new KesError('CLIENT_STOPPED', 'KesNodeClient: start() after stop(); create a new client');
    if (this.#state === 'running') return;
    this.#state = 'running';
    this.#loop = this.#run();
  }

  /** Close the connection, cancel every timer, wipe the key, and reject pending waitForKey() calls. */
  async stop(): Promise<void> {
    if (this.#state !== 'stopped') {
      this.#state = 'stopped';
      // The key goes first: nothing below can fail in a way that leaves it behind.
      this.#wipeKey();
      this.#abort.abort();
      this.#framed?.destroy();
      if (this.#retry !== undefined) {
        clearTimeout(this.#retry.timer);
        this.#retry.wake();
      }
      for (const w of [...this.#waiters]) this.#settle(w, new KesError('CLIENT_STOPPED', 'KesNodeClient was stopped while waiting for a key'));
    }
    await this.#loop;
  }

  /** True while a session with the agent is open (after the handshake). */
  get connected(): boolean {
    return this.#framed !== undefined;
  }

  /** Whether a key is held (it may not be valid yet: see waitForKey for "usable"). */
  hasKey(): boolean {
    return this.#held !== undefined;
  }

  keyInfo(): NodeKeyInfo | null {
    const held = this.#held;
    if (held === undefined) return null;
    return {
      kesVk: toHex(held.opcert.hotVk),
      counter: held.opcert.counter,
      startKesPeriod: held.opcert.kesPeriod,
      evolution: held.key.evolution,
      opcert: copyOpcert(held.opcert),
    };
  }

  /**
   * Sign `message` at the current KES period, evolving the key first if the period moved on
   * (the old evolutions are erased: kes-spec.md §4.7).
   * @throws KesError NO_KEY, KEY_NOT_YET_VALID (opcert starts later, chain not started), KEY_EXPIRED
   */
  sign(message: Uint8Array): NodeSignature {
    assertBytes(message, 'message to sign');
    const nowMs = this.#now();
    this.#catchUp(nowMs);
    const held = this.#held;
    if (held === undefined) {
      if (this.#expired !== undefined) {
        throw new KesError(
          'KEY_EXPIRED',
          `the KES key (opcert counter ${this.#expired.counter}) expired at KES period ${this.#expired.endPeriod}; the agent needs a new key and opcert`,
        );
      }
      throw new KesError('NO_KEY', `no KES key is held${this.#lastProblem !== undefined ? `: ${this.#lastProblem}` : ''}`);
    }
    const t = kesTimeAt(this.timing, nowMs);
    if (!t.started) {
      throw new KesError('KEY_NOT_YET_VALID', `${this.timing.name}: the chain has not started; there is no KES period to sign at yet`);
    }
    const c0 = held.opcert.kesPeriod;
    const standing = opcertStanding(this.timing, c0, t.kesPeriod);
    if (standing.kind === 'not-yet-valid') {
      throw new KesError('KEY_NOT_YET_VALID', `the opcert is valid from KES period ${c0}; the current KES period is ${t.kesPeriod}`);
    }
    if (standing.kind === 'expired') {
      // Unreachable: #catchUp wiped it. Kept so a future change cannot sign with an expired key.
      throw new KesError('KEY_EXPIRED', `the opcert's window ended at KES period ${c0 + this.timing.maxKESEvolutions}`);
    }
    if (held.key.evolution !== standing.evolution) {
      throw new KesError(
        'KEY_NOT_YET_VALID',
        `the key is at evolution ${held.key.evolution}, past evolution ${standing.evolution} of KES period ${t.kesPeriod} (did the clock go back?)`,
      );
    }
    return { signature: held.key.sign(message), kesPeriod: t.kesPeriod, evolution: standing.evolution };
  }

  /**
   * Resolve once a key that can sign now is held (immediately if one is).
   * @throws KesError TIMEOUT (its message says why: agent unreachable, no key, key refused, not
   *   valid yet), CLIENT_STOPPED
   */
  waitForKey(timeoutMs: number): Promise<void> {
    assertInteger(timeoutMs, 'waitForKey timeoutMs', 0, MAX_TIMER_DELAY_MS);
    if (this.#state === 'stopped') return Promise.reject(new KesError('CLIENT_STOPPED', 'KesNodeClient was stopped'));
    if (this.#usableAt(this.#now())) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#settle(waiter, new KesError('TIMEOUT', `no usable KES key within ${timeoutMs} ms: ${this.#whyNoKey()}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  // ---- connection loop ------------------------------------------------------------------------

  async #run(): Promise<void> {
    // Key validation needs libsodium; a host that forgot loadSodium() must not see every key refused.
    await loadSodium();
    while (this.#state === 'running') {
      const end = await this.#attempt();
      if (this.#state !== 'running') return;
      if (end.productive) this.#backoff.reset();
      const delay = this.#backoff.next();
      if (end.code !== 'AGENT_CONNECTION_LOST') this.#lastProblem = `cannot reach the agent: ${end.reason}`;
      this.emit('disconnected', { reason: end.reason, code: end.code, willRetryInMs: delay });
      await this.#sleep(delay);
    }
  }

  async #attempt(): Promise<SessionEnd> {
    let framed: FramedSocket;
    try {
      const conn = await connectToAgent({
        socketPath: this.socketPath,
        role: 'service',
        connectTimeoutMs: this.#connectTimeoutMs,
        handshakeTimeoutMs: this.#handshakeTimeoutMs,
        signal: this.#abort.signal,
        trust: this.#trust,
      });
      framed = conn.framed;
      if (this.#state !== 'running') {
        framed.destroy();
        return { productive: false, reason: 'stopped', code: 'CLIENT_STOPPED' };
      }
      framed.socket.unref();
      this.#framed = framed;
      if (this.#held === undefined) this.#lastProblem = 'connected, but the agent has not sent its key state yet';
      this.emit('connected', { agentVersion: conn.agentVersion, protocolVersion: conn.protocolVersion });
    } catch (e) {
      if (e instanceof KesError) return { productive: false, reason: e.message, code: e.code };
      const what = e instanceof Error ? e.name : 'unknown error';
      return { productive: false, reason: `${this.socketPath}: connecting failed (${what})`, code: 'AGENT_UNREACHABLE' };
    }
    const session = { productive: false };
    try {
      const reason = await this.#session(framed, session);
      return { productive: session.productive, reason: `${this.socketPath}: ${reason}`, code: 'AGENT_CONNECTION_LOST' };
    } finally {
      this.#framed = undefined;
      framed.destroy();
    }
  }

  /** Handle pushes until the connection ends; returns why it ended. */
  async #session(framed: FramedSocket, session: { productive: boolean }): Promise<string> {
    let first = true;
    for (;;) {
      let msg: Message;
      try {
        // The agent sends its state (KEY or NO_KEY) right after WELCOME; after that it may stay
        // silent for days, and the held key keeps working meanwhile.
        msg = await framed.receive(first ? this.#handshakeTimeoutMs : undefined);
      } catch (e) {
        if (this.#state !== 'running') return 'stopped';
        if (e instanceof ReceiveTimeoutError) return `the agent sent no key state within ${e.timeoutMs} ms of the handshake`;
        if (e instanceof ConnectionClosedError) return e.message.replace(/^the peer/, 'the agent');
        if (e instanceof ProtocolError) {
          await framed.closeWithError(e.wireCode, e.message);
          return `the agent sent an invalid frame: ${e.message} (${e.code})`;
        }
        return 'the connection failed';
      }
      first = false;
      if (this.#state !== 'running') {
        wipeMessage(msg);
        return 'stopped';
      }
      let result: number;
      switch (msg.type) {
        case 'key':
          result = this.#receiveKey(msg);
          if (result === 0) session.productive = true;
          break;
        case 'no_key':
          // An agent that restarted has an empty memory: the node keeps its key (haskell-kes-agent.md §2.13).
          session.productive = true;
          result = 0;
          if (this.#held === undefined) this.#lastProblem = 'the agent has no active key';
          this.emit('noKey', { keptKey: this.#held !== undefined });
          break;
        case 'key_dropped':
          session.productive = true;
          result = 0;
          this.#lastProblem = 'the agent dropped its key';
          if (this.#held !== undefined) {
            this.#wipeKey();
            this.#expired = undefined;
            this.emit('dropped', { reason: 'agent-dropped' });
          }
          break;
        case 'error': {
          const name = wireErrorName(msg.code) ?? `code ${msg.code}`;
          return `the agent sent ERROR ${name}: ${msg.message}`;
        }
        default:
          await framed.closeWithError(WIRE_ERROR_CODES.UNEXPECTED_MESSAGE, 'unexpected message on the service socket');
          return `the agent sent a message a node does not expect (${msg.type})`;
      }
      try {
        await framed.send({ type: 'confirm', seq: msg.seq, result });
      } catch {
        return this.#state === 'running' ? 'the connection closed while confirming a push' : 'stopped';
      }
    }
  }

  // ---- received keys ------------------------------------------------------------------------

  /**
   * Validate and install a pushed key; returns the CONFIRM result. The frame's secret buffer is
   * wiped on every path, and a refused key never replaces the held one.
   */
  #receiveKey(msg: KeyMessage): number {
    let candidate: KesSignKey | undefined;
    try {
      const opcertProblem = this.#opcertProblem(msg.opcert);
      if (opcertProblem !== undefined) return this.#refuse('NODE_OPCERT_INVALID', opcertProblem.reason, opcertProblem.error);
      try {
        // Structure, vk = the opcert's hot vk, and a probe signature that verifies (the forged-key case).
        candidate = KesSignKey.fromBytes(msg.secret, msg.evolution, { expectedVk: msg.opcert.hotVk });
      } catch (e) {
        return this.#refuse('NODE_KEY_INVALID', e instanceof KesError ? e.message : 'the key failed validation');
      }
    } finally {
      releaseSecret(msg.secret);
    }
    try {
      const opcert = msg.opcert;
      const c0 = opcert.kesPeriod;
      const nowMs = this.#now();
      // Before the period checks: on another network every period message would mislead.
      const mismatch = networkMismatchOf(this.timing, c0, candidate.evolution, nowMs);
      if (mismatch !== undefined) return this.#refuse('NODE_KEY_INVALID', describeNetworkMismatch(mismatch), 'NETWORK_MISMATCH');
      const t = kesTimeAt(this.timing, nowMs);
      // Before c0 (or before the chain starts) the key must still be at evolution 0: hold it, sign() waits.
      let target = 0;
      if (t.started) {
        const standing = opcertStanding(this.timing, c0, t.kesPeriod);
        if (standing.kind === 'expired') {
          return this.#refuse(
            'NODE_KEY_EXPIRED',
            `the opcert's window (KES periods ${c0}..${c0 + this.timing.maxKESEvolutions - 1}) has ended; the current KES period is ${t.kesPeriod}`,
          );
        }
        if (standing.kind === 'valid') target = standing.evolution;
      }
      if (candidate.evolution > target) {
        // Evolution cannot go back: this key can no longer sign the current period.
        return this.#refuse(
          'NODE_KEY_INVALID',
          `the key is at evolution ${candidate.evolution}, past evolution ${target} of the current KES period (opcert start ${c0}); do the agent and this node use the same network and clock?`,
        );
      }
      const held = this.#held;
      if (held !== undefined) {
        if (opcert.counter < held.opcert.counter) {
          return this.#refuse('NODE_OPCERT_INVALID', `opcert counter ${opcert.counter} is lower than the held key's counter ${held.opcert.counter}`);
        }
        if (sameBundle(held.opcert, opcert)) return 0; // the agent re-sent what we hold (reconnect)
      }
      candidate.evolveTo(target);
      this.#install(candidate, opcert);
      candidate = undefined;
      return 0;
    } finally {
      candidate?.destroy();
    }
  }

  #opcertProblem(opcert: Opcert): { reason: string; error: MismatchCode } | undefined {
    if (this.#coldVk !== undefined && !bytesEqual(opcert.coldVk, this.#coldVk)) {
      return { reason: `the opcert was issued by cold key ${toHex(opcert.coldVk)}, not by this node's cold key ${toHex(this.#coldVk)}`, error: 'OPCERT_WRONG_COLD_KEY' };
    }
    let ok = false;
    try {
      ok = verifyOpcert(opcert);
    } catch {
      ok = false;
    }
    return ok ? undefined : { reason: `the opcert's cold-key signature does not verify (counter ${opcert.counter}, KES period ${opcert.kesPeriod})`, error: 'OPCERT_BAD_SIGNATURE' };
  }

  #refuse(code: WireErrorName, reason: string, mismatch?: MismatchCode): number {
    this.#lastProblem = `refused the agent's key: ${reason}`;
    this.emit('rejected', { code, reason });
    if (mismatch !== undefined) this.emit('mismatch', { error: mismatch, reason });
    return WIRE_ERROR_CODES[code];
  }

  #install(key: KesSignKey, opcert: Opcert): void {
    const replaced = this.#held !== undefined;
    this.#held?.key.destroy();
    this.#held = { key, opcert: copyOpcert(opcert) };
    this.#lastProblem = undefined;
    this.#expired = undefined;
    this.emit('key', { kesVk: toHex(opcert.hotVk), counter: opcert.counter, startKesPeriod: opcert.kesPeriod, evolution: key.evolution, replaced });
    this.#scheduleTick();
    this.#notifyWaiters();
  }

  #wipeKey(): void {
    if (this.#tickTimer !== undefined) clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    this.#held?.key.destroy();
    this.#held = undefined;
  }

  // ---- local evolution ----------------------------------------------------------------------

  /**
   * A timer to the next period boundary (or the chain start), but never further off than
   * WALL_CLOCK_RECHECK_MS: timers run on the monotonic clock, which ignores a wall-clock step
   * and stops while the host is suspended, so a boundary timer alone would leave an old
   * evolution in memory for up to a whole period after either. The agent uses the same rule
   * (src/machine/rules.ts).
   */
  #scheduleTick(): void {
    if (this.#tickTimer !== undefined) clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    if (this.#held === undefined || this.#state === 'stopped') return;
    this.#tickTimer = setTimeout(() => this.#tick(), msUntilNextCheck(this.timing, this.#now()));
    this.#tickTimer.unref();
  }

  #tick(): void {
    this.#tickTimer = undefined;
    // A timer may fire a little early or very late (a suspended host): the clock decides, not the timer.
    this.#catchUp(this.#now());
    this.#scheduleTick();
    this.#notifyWaiters();
  }

  /** Bring the held key to the period of `nowMs`: evolve it (erasing old evolutions) or expire it. */
  #catchUp(nowMs: number): void {
    const held = this.#held;
    if (held === undefined) return;
    const t = kesTimeAt(this.timing, nowMs);
    if (!t.started) return;
    const standing = opcertStanding(this.timing, held.opcert.kesPeriod, t.kesPeriod);
    if (standing.kind === 'expired') {
      this.#wipeKey();
      this.#expired = { counter: held.opcert.counter, endPeriod: held.opcert.kesPeriod + this.timing.maxKESEvolutions };
      this.#lastProblem = `the key (opcert counter ${held.opcert.counter}) expired at KES period ${this.#expired.endPeriod}`;
      this.emit('dropped', { reason: 'expired' });
      return;
    }
    if (standing.kind !== 'valid' || held.key.evolution >= standing.evolution) return;
    try {
      held.key.evolveTo(standing.evolution);
    } catch {
      this.#wipeKey();
      this.#lastProblem = 'evolving the key failed; it was wiped';
      this.emit('dropped', { reason: 'evolution-failed' });
      return;
    }
    this.emit('evolved', { evolution: held.key.evolution, kesPeriod: t.kesPeriod });
  }

  // ---- waiting ------------------------------------------------------------------------------

  #usableAt(nowMs: number): boolean {
    const held = this.#held;
    if (held === undefined) return false;
    const t = kesTimeAt(this.timing, nowMs);
    if (!t.started) return false;
    const standing = opcertStanding(this.timing, held.opcert.kesPeriod, t.kesPeriod);
    return standing.kind === 'valid' && held.key.evolution <= standing.evolution;
  }

  #notifyWaiters(): void {
    if (this.#waiters.size === 0 || !this.#usableAt(this.#now())) return;
    for (const w of [...this.#waiters]) this.#settle(w, undefined);
  }

  #settle(w: Waiter, error: Error | undefined): void {
    if (!this.#waiters.delete(w)) return;
    clearTimeout(w.timer);
    if (error === undefined) w.resolve();
    else w.reject(error);
  }

  #whyNoKey(): string {
    const held = this.#held;
    if (held !== undefined) {
      const t = kesTimeAt(this.timing, this.#now());
      if (!t.started) return `a key is held, but ${this.timing.name} has not started yet`;
      return `a key is held, but its opcert is valid from KES period ${held.opcert.kesPeriod}; the current KES period is ${t.kesPeriod}`;
    }
    return this.#lastProblem ?? 'no key has been received from the agent yet';
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#retry = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.#retry = { timer, wake: resolve };
    });
  }
}

/** The agent re-sending the bundle we hold (same key under the same opcert). */
function sameBundle(a: Opcert, b: Opcert): boolean {
  return bytesEqual(a.hotVk, b.hotVk) && a.counter === b.counter && a.kesPeriod === b.kesPeriod && bytesEqual(a.coldVk, b.coldVk);
}

function copyOpcert(o: Opcert): Opcert {
  return { hotVk: o.hotVk.slice(), counter: o.counter, kesPeriod: o.kesPeriod, sigma: o.sigma.slice(), coldVk: o.coldVk.slice() };
}
