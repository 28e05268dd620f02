/**
 * One bootstrap peer: a Service V2 client of another agent's service socket, for as long as the
 * peer is configured (as the Haskell kes-agent's `runBootstrap` runs, github.com/input-output-hk/kes-agent Processes/Agent.hs:
 * `runServiceClientForever` against each `--bootstrap-address`).
 *
 * The peer pushes its current bundle (key or tombstone) when we connect and every change after
 * that; each one is handed to the key-state machine (Agent.receiveBundle / receiveDrop), which
 * alone decides, and the machine's answer goes back as the RecvResult. Nothing here changes key
 * state or judges a bundle.
 *
 * Never blocks the agent: every read is asynchronous on a bounded ByteReader; a handshake or a
 * message that has begun must complete within PEER_READ_TIMEOUT_MS; a peer that sends faster
 * than MAX_PEER_MESSAGES_PER_WINDOW per PEER_FLOOD_WINDOW_MS, or stops reading our answers, is
 * disconnected. Reconnects follow a capped exponential backoff (the Haskell client's: 0.1 s
 * doubling up to 5 s, `Processes/ServiceClient.hs` `retrySocket`), reset only after a session
 * delivered a well-formed message.
 *
 * Key bytes go from the socket into locked memory (readServiceMessage), from there into a
 * KesSignKey (fromBytes copies and validates them), and the wire copy is wiped at once.
 */
import type * as net from 'node:net';
import { Backoff } from '../client/backoff';
import { openSocket } from '../client/connect';
import { verifyAgent, type AgentTrust } from '../client/agent-identity';
import { MAX_OPCERT_INTEGER, type Opcert } from '../cardano/opcert';
import { toHex } from '../crypto/bytes';
import { KesSignKey } from '../crypto/kes';
import { releaseSecret } from '../crypto/secret-memory';
import { isKesError } from '../errors';
import type { Agent, PeerRefusalCode } from '../machine/agent';
import {
  ByteReader,
  HaskellProtocolError,
  PeerClosedError,
  ReadTimeoutError,
  SERVICE_V2_ID,
  chooseVersion,
  encodeAccept,
  encodeReject,
  encodeServiceRecvResult,
  readOffer,
  readServiceMessage,
  readServiceVersionMessage,
  serviceVersionId,
  versionName,
  type ReceivedKey,
  type RecvResult,
} from '../protocol/haskell';
import type { Logger } from '../platform/logger';
import { peerRefusalText } from '../protocol/refusal-text';

/** First reconnect delay (Haskell `retrySocket`: 0.1 s). @default 100 */
export const PEER_BACKOFF_INITIAL_MS = 100;
/** Largest reconnect delay (Haskell `retrySocket` caps at 5 s). @default 5000 */
export const PEER_BACKOFF_MAX_MS = 5_000;
/** connect() must complete within this. @default 5000 */
export const PEER_CONNECT_TIMEOUT_MS = 5_000;
/** The version offer, and any message once its first byte arrived, must complete within this. @default 5000 */
export const PEER_READ_TIMEOUT_MS = 5_000;
/**
 * A peer pushes only on a change (install, drop) and once per connection, so a handful of
 * messages in a few seconds is already unusual; this many in one window is a broken or hostile
 * peer, which is disconnected (and reconnected with backoff) instead of making the agent verify
 * keys for it without end. @default 20
 */
export const MAX_PEER_MESSAGES_PER_WINDOW = 20;
/** @default 1000 */
export const PEER_FLOOD_WINDOW_MS = 1_000;
/** Our RecvResults the peer has not read yet: beyond this it is not reading, and is disconnected. @default 4096 */
export const MAX_PEER_PENDING_WRITE_BYTES = 4_096;

/** Why a link gave up on one session; stable, shown in status. */
export const LINK_FAILURE_CODES = [
  'PEER_UNREACHABLE',
  'PEER_NOT_TRUSTED',
  'PEER_NO_SERVICE_V2',
  'PEER_TIMEOUT',
  'PEER_PROTOCOL_ERROR',
  'PEER_FLOODING',
  'PEER_NOT_READING',
  'PEER_CLOSED',
] as const;
export type LinkFailureCode = (typeof LINK_FAILURE_CODES)[number];

