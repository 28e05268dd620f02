/**
 * One connected node, whatever it speaks: the pushes it has not confirmed yet, each with its
 * deadline. The service hub tracks every node through this; each protocol's session says how a
 * push reaches the wire (service-hub.ts, haskell-node-session.ts).
 */
import type { FramedSocket } from '../protocol/framed-socket';

interface Pending {
  resolve: (accepted: boolean) => void;
  deadline: NodeJS.Timeout;
}

/** One push to the nodes: what it carries is read from the agent when it is encoded. */
export interface Push {
  readonly seq: number;
  /** 'key': the current bundle; 'drop': the key was dropped; 'none': no key (ours: NO_KEY). */
  readonly kind: 'key' | 'drop' | 'none';
  /** The install's or the drop's timestamp, µs; 0 for 'none'. */
  readonly timestampUs: bigint;
}

export abstract class NodeSession {
  readonly pending = new Map<number, Pending>();
  constructor(readonly id: number) {}

  abstract destroy(): void;
  /** Bytes written to this node that the kernel has not taken yet. */
  abstract get pendingWriteBytes(): number;

  /** Settle every outstanding push as unconfirmed (the node went away). */
  abandon(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.deadline);
      p.resolve(false);
    }
    this.pending.clear();
  }

  /** Wait for `seq` to be confirmed; after `deadlineMs` settle it unconfirmed and call `onLate`. */
  track(seq: number, deadlineMs: number, onLate: () => void): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const deadline = setTimeout(() => {
        if (this.settle(seq, false)) onLate();
      }, deadlineMs);
      deadline.unref();
      this.pending.set(seq, { resolve, deadline });
    });
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

