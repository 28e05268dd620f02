/**
 * One push from the agent to the nodes (spec/protocol.md §6): one wire seq, what it carries, and
 * which of the nodes it went to have answered. The service hub makes one per key-state change
 * (and one per connecting node); whoever caused the change (an UPLOAD, a DROP_ACTIVE) holds it
 * and awaits its outcome.
 *
 * One tracker and one deadline timer per push, not one per node: a push to 1,000 nodes is one
 * object, one timer and a set, so a burst of uploads costs the agent's GC little.
 */
import type { NodeSession } from './node-session';

/** What one push to the nodes became. */
export interface BroadcastOutcome {
  nodesConnected: number;
  nodesConfirmed: number;
}

export type PushKind = 'key' | 'drop' | 'none';

export class Push {
  /** The nodes it was offered to that have not answered yet. */
  readonly #unsettled = new Set<NodeSession>();
  #connected = 0;
  #confirmed = 0;
  #deadline: NodeJS.Timeout | undefined;
  /** Every node has been added (arm() ran): from now on, no unsettled node means settled. */
  #armed = false;
  /** Resolves once every node has answered (or has been counted out). */
  readonly #settled: Promise<void>;
  #resolveSettled!: () => void;

  /**
   * `seq`: the wire seq (ours; the Haskell protocols have none). `kind`: 'key' the current
   * bundle, 'drop' the key was dropped, 'none' no key (ours: NO_KEY). `timestampUs`: the
   * install's or drop's timestamp, 0 for 'none'. What a key push carries is read from the agent
   * when it is encoded.
   */
  constructor(readonly seq: number, readonly kind: PushKind, readonly timestampUs: bigint) {
    this.#settled = new Promise((resolve) => (this.#resolveSettled = resolve));
  }

  /** Nodes it went to (or was meant for), and how many of them confirmed so far. */
  get outcomeSoFar(): BroadcastOutcome {
    return { nodesConnected: this.#connected, nodesConfirmed: this.#confirmed };
  }

  /** `session` is sent this push and must answer it: tracked under `seq` on that session. */
  expect(session: NodeSession): void {
    this.#connected++;
    this.#unsettled.add(session);
    session.pending.set(this.seq, this);
  }

  /** A node it was meant for that cannot get it (nothing to send in its protocol, or already cut): unconfirmed. */
  countUnreachable(): void {
    this.#connected++;
  }

  /**
   * After every node was added: the nodes that have not answered within `deadlineMs` are settled
   * unconfirmed and handed to `onLate` (which disconnects them). The timer does not keep the
   * process alive.
   */
  arm(deadlineMs: number, onLate: (session: NodeSession) => void): void {
    this.#armed = true;
    if (this.#unsettled.size === 0) {
      this.#resolveSettled();
      return;
    }
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      for (const s of [...this.#unsettled]) if (this.settle(s, false)) onLate(s);
    }, deadlineMs);
    this.#deadline.unref();
  }

  /** `session`'s answer (or its loss); false when it had none pending for this push. */
  settle(session: NodeSession, accepted: boolean): boolean {
    if (!this.#unsettled.delete(session)) return false;
    session.pending.delete(this.seq);
    if (accepted) this.#confirmed++;
    if (this.#unsettled.size === 0 && this.#armed) {
      if (this.#deadline !== undefined) clearTimeout(this.#deadline);
      this.#deadline = undefined;
      this.#resolveSettled();
    }
    return true;
  }

  /** Wait (at most `timeoutMs`) for every node to answer; the counts at that moment. */
  async outcome(timeoutMs: number): Promise<BroadcastOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.#settled, timeout]);
    clearTimeout(timer);
    return this.outcomeSoFar;
  }
}
