/**
 * The service socket: every connected node, and what the agent pushes to them.
 *
 * Nodes never change key state. They receive the current bundle when they connect (or NO_KEY),
 * every new bundle on upload, KEY_DROPPED on drop-active or expiry, and answer each push with
 * CONFIRM. Evolutions are not pushed: nodes evolve their own copy on time (as cardano-node does,
 * haskell-kes-agent.md §2.11), and a node that connects later gets the current evolution.
 */
import type * as net from 'node:net';
import type { Agent } from '../machine/agent';
import {
  answerHello,
  encodeMessage,
  isProtocolError,
  WIRE_ERROR_CODES,
  wireErrorName,
  type Message,
} from '../protocol';
import { carriesSecret, ConnectionClosedError, FramedSocket, KeyCopyQuotaError, ReceiveTimeoutError, wipeMessage } from '../protocol/framed-socket';
import { releaseSecret } from '../crypto/secret-memory';
import { KesError } from '../errors';
import type { Logger } from './logger';
import { HANDSHAKE_TIMEOUT_MS, MAX_LOCKED_KEY_COPIES_PER_NODE, MAX_NODE_PENDING_WRITE_BYTES, MAX_UNCONFIRMED_PUSHES, NODE_CONFIRM_DEADLINE_MS } from './limits';

/** What one push to all nodes became. */
export interface BroadcastOutcome {
  nodesConnected: number;
  nodesConfirmed: number;
}

interface Pending {
  resolve: (accepted: boolean) => void;
  deadline: NodeJS.Timeout;
}

class NodeSession {
  readonly pending = new Map<number, Pending>();
  constructor(readonly id: number, readonly conn: FramedSocket) {}

  /** Settle every outstanding push as unconfirmed (the node went away). */
  abandon(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.deadline);
      p.resolve(false);
    }
    this.pending.clear();
  }

  settle(seq: number, accepted: boolean): boolean {
    const p = this.pending.get(seq);
    if (p === undefined) return false;
    this.pending.delete(seq);
    clearTimeout(p.deadline);
    p.resolve(accepted);
    return true;
  }
}

export interface ServiceHubInit {
  agent: Agent;
  logger: Logger;
  agentVersion: string;
  /** How long a node may leave a push unconfirmed. @default NODE_CONFIRM_DEADLINE_MS (only tests pass another) */
  confirmDeadlineMs?: number;
}

export class ServiceHub {
  readonly #agent: Agent;
  readonly #log: Logger;
  readonly #agentVersion: string;
  readonly #confirmDeadlineMs: number;
  readonly #nodes = new Set<NodeSession>();
  #nextId = 1;
  #nextSeq = 1;
  #last: Promise<boolean>[] = [];
  #unsubscribe: () => void;

