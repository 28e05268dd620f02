/**
 * The service socket: every connected node, whatever protocol it speaks, and what the agent
 * pushes to them.
 *
 * Nodes never change key state. They receive the current bundle when they connect, every new
 * bundle on upload or install, and the drop on drop-active or expiry, and answer each push. A
 * push is protocol-neutral (a seq, what it carries, its timestamp); each session type maps it to
 * its wire:
 * - ours (spec/protocol.md §6): KEY / NO_KEY / KEY_DROPPED, answered by CONFIRM with the seq;
 * - the Haskell Service protocol V0/V1/V2 (haskell-session.ts): the bundle, on V2 with its
 *   timestamp, the drop on V2 only, answered by a RecvResult; nothing on connect without a key.
 * Evolutions are not pushed: nodes evolve their own copy on time (as cardano-node does), and a
 * node that connects later gets the current evolution.
 *
 * Timestamps: every install and drop carries the u64 microsecond timestamp the key-state machine
 * gave it (ActiveChange.timestampUs): for a local one strictly greater than any before, even when
 * the wall clock steps back, because the node's client takes a Service V2 key only if its
 * timestamp is greater than the last one of its session; for a bundle from a bootstrap peer the
 * sender's, so an agent that feeds it back to the sender is not newer there. The hub only reads it.
 */
import type * as net from 'node:net';
import type { Agent } from '../machine/agent';
import {
  encodeMessage,
  KES_SECRET_BYTES,
  welcome,
  isProtocolError,
  WIRE_ERROR_CODES,
  wireErrorName,
  type Message,
} from '../protocol';
import { carriesSecret, ConnectionClosedError, FramedSocket, KeyCopyQuotaError, ReceiveTimeoutError, wipeMessage } from '../protocol/framed-socket';
import { allocSecret, releaseSecret } from '../crypto/secret-memory';
import { encodeServiceDropMessage, encodeServiceKeyMessage, encodeServiceVersionMessage, writeBytes, type ByteReader, type ServiceVersion } from '../protocol/haskell';
import { HaskellNodeSession } from './haskell-node-session';
import { NativeNodeSession, type NodeSession } from './node-session';
import { Push, type BroadcastOutcome, type PushKind } from './push';
import { KesError } from '../errors';
import type { Logger } from '../platform/logger';
import { MAX_LOCKED_KEY_COPIES_PER_NODE, MAX_NODE_PENDING_WRITE_BYTES, MAX_UNCONFIRMED_PUSHES, NODE_CONFIRM_DEADLINE_MS } from './limits';

export type { BroadcastOutcome, Push };

/** Which protocol a connected node speaks: ours, or a Haskell Service version. */
export type NodeProtocol = 'native' | ServiceVersion;

/** The most recent push to all nodes: to how many nodes, and how many have confirmed it so far. */
export interface PushTally {
  readonly nodes: number;
  readonly confirmed: number;
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
  /** The wire seq of the next push (spec/protocol.md §6: per process, increasing with every push). */
  #nextSeq = 1;
  /** While pushing() runs its command: the pushes the command's changes started, in order. */
  #started: Push[] | undefined;
  /** The most recent push to all nodes (for metrics). */
  #lastBroadcast: Push | undefined;
  #unsubscribe: () => void;
  /** What a node that connects now is sent, and the timestamp of the last install or drop. */
  #state: { kind: 'key' | 'drop' | 'none'; timestampUs: bigint };