export type LinkState = 'connecting' | 'up' | 'down';

/** What status reports for one peer. */
export interface PeerLinkStatus {
  path: string;
  state: LinkState;
  /** When the link entered `state` (unix ms). */
  sinceMs: number;
  /** The last key this peer sent (installed or not), or null. */
  lastKey: { kesVk: Uint8Array; counter: number; evolution: number; timestampUs: bigint; atMs: number } | null;
  /** The last tombstone this peer sent (installed or not), or null. */
  lastDrop: { timestampUs: bigint; atMs: number } | null;
  /**
   * The last refusal of something this peer sent (BUNDLE_NOT_NEWER, the normal end of a loop, is
   * not one), or the last session failure; cleared when a bundle from it is installed, and a
   * session failure also when the link is up again.
   */
  lastRefusal: { code: PeerRefusalCode | LinkFailureCode | 'KES_KEY_INVALID'; message: string; atMs: number } | null;
  /** Bundles and drops received from this peer since the agent started, and how many were installed. */
  received: number;
  accepted: number;
}

export interface PeerLinkInit {
  path: string;
  agent: Agent;
  /** Our cold vk: attached to every received opcert (the wire OCert has none). */
  coldVk: Uint8Array;
  trust: AgentTrust;
  log: Logger;
  now?: () => number;
}

/** How each refusal reads to the sending agent (Protocols/RecvResult.hs in github.com/input-output-hk/kes-agent; it ignores it, but answers must follow the protocol). */
const RECV_RESULT_OF: Readonly<Record<PeerRefusalCode, RecvResult>> = Object.freeze({
  OPCERT_WRONG_COLD_KEY: 'RecvErrorInvalidOpCert',
  OPCERT_BAD_SIGNATURE: 'RecvErrorInvalidOpCert',
  OPCERT_WRONG_KES_KEY: 'RecvErrorInvalidOpCert',
  OPCERT_EXPIRED: 'RecvErrorKeyOutdated',
  OPCERT_COUNTER_TOO_LOW: 'RecvErrorKeyOutdated',
  KEY_OVER_EVOLVED: 'RecvErrorInvalidOpCert',
  TIMESTAMP_IN_FUTURE: 'RecvErrorInvalidOpCert',
  BUNDLE_NOT_NEWER: 'RecvErrorKeyOutdated',
});

class LinkFailure extends Error {
  constructor(
    readonly code: LinkFailureCode,
    message: string,
  ) {
    super(message);
  }
}

export class PeerLink {
  readonly path: string;
  readonly #init: PeerLinkInit;
  readonly #now: () => number;
  readonly #backoff = new Backoff({ initialMs: PEER_BACKOFF_INITIAL_MS, maxMs: PEER_BACKOFF_MAX_MS });
  #status: PeerLinkStatus;
  #stopped = false;
  #socket: net.Socket | undefined;
  #reader: ByteReader | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #window: number[] = [];

  constructor(init: PeerLinkInit) {
    this.path = init.path;
    this.#init = init;
    this.#now = init.now ?? Date.now;
    this.#status = { path: init.path, state: 'connecting', sinceMs: this.#now(), lastKey: null, lastDrop: null, lastRefusal: null, received: 0, accepted: 0 };
  }

  status(): PeerLinkStatus {
    const s = this.#status;
    return {
      ...s,
      lastKey: s.lastKey === null ? null : { ...s.lastKey, kesVk: s.lastKey.kesVk.slice() },
      lastDrop: s.lastDrop === null ? null : { ...s.lastDrop },
      lastRefusal: s.lastRefusal === null ? null : { ...s.lastRefusal },
    };
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Close the session and stop reconnecting. Resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
    this.#reader?.destroy();
    this.#socket?.destroy();
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      this.#setState('connecting');
      try {
        await this.#session();
        if (!this.#stopped) this.#fail(new LinkFailure('PEER_CLOSED', 'the peer closed the connection'), 'info');
      } catch (e) {
        if (this.#stopped) break;
        this.#fail(e, 'warn');
      } finally {
        this.#reader?.destroy();
        this.#socket?.destroy();
        this.#reader = undefined;
        this.#socket = undefined;
      }
      if (this.#stopped) break;
      this.#setState('down');
      const delay = this.#backoff.next();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, delay);
        this.#timer.unref();
      });
      this.#wake = undefined;
    }
    this.#setState('down');
  }

