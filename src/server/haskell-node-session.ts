/**
 * A node speaking the Haskell kes-agent's Service protocol (V0, V1 or V2): cardano-node's
 * `--shelley-kes-agent-socket` client (ouroboros-consensus Praos/AgentClient.hs), or a Haskell
 * agent bootstrapping from us.
 *
 * The protocol is a typed-protocols state machine without seqs
 * (kes-agent/src/Cardano/KESAgent/Protocols/Service/V2/Driver.hs): after a key or drop message
 * the node has agency until it answers with a RecvResult, and only then may the agent send the
 * next. So one push is in flight at a time; a push that comes meanwhile waits, and when it goes
 * out it carries the state current at that moment (a newer one supersedes it: the superseded
 * push counts as unconfirmed). Bytes from the node while no push awaits an answer break the
 * protocol: the connection is closed. The Haskell protocol has no error message, so every
 * refusal is a close, with the reason in our log.
 */
import { allocSecret, releaseSecret } from '../crypto/secret-memory';
import {
  HS_SERVICE_V2_DROP_MESSAGE_BYTES,
  HaskellProtocolError,
  PeerClosedError,
  readServiceRecvResult,
  writeBytes,
  writeSecret,
  type ByteReader,
  type ServiceVersion,
} from '../protocol/haskell';
import { MAX_NODE_PENDING_WRITE_BYTES } from './limits';
import type { Logger } from '../platform/logger';
import { NodeSession } from './node-session';
import type { Push } from './push';

export interface HaskellNodeSessionDeps {
  /**
   * The message for the agent's current state in `version` (a key message in allocSecret()
   * memory, which the session releases), or undefined when that version has none for it.
   */
  current: (version: ServiceVersion) => Uint8Array | undefined;
  log: Logger;
}

/** A RecvResult while no push awaited one. */
class AnswerWithoutPush extends Error {}

export class HaskellNodeSession extends NodeSession {
  readonly #deps: HaskellNodeSessionDeps;
  /** The seq written to the node and not answered yet. */
  #awaiting: number | undefined;
  /** A push that came while one was awaiting its answer: sent (as the state then current) after it. */
  #queued: number | undefined;

  constructor(id: number, readonly reader: ByteReader, readonly version: ServiceVersion, deps: HaskellNodeSessionDeps) {
    super(id);
    this.#deps = deps;
  }

  destroy(): void {
    this.reader.destroy();
    this.reader.socket.destroy();
  }

  get pendingWriteBytes(): number {
    return this.reader.socket.writableLength;
  }

  /**
   * Offer one push: `message` is this version's form of it, shared with other nodes (copied
   * here), or undefined when the version has none (a drop on V0/V1: those nodes keep their key,
   * as with the Haskell agent, and the push counts as unconfirmed). The push is settled when the
   * node answers (confirmed on RecvOK) or is lost.
   */
  offer(push: Push, message: Uint8Array | undefined): void {
    if (message === undefined) {
      this.#deps.log.debug('service: nothing to send for this push in this protocol version', { node: this.id, seq: push.seq, protocol: `Haskell Service V${this.version}` });
      push.countUnreachable();
      return;
    }
    if (this.pendingWriteBytes > MAX_NODE_PENDING_WRITE_BYTES) {
      this.#deps.log.warn('service: node is not keeping up; disconnecting it', { node: this.id, unconfirmed: this.pending.size });
      this.destroy();
      push.countUnreachable();
      return;
    }
    push.expect(this);
    if (this.#awaiting === undefined) {
      this.#send(push.seq, message);
    } else {
      if (this.#queued !== undefined) this.settle(this.#queued, false); // superseded, never sent
      this.#queued = push.seq;
    }
  }

  /** Read the node's answers until it disconnects; rejects with why the session ended. */
  async run(): Promise<void> {
    for (;;) {
      const answer = await readServiceRecvResult(this.reader);
      const seq = this.#awaiting;
      if (seq === undefined) throw new AnswerWithoutPush();
      this.#awaiting = undefined;
      const ok = answer.result === 'RecvOK';
      this.settle(seq, ok);
      if (ok) this.#deps.log.debug('service: node confirmed', { node: this.id, seq });
      else this.#deps.log.warn('service: node refused the key', { node: this.id, seq, code: answer.result, raw: answer.raw });
      const next = this.#queued;
      if (next !== undefined) {
        this.#queued = undefined;
        const message = this.#deps.current(this.version);
        if (message === undefined) this.settle(next, false);
        else {
          try {
            this.#send(next, message);
          } finally {
            releaseSecret(message);
          }
        }
      }
    }
  }

  /** Log why the session ended (a clean close is the node's normal goodbye). */
  logEnd(e: unknown): void {
    const log = this.#deps.log;
    const protocol = `Haskell Service V${this.version}`;
    if (e instanceof PeerClosedError) {
      if (!e.clean && e.reason !== 'detached') log.warn('service: node closed mid-message', { node: this.id, protocol });
      return;
    }
    if (e instanceof AnswerWithoutPush) {
      log.warn('service: node answered no push; disconnecting it', { node: this.id, protocol });
      return;
    }
    if (e instanceof HaskellProtocolError) {
      log.warn('service: bad message from node; disconnecting it', { node: this.id, protocol, code: e.code });
      return;
    }
    log.error('service: connection failed', { node: this.id, protocol });
  }

  /** Write this node's own copy of `message` (a key's copy in the wire pool) and await its answer. */
  #send(seq: number, message: Uint8Array): void {
    this.#awaiting = seq;
    const isKey = message.length !== HS_SERVICE_V2_DROP_MESSAGE_BYTES; // every key message is longer
    const failed = (): void => {
      if (!this.settle(seq, false)) return;
      this.#deps.log.warn('service: push to node failed; disconnecting it so it reconnects for the current key', { node: this.id, seq });
      this.destroy();
    };
    try {
      if (isKey) {
        const copy = allocSecret(message.length, 'wire');
        copy.set(message);
        writeSecret(this.reader.socket, copy).catch(failed);
      } else {
        writeBytes(this.reader.socket, message.slice()).catch(failed);
      }
    } catch {
      failed();
    }
  }
}