  constructor(init: ServiceHubInit) {
    this.#agent = init.agent;
    this.#log = init.logger;
    this.#agentVersion = init.agentVersion;
    this.#confirmDeadlineMs = init.confirmDeadlineMs ?? NODE_CONFIRM_DEADLINE_MS;
    // Built with the agent, before anything can be installed; every change after comes below.
    this.#state = { kind: 'none', timestampUs: 0n };
    this.#unsubscribe = this.#agent.onActiveChange((change) => {
      // A listener that threw would be rethrown by the agent outside any handler: never throw here.
      if (change.type === 'evolved') return; // nodes evolve their own copy
      try {
        this.#state = { kind: change.type === 'installed' ? 'key' : 'drop', timestampUs: change.timestampUs };
        const push = this.#push([...this.#nodes], this.#state.kind);
        this.#started?.push(push);
        this.#lastBroadcast = push;
      } catch {
        this.#log.error('service: push to nodes failed', { change: change.type });
      }
    });
  }

  /** Nodes that completed the handshake. */
  get connectedNodes(): number {
    return this.#nodes.size;
  }

  /** The protocol of each connected node (read-only, for metrics). */
  nodeProtocols(): NodeProtocol[] {
    return [...this.#nodes].map((s) => (s instanceof HaskellNodeSession ? s.version : 'native'));
  }

  /** The last push's tally as it stands now (read-only, for metrics); 0 of 0 before the first. */
  get lastPushTally(): PushTally {
    const o = this.#lastBroadcast?.outcomeSoFar;
    return { nodes: o?.nodesConnected ?? 0, confirmed: o?.nodesConfirmed ?? 0 };
  }

  /**
   * The timestamp of the last install or drop (what a Service V2 node got with it, and what
   * AgentInfo reports), or undefined before the first.
   */
  get lastChange(): { kind: 'key' | 'drop'; timestampUs: bigint } | undefined {
    const s = this.#state;
    return s.kind === 'none' ? undefined : { kind: s.kind, timestampUs: s.timestampUs };
  }

  /**
   * Run `command`, an Agent call that may change the active key (upload, drop-active), and
   * return its result with the push its change started: the caller holds the push and awaits its
   * outcome, however long it waits and whatever is pushed meanwhile. `push` is undefined when
   * the command changed nothing (a refusal), or the push could not be made (logged). The agent
   * tells its listeners before the command returns (src/machine/agent.ts), so every push the
   * command caused is known here; a SYNC that expired the old key first pushes a drop before
   * the install, and the last push is the command's own.
   */
  pushing<T>(command: () => T): { result: T; push: Push | undefined } {
    const outer = this.#started;
    const started: Push[] = [];
    this.#started = started;
    try {
      const result = command();
      return { result, push: started[started.length - 1] };
    } finally {
      this.#started = outer;
    }
  }

  /**
   * Serve one connection that chose our protocol in the version handshake, until it closes.
   * The agent speaks first (WELCOME), then pushes. Never throws.
   */
  async serve(socket: net.Socket): Promise<void> {
    const conn = new FramedSocket(socket, { receivesSecrets: false, keyCopyQuota: MAX_LOCKED_KEY_COPIES_PER_NODE });
    const id = this.#nextId++;
    let session: NativeNodeSession | undefined;
    try {
      await conn.send(welcome('service', this.#agentVersion));
      const s = new NativeNodeSession(id, conn);
      session = s;
      this.#nodes.add(s);
      this.#log.info('service: node connected', { node: id, nodes: this.#nodes.size });
      this.#push([s], this.#state.kind === 'key' ? 'key' : 'none');
      // A node sends one CONFIRM per push: delivered by callback, no promise per message.
      const end = await new Promise<Error>((resolve) => conn.deliver((m) => this.#onMessage(s, m), resolve));
      throw end;
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

  /**
   * Serve one connection that chose a Haskell Service version, until it closes: the
   * VersionMessage, the current bundle if there is one, then every push. Never throws.
   */
  async serveHaskell(reader: ByteReader, version: ServiceVersion): Promise<void> {
    const id = this.#nextId++;
    const session = new HaskellNodeSession(id, reader, version, {
      current: (seqVersion) => this.#encodeHaskell(seqVersion, this.#state.kind, this.#state.timestampUs),
      log: this.#log,
    });
    try {
      await writeBytes(reader.socket, encodeServiceVersionMessage(version));
      this.#nodes.add(session);
      this.#log.info('service: node connected', { node: id, nodes: this.#nodes.size, protocol: `Haskell Service V${version}` });
      // The current bundle, as the Haskell agent's `currentKey` (github.com/input-output-hk/kes-agent, Processes/Agent.hs): the
      // key, or on V2 the tombstone too, so a bootstrapping agent that connects after a drop
      // learns of it.
      if (this.#state.kind === 'key' || (this.#state.kind === 'drop' && version === 2)) this.#push([session], this.#state.kind);
      await session.run();
    } catch (e) {
      session.logEnd(e);
    } finally {
      if (this.#nodes.delete(session)) this.#log.info('service: node disconnected', { node: id, nodes: this.#nodes.size });
      session.abandon();
      session.destroy();
    }
  }

  /** Tell nobody anything more; close every node connection. */
  closeAll(): void {
    this.#unsubscribe();
    for (const s of this.#nodes) s.destroy();
  }

  #onMessage(session: NativeNodeSession, m: Message): void {
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
      this.#log.warn('service: no reply in time', { node: id, timeoutMs: e.timeoutMs });
      void conn.closeWithError(WIRE_ERROR_CODES.HANDSHAKE_TIMEOUT, `no reply within ${e.timeoutMs} ms`);
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
   * One push (one seq) to `sessions`. Each wire form is encoded once, when the first node of
   * that protocol needs it, so pushing to many nodes costs one borrow of the key per form, not
   * one per node. Our nodes are all written the same frame, wiped when the last write has let go
   * of it (FramedSocket.postShared); each Haskell node gets its own copy (HaskellNodeSession.offer)
   * and those forms are wiped before returning. A node that has not answered within the confirm
   * deadline is disconnected.
   */
  #push(sessions: NodeSession[], kind: PushKind): Push {
    const push = new Push(this.#nextSeq++, kind, kind === 'none' ? 0n : this.#state.timestampUs);
    let native: Uint8Array | undefined;
    // One frame for every native node, written without a copy: this loop holds it, and so does
    // each write until the kernel has it; the last to let go wipes it (a KEY frame only: our
    // NO_KEY / KEY_DROPPED frames hold no secret).
    let nativeHolds = 1;
    const letGoOfNative = (): void => {
      if (--nativeHolds === 0 && native !== undefined && carriesSecret(native)) releaseSecret(native);
    };
    const haskell = new Map<ServiceVersion, Uint8Array | undefined>();
    try {
      for (const s of sessions) {
        if (s instanceof NativeNodeSession) {
          native ??= this.#nativeFrame(push);
          nativeHolds++;
          this.#sendTracked(s, push, native, letGoOfNative);
        } else {
          const h = s as HaskellNodeSession;
          if (!haskell.has(h.version)) haskell.set(h.version, this.#encodeHaskell(h.version, push.kind, push.timestampUs));
          h.offer(push, haskell.get(h.version));
        }
      }
    } finally {
      letGoOfNative();
      // Every Haskell session has taken its own copy by now.
      for (const f of haskell.values()) if (f !== undefined) releaseSecret(f);
      // Also when encoding failed part-way: the nodes already sent it still get their deadline.
      push.arm(this.#confirmDeadlineMs, (session) => {
        this.#log.warn('service: node did not confirm in time; disconnecting it', { node: session.id, seq: push.seq, deadlineMs: this.#confirmDeadlineMs });
        session.destroy();
      });
    }
    return push;
  }

  /** Ours: KEY with the active key at its current evolution (written straight into the frame), NO_KEY, or KEY_DROPPED. */
  #nativeFrame(push: Push): Uint8Array {
    const seq = push.seq;
    if (push.kind === 'drop') return encodeMessage({ type: 'key_dropped', seq });
    return (
      (push.kind === 'key'
        ? this.#agent.withActiveKey((key, info) => encodeMessage({ type: 'key', seq, opcert: info.opcert, evolution: key.evolution, secret: key }))
        : undefined) ?? encodeMessage({ type: 'no_key', seq })
    );
  }

  /**
   * The Haskell Service message for `kind`, or undefined when that version has none for it (no
   * key; a drop on V0/V1). Key messages are in allocSecret() memory; the caller releases them.
   */
  #encodeHaskell(version: ServiceVersion, kind: Push['kind'], timestampUs: bigint): Uint8Array | undefined {
    if (kind === 'drop') return version === 2 ? encodeServiceDropMessage(timestampUs) : undefined;
    if (kind === 'none') return undefined;
    return this.#agent.withActiveKey((key, info) => {
      const raw = allocSecret(KES_SECRET_BYTES);
      try {
        key.writeRaw(raw);
        const o = info.opcert;
        return encodeServiceKeyMessage(version, {
          signKey: raw,
          evolution: key.evolution,
          ocert: { hotVk: o.hotVk, counter: o.counter, kesPeriod: o.kesPeriod, sigma: o.sigma },
          timestampUs,
        });
      } finally {
        releaseSecret(raw);
      }
    });
  }

  /**
   * Write one frame to one node, tracked by `push` until the node confirms it or is lost.
   * `letGo` is called once, when this write no longer needs `frame` (written, failed, or never
   * started).
   */
  #sendTracked(session: NativeNodeSession, push: Push, frame: Uint8Array, letGo: () => void): void {
    if (session.pending.size >= MAX_UNCONFIRMED_PUSHES || session.conn.pendingWriteBytes > MAX_NODE_PENDING_WRITE_BYTES) {
      letGo();
      // A node that neither reads nor confirms must not make the agent buffer for it: checked
      // before writing, so nothing more is queued for it.
      this.#log.warn('service: node is not keeping up; disconnecting it', { node: session.id, unconfirmed: session.pending.size });
      session.conn.destroy();
      push.countUnreachable();
      return;
    }
    try {
      push.expect(session);
    } catch (e) {
      letGo();
      throw e;
    }
    // A failed write (its KEY copy could not be allocated, say) leaves the node without the
    // current key: settle the push as unconfirmed and disconnect it, so it reconnects and gets
    // the key again, instead of keeping a wiped one.
    session.conn.postShared(frame, (e) => {
      letGo();
      if (e === undefined || !push.settle(session, false)) return;
      const reason = e instanceof KeyCopyQuotaError ? 'not reading: key copy quota reached' : e instanceof KesError ? e.code : 'write failed';
      this.#log.warn('service: push to node failed; disconnecting it so it reconnects for the current key', { node: session.id, seq: push.seq, reason });
      session.conn.destroy();
    });
  }
}

/** A tally that counts each confirmation as it arrives. */
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