  async #session(): Promise<void> {
    const log = this.#init.log;
    let socket: net.Socket;
    try {
      socket = await openSocket(this.path, PEER_CONNECT_TIMEOUT_MS, undefined);
    } catch (e) {
      throw new LinkFailure('PEER_UNREACHABLE', isKesError(e) ? e.message : `${this.path}: connect failed`);
    }
    this.#socket = socket;
    if (this.#stopped) return;
    try {
      verifyAgent(socket, this.path, this.#init.trust);
    } catch (e) {
      throw new LinkFailure('PEER_NOT_TRUSTED', isKesError(e) ? e.message : `${this.path}: the peer's identity could not be checked`);
    }
    const reader = new ByteReader(socket);
    this.#reader = reader;
    const offer = await readOffer(reader, { timeoutMs: PEER_READ_TIMEOUT_MS });
    const ours = serviceVersionId(2);
    if (chooseVersion(offer, [ours]) === undefined) {
      socket.end(encodeReject());
      const names = offer.map((id) => versionName(id) ?? '?').join(', ');
      throw new LinkFailure('PEER_NO_SERVICE_V2', `${this.path}: the peer does not offer ${SERVICE_V2_ID} (it offers ${names || 'nothing'}): is this another agent's service socket?`);
    }
    socket.write(encodeAccept(ours));
    await readServiceVersionMessage(reader, 2, { timeoutMs: PEER_READ_TIMEOUT_MS });
    this.#setState('up');
    if (this.#status.lastRefusal !== null && (LINK_FAILURE_CODES as readonly string[]).includes(this.#status.lastRefusal.code)) this.#status.lastRefusal = null;
    log.info('bootstrap: connected to peer', { peer: this.path });
    for (;;) {
      const m = await readServiceMessage(reader, 2, { timeoutMs: PEER_READ_TIMEOUT_MS, untimedFirstByte: true });
      if (this.#stopped) {
        if (m.type === 'key') releaseSecret(m.signKey);
        return;
      }
      this.#countMessage(m.type === 'key' ? () => releaseSecret(m.signKey) : () => undefined);
      // A well-formed message from the peer: the session is productive.
      this.#backoff.reset();
      const result = m.type === 'key' ? this.#onKey(m) : this.#onDrop(m.timestampUs);
      if (socket.writableLength > MAX_PEER_PENDING_WRITE_BYTES) throw new LinkFailure('PEER_NOT_READING', `${this.path}: the peer does not read our answers`);
      socket.write(encodeServiceRecvResult(result));
    }
  }

  #countMessage(discard: () => void): void {
    const now = this.#now();
    this.#window = this.#window.filter((t) => now - t < PEER_FLOOD_WINDOW_MS);
    this.#window.push(now);
    if (this.#window.length > MAX_PEER_MESSAGES_PER_WINDOW) {
      discard();
      throw new LinkFailure('PEER_FLOODING', `${this.path}: more than ${MAX_PEER_MESSAGES_PER_WINDOW} messages in ${PEER_FLOOD_WINDOW_MS} ms; disconnecting`);
    }
  }

  #onKey(m: ReceivedKey): RecvResult {
    const at = this.#now();
    const { ocert, evolution, timestampUs } = m;
    this.#status.received++;
    let key: KesSignKey;
    try {
      key = KesSignKey.fromBytes(m.signKey, evolution);
    } catch (e) {
      this.#refused('KES_KEY_INVALID', isKesError(e) ? e.message : 'the key bytes are not a valid KES sign key', at);
      return 'RecvErrorInvalidOpCert';
    } finally {
      releaseSecret(m.signKey);
    }
    this.#status.lastKey = {
      kesVk: ocert.hotVk.slice(),
      counter: Number(ocert.counter),
      evolution,
      timestampUs,
      atMs: at,
    };
    if (ocert.counter > BigInt(MAX_OPCERT_INTEGER) || ocert.kesPeriod > BigInt(MAX_OPCERT_INTEGER)) {
      key.destroy();
      this.#refused('OPCERT_BAD_SIGNATURE', 'the opcert counter or KES period is out of range', at);
      return 'RecvErrorInvalidOpCert';
    }
    const opcert: Opcert = { hotVk: ocert.hotVk, counter: Number(ocert.counter), kesPeriod: Number(ocert.kesPeriod), sigma: ocert.sigma, coldVk: this.#init.coldVk };
    const r = this.#init.agent.receiveBundle({ key, opcert, timestampUs, source: this.path });
    if (r.ok) {
      this.#status.accepted++;
      this.#status.lastRefusal = null;
      this.#init.log.info('bootstrap: installed a bundle from peer', { peer: this.path, kesVk: toHex(r.value.kesVk), counter: r.value.counter, evolution: r.value.evolution, timestampUs: String(timestampUs) });
      return 'RecvOK';
    }
    this.#refused(r.code, peerRefusalText(r), at);
    return RECV_RESULT_OF[r.code];
  }

