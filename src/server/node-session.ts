/**
 * One connected node, whatever it speaks: the pushes it has not confirmed yet. The service hub
 * tracks every node through this; each protocol's session says how a push reaches the wire
 * (service-hub.ts, haskell-node-session.ts). The deadline of each push is the push's own
 * (push.ts): one timer per push, not per node.
 */
import type { FramedSocket } from '../protocol/framed-socket';
import type { Push } from './push';

export abstract class NodeSession {
  /** Pushes sent to this node and not answered yet, by wire seq. */
  readonly pending = new Map<number, Push>();
  constructor(readonly id: number) {}

  abstract destroy(): void;
  /** Bytes written to this node that the kernel has not taken yet. */
  abstract get pendingWriteBytes(): number;

  /** Settle every outstanding push as unconfirmed (the node went away). */
  abandon(): void {
    for (const p of [...this.pending.values()]) p.settle(this, false);
    this.pending.clear();
  }

  /** This node's answer to push `seq`; false when no push with that seq awaits its answer. */
  settle(seq: number, accepted: boolean): boolean {
    const p = this.pending.get(seq);
    return p !== undefined && p.settle(this, accepted);
  }
}

/** A node speaking our protocol (spec/protocol.md §6). */
export class NativeNodeSession extends NodeSession {
  constructor(id: number, readonly conn: FramedSocket) {
    super(id);
  }
  destroy(): void {
    this.conn.destroy();
  }
  get pendingWriteBytes(): number {
    return this.conn.pendingWriteBytes;
  }
}