  constructor(init: ServiceHubInit) {
    this.#agent = init.agent;
    this.#log = init.logger;
    this.#agentVersion = init.agentVersion;
    this.#confirmDeadlineMs = init.confirmDeadlineMs ?? NODE_CONFIRM_DEADLINE_MS;
    this.#unsubscribe = this.#agent.onActiveChange((change) => {
      // A listener that threw would be rethrown by the agent outside any handler: never throw here.
      if (change.type === 'evolved') return; // nodes evolve their own copy
      // A push that throws must not leave the previous push's outcome to be reported for this one.
      this.#last = [];
      try {
        if (change.type === 'installed') this.#last = this.#push([...this.#nodes], (seq) => this.#currentFrame(seq));
        else this.#last = this.#push([...this.#nodes], (seq) => encodeMessage({ type: 'key_dropped', seq }));
      } catch {
        this.#log.error('service: push to nodes failed', { change: change.type });
      }
    });
  }

  /** Nodes that completed the handshake. */
  get connectedNodes(): number {
    return this.#nodes.size;
  }

  /** Wait (at most `timeoutMs`) for the nodes to confirm the most recent push. */
  async lastPushOutcome(timeoutMs: number): Promise<BroadcastOutcome> {
    const pushes = this.#last;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    let confirmed = 0;
    await Promise.race([
      Promise.all(pushes.map((p) => p.then((ok) => { if (ok) confirmed++; }))),
      deadline,
    ]);
    clearTimeout(timer);
    return { nodesConnected: pushes.length, nodesConfirmed: confirmed };
  }

  /** Serve one accepted connection until it closes. Never throws. */
  async serve(socket: net.Socket): Promise<void> {
    const conn = new FramedSocket(socket, { receivesSecrets: false, keyCopyQuota: MAX_LOCKED_KEY_COPIES_PER_NODE });
    const id = this.#nextId++;
    let session: NodeSession | undefined;
    try {
      const hello = await conn.receive(HANDSHAKE_TIMEOUT_MS);
      const answer = answerHello(hello, 'service', this.#agentVersion);
      if (answer.type === 'error') {
        this.#log.warn('service: handshake refused', { node: id, code: wireErrorName(answer.code) ?? answer.code });
        await conn.closeWithError(answer.code, answer.message);
        return;
      }
      await conn.send(answer);
      session = new NodeSession(id, conn);
      this.#nodes.add(session);
      this.#log.info('service: node connected', { node: id, nodes: this.#nodes.size });
      void this.#push([session], (seq) => this.#currentFrame(seq));
      for (;;) this.#onMessage(session, await conn.receive());
    } catch (e) {
      this.#onConnectionEnd(conn, id, e);
    } finally {
      if (session) {
        this.#nodes.delete(session);
        session.abandon();
        this.#log.info('service: node disconnected', { node: id, nodes: this.#nodes.size });
      }
      conn.destroy();
    }
  }

  /** Tell nobody anything more; close every node connection. */
  closeAll(): void {
    this.#unsubscribe();
    for (const s of this.#nodes) s.conn.destroy();
  }

  #onMessage(session: NodeSession, m: Message): void {
    if (m.type !== 'confirm') {
      wipeMessage(m);
      throw new UnexpectedFromNode(m.type);
    }
    // Each push may be confirmed once. The agent never stops waiting for a push without
    // disconnecting the node (deadline, failed write), so a CONFIRM for any other seq is not a
    // late answer but a peer that does not follow the protocol: one frame is all it gets, so it
    // cannot make the agent decode and match frames for ever (a node that sent a million such
    // CONFIRMs slowed status for everyone from 110 ms to over 2 s).
    if (!session.settle(m.seq, m.result === 0)) throw new UnexpectedConfirm(m.seq);
    if (m.result === 0) {
      this.#log.debug('service: node confirmed', { node: session.id, seq: m.seq });
    } else {
      this.#log.warn('service: node refused the key', { node: session.id, seq: m.seq, code: wireErrorName(m.result) ?? m.result });
    }
  }

  #onConnectionEnd(conn: FramedSocket, id: number, e: unknown): void {
    if (e instanceof ConnectionClosedError) {
      if (!e.clean) this.#log.warn('service: node closed mid-frame', { node: id });
      return;
    }
    if (e instanceof ReceiveTimeoutError) {
      this.#log.warn('service: no handshake in time', { node: id, timeoutMs: e.timeoutMs });
      void conn.closeWithError(WIRE_ERROR_CODES.HANDSHAKE_TIMEOUT, `no HELLO within ${HANDSHAKE_TIMEOUT_MS} ms`);
      return;
    }
    if (isProtocolError(e)) {
      this.#log.warn('service: bad frame from node', { node: id, code: e.code });
      void conn.closeWithError(e.wireCode, e.message);
      return;
    }
    if (e instanceof UnexpectedConfirm) {
      this.#log.warn('service: CONFIRM for no push awaiting confirmation; disconnecting the node', { node: id, seq: e.seq });
      void conn.closeWithError(WIRE_ERROR_CODES.UNEXPECTED_MESSAGE, `CONFIRM for seq ${e.seq}, which is not a push awaiting confirmation on this connection`);
      return;
    }
    if (e instanceof UnexpectedFromNode) {
      this.#log.warn('service: unexpected message from node', { node: id, message: e.messageType });
      void conn.closeWithError(WIRE_ERROR_CODES.UNEXPECTED_MESSAGE, 'a node may only send CONFIRM on the service socket');
      return;
    }
    this.#log.error('service: connection failed', { node: id });
  }

  /**
   * One push (one seq) to `sessions`: encoded once and written to each, so pushing to many nodes
   * costs one borrow of the key and one encoding, not one per node. Each node gets its own copy
   * of a KEY frame (FramedSocket.sendEncoded), and the shared KEY frame is wiped before returning.
   * Resolves, per node, true when that node confirmed.
   */
  #push(sessions: NodeSession[], encode: (seq: number) => Uint8Array): Promise<boolean>[] {
    if (sessions.length === 0) return [];
    const seq = this.#nextSeq++;
    const frame = encode(seq);
    try {
      return sessions.map((s) => this.#sendTracked(s, seq, frame));
    } finally {
      // Only a key frame: the others are being written as they are.
      if (carriesSecret(frame)) releaseSecret(frame);
    }
  }

  /** KEY with the active key at its current evolution (written straight into the frame), or NO_KEY. */
  #currentFrame(seq: number): Uint8Array {
    return (
      this.#agent.withActiveKey((key, info) => encodeMessage({ type: 'key', seq, opcert: info.opcert, evolution: key.evolution, secret: key })) ??
      encodeMessage({ type: 'no_key', seq })
    );
  }

  /** Write one frame to one node and resolve true when it confirms, false when it cannot. */
  #sendTracked(session: NodeSession, seq: number, frame: Uint8Array): Promise<boolean> {
    if (session.pending.size >= MAX_UNCONFIRMED_PUSHES || session.conn.pendingWriteBytes > MAX_NODE_PENDING_WRITE_BYTES) {
      // A node that neither reads nor confirms must not make the agent buffer for it: checked
      // before writing, so nothing more is queued for it.
      this.#log.warn('service: node is not keeping up; disconnecting it', { node: session.id, unconfirmed: session.pending.size });
      session.conn.destroy();
      return Promise.resolve(false);
    }
    const deadlineMs = this.#confirmDeadlineMs;
    const confirmed = new Promise<boolean>((resolve) => {
      const deadline = setTimeout(() => {
        if (!session.settle(seq, false)) return;
        this.#log.warn('service: node did not confirm in time; disconnecting it', { node: session.id, seq, deadlineMs });
        session.conn.destroy();
      }, deadlineMs);
      deadline.unref();
      session.pending.set(seq, { resolve, deadline });
    });
    // A failed write (its KEY copy could not be allocated, say) leaves the node without the
    // current key: settle the push as unconfirmed and disconnect it, so it reconnects and gets
    // the key again, instead of keeping a wiped one. Never an unhandled rejection.
    session.conn.sendEncoded(frame).catch((e: unknown) => {
      if (!session.settle(seq, false)) return;
      const reason = e instanceof KeyCopyQuotaError ? 'not reading: key copy quota reached' : e instanceof KesError ? e.code : 'write failed';
      this.#log.warn('service: push to node failed; disconnecting it so it reconnects for the current key', { node: session.id, seq, reason });
      session.conn.destroy();
    });
    return confirmed;
  }
}

class UnexpectedFromNode extends Error {
  constructor(readonly messageType: string) {
    super(`unexpected ${messageType} from a node`);
  }
}

class UnexpectedConfirm extends Error {
  constructor(readonly seq: number) {
    super(`CONFIRM for seq ${seq}, which is not awaiting confirmation`);
  }
}