  #onDrop(timestampUs: bigint): RecvResult {
    const at = this.#now();
    this.#status.received++;
    this.#status.lastDrop = { timestampUs, atMs: at };
    const r = this.#init.agent.receiveDrop({ timestampUs, source: this.path });
    if (r.ok) {
      this.#status.accepted++;
      this.#status.lastRefusal = null;
      this.#init.log.info('bootstrap: peer dropped the key; dropped here too', { peer: this.path, hadKey: r.value.hadKey, timestampUs: String(timestampUs) });
      return 'RecvOK';
    }
    this.#refused(r.code, peerRefusalText(r), at);
    return RECV_RESULT_OF[r.code];
  }

  #refused(code: PeerRefusalCode | 'KES_KEY_INVALID', message: string, atMs: number): void {
    // Not newer is how every loop ends (the echo of what we sent): normal, only a debug line.
    if (code === 'BUNDLE_NOT_NEWER') {
      this.#init.log.debug('bootstrap: peer bundle not newer; kept ours', { peer: this.path });
      return;
    }
    this.#status.lastRefusal = { code, message, atMs };
    this.#init.log.warn('bootstrap: refused a bundle from peer', { peer: this.path, code, reason: message });
  }

  #fail(e: unknown, level: 'info' | 'warn'): void {
    let code: LinkFailureCode;
    let message: string;
    if (e instanceof LinkFailure) {
      code = e.code;
      message = e.message;
    } else if (e instanceof ReadTimeoutError) {
      code = 'PEER_TIMEOUT';
      message = `${this.path}: the peer sent nothing (or stopped mid-message) for ${e.timeoutMs} ms`;
    } else if (e instanceof PeerClosedError) {
      code = 'PEER_CLOSED';
      message = `${this.path}: the peer closed the connection${e.clean ? '' : ' mid-message'}`;
    } else if (e instanceof HaskellProtocolError) {
      code = 'PEER_PROTOCOL_ERROR';
      message = `${this.path}: ${e.message}`;
    } else {
      code = 'PEER_PROTOCOL_ERROR';
      message = `${this.path}: the session failed`;
      this.#init.log.error('bootstrap: peer session failed', { peer: this.path, error: e instanceof Error ? e.name : 'unknown' });
    }
    // A peer that is simply not running is the common case while it restarts: the first failure
    // of a kind is logged at its level, the same failure again (every retry) at debug, so a long
    // outage does not flood the log.
    const repeated = this.#status.lastRefusal?.code === code && this.#status.state !== 'up';
    if (code !== 'PEER_CLOSED') this.#status.lastRefusal = { code, message, atMs: this.#now() };
    const lvl = repeated ? 'debug' : level;
    this.#init.log[lvl]('bootstrap: peer link down; will reconnect', { peer: this.path, code, reason: message });
  }

  #setState(state: LinkState): void {
    if (this.#status.state !== state) this.#status = { ...this.#status, state, sinceMs: this.#now() };
  }
}
