/**
 * The node's custody of its KES key: validating a pushed key before it replaces the held one,
 * evolving the held key at each KES period boundary, expiring it, signing at the current period,
 * and telling waitForKey callers when a key can sign.
 *
 * It knows nothing of sockets: the session decoder (node-session-decoder.ts) hands it what the
 * agent sent, and it answers with the CONFIRM result and the client's events.
 */
import { KesError, type ErrorCode } from '../errors';
import { bytesEqual, toHex } from '../crypto/bytes';
import { releaseSecret } from '../crypto/secret-memory';
import { KesSignKey } from '../crypto/kes';
import { copyOpcert, verifyOpcert, type Opcert } from '../cardano/opcert';
import { WIRE_ERROR_CODES, type KeyMessage, type WireErrorName } from '../protocol';
import { type ChainTiming, kesTimeAt, opcertStanding } from '../time';
import { msUntilNextCheck } from '../machine/rules';
import { describeNetworkMismatch, networkMismatchOf } from './network-mismatch';
import type { KesNodeClientEvents } from './node-client';

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

export type MismatchCode = Extract<ErrorCode, 'OPCERT_WRONG_COLD_KEY' | 'OPCERT_BAD_SIGNATURE' | 'NETWORK_MISMATCH'>;

export interface NodeSignature {
  /** 448-byte Sum6KES signature. */
  signature: Uint8Array;
  /** The absolute KES period signed at (what goes into a block header). */
  kesPeriod: number;
  /** kesPeriod − the opcert's start period: what verifyKes needs. */
  evolution: number;
}

/** How custody reports to the client's listeners. */
export type EmitClientEvent = <E extends keyof KesNodeClientEvents>(event: E, payload: KesNodeClientEvents[E]) => void;

export interface KeyCustodyInit {
  timing: ChainTiming;
  /** When given, a key whose opcert this cold key did not sign is refused. */
  coldVk: Uint8Array | undefined;
  now: () => number;
  emit: EmitClientEvent;
  /** True once the client was stopped: no evolution timer is armed after that. */
  isStopped: () => boolean;
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

export class KeyCustody {
  readonly #timing: ChainTiming;
  readonly #coldVk: Uint8Array | undefined;
  readonly #now: () => number;
  readonly #emit: EmitClientEvent;
  readonly #isStopped: () => boolean;

  #tickTimer: NodeJS.Timeout | undefined;
  #held: HeldKey | undefined;
  readonly #waiters = new Set<Waiter>();
  /** Why there is no usable key, for waitForKey's timeout message; cleared when a key is installed. */
  #lastProblem: string | undefined;
  /** Set when the held key expired, so sign() can say KEY_EXPIRED rather than NO_KEY. */
  #expired: { counter: number; endPeriod: number } | undefined;

  constructor(init: KeyCustodyInit) {
    this.#timing = init.timing;
    this.#coldVk = init.coldVk;
    this.#now = init.now;
    this.#emit = init.emit;
    this.#isStopped = init.isStopped;
  }

  hasKey(): boolean {
    return this.#held !== undefined;
  }

  /** Record why no key is usable (the connection side knows: unreachable, no key state yet). */
  noteProblem(reason: string): void {
    this.#lastProblem = reason;
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

  /** KesNodeClient.sign, after the message was checked. */
  sign(message: Uint8Array): NodeSignature {
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
    const t = kesTimeAt(this.#timing, nowMs);
    if (!t.started) {
      throw new KesError('KEY_NOT_YET_VALID', `${this.#timing.name}: the chain has not started; there is no KES period to sign at yet`);
    }
    const c0 = held.opcert.kesPeriod;
    const standing = opcertStanding(this.#timing, c0, t.kesPeriod);
    if (standing.kind === 'not-yet-valid') {
      throw new KesError('KEY_NOT_YET_VALID', `the opcert is valid from KES period ${c0}; the current KES period is ${t.kesPeriod}`);
    }
    if (standing.kind === 'expired') {
      // Unreachable: #catchUp wiped it. Kept so a future change cannot sign with an expired key.
      throw new KesError('KEY_EXPIRED', `the opcert's window ended at KES period ${c0 + this.#timing.maxKESEvolutions}`);
    }
    if (held.key.evolution !== standing.evolution) {
      throw new KesError(
        'KEY_NOT_YET_VALID',
        `the key is at evolution ${held.key.evolution}, past evolution ${standing.evolution} of KES period ${t.kesPeriod} (did the clock go back?)`,
      );
    }
    return { signature: held.key.sign(message), kesPeriod: t.kesPeriod, evolution: standing.evolution };
  }

  /** KesNodeClient.waitForKey, after the timeout was checked and the client is known to run. */
  waitForKey(timeoutMs: number): Promise<void> {
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

  /** Fail every pending waitForKey with `error`. */
  rejectWaiters(error: Error): void {
    for (const w of [...this.#waiters]) this.#settle(w, error);
  }

  // ---- what the agent sent ------------------------------------------------------------------

  /**
   * Validate and install a pushed key; returns the CONFIRM result. The frame's secret buffer is
   * wiped on every path, and a refused key never replaces the held one.
   */
  receiveKey(msg: KeyMessage): number {
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
      const mismatch = networkMismatchOf(this.#timing, c0, candidate.evolution, nowMs);
      if (mismatch !== undefined) return this.#refuse('NODE_KEY_INVALID', describeNetworkMismatch(mismatch), 'NETWORK_MISMATCH');
      const t = kesTimeAt(this.#timing, nowMs);
      // Before c0 (or before the chain starts) the key must still be at evolution 0: hold it, sign() waits.
      let target = 0;
      if (t.started) {
        const standing = opcertStanding(this.#timing, c0, t.kesPeriod);
        if (standing.kind === 'expired') {
          return this.#refuse(
            'NODE_KEY_EXPIRED',
            `the opcert's window (KES periods ${c0}..${c0 + this.#timing.maxKESEvolutions - 1}) has ended; the current KES period is ${t.kesPeriod}`,
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

  /** NO_KEY: an agent that restarted has an empty memory, so the node keeps its key (as cardano-node does: docs/haskell-protocol.md §9). */
  agentHasNoKey(): void {
    if (this.#held === undefined) this.#lastProblem = 'the agent has no active key';
    this.#emit('noKey', { keptKey: this.#held !== undefined });
  }

  /** KEY_DROPPED: the agent's operator dropped the key (or it expired there); so does the node. */
  agentDroppedKey(): void {
    this.#lastProblem = 'the agent dropped its key';
    if (this.#held !== undefined) {
      this.wipe();
      this.#expired = undefined;
      this.#emit('dropped', { reason: 'agent-dropped' });
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
    this.#emit('rejected', { code, reason });
    if (mismatch !== undefined) this.#emit('mismatch', { error: mismatch, reason });
    return WIRE_ERROR_CODES[code];
  }

  #install(key: KesSignKey, opcert: Opcert): void {
    const replaced = this.#held !== undefined;
    this.#held?.key.destroy();
    this.#held = { key, opcert: copyOpcert(opcert) };
    this.#lastProblem = undefined;
    this.#expired = undefined;
    this.#emit('key', { kesVk: toHex(opcert.hotVk), counter: opcert.counter, startKesPeriod: opcert.kesPeriod, evolution: key.evolution, replaced });
    this.#scheduleTick();
    this.#notifyWaiters();
  }

  /** Destroy the held key and its evolution timer. */
  wipe(): void {
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
    if (this.#held === undefined || this.#isStopped()) return;
    this.#tickTimer = setTimeout(() => this.#tick(), msUntilNextCheck(this.#timing, this.#now()));
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
    const t = kesTimeAt(this.#timing, nowMs);
    if (!t.started) return;
    const standing = opcertStanding(this.#timing, held.opcert.kesPeriod, t.kesPeriod);
    if (standing.kind === 'expired') {
      this.wipe();
      this.#expired = { counter: held.opcert.counter, endPeriod: held.opcert.kesPeriod + this.#timing.maxKESEvolutions };
      this.#lastProblem = `the key (opcert counter ${held.opcert.counter}) expired at KES period ${this.#expired.endPeriod}`;
      this.#emit('dropped', { reason: 'expired' });
      return;
    }
    if (standing.kind !== 'valid' || held.key.evolution >= standing.evolution) return;
    try {
      held.key.evolveTo(standing.evolution);
    } catch {
      this.wipe();
      this.#lastProblem = 'evolving the key failed; it was wiped';
      this.#emit('dropped', { reason: 'evolution-failed' });
      return;
    }
    this.#emit('evolved', { evolution: held.key.evolution, kesPeriod: t.kesPeriod });
  }

  // ---- waiting ------------------------------------------------------------------------------

  #usableAt(nowMs: number): boolean {
    const held = this.#held;
    if (held === undefined) return false;
    const t = kesTimeAt(this.#timing, nowMs);
    if (!t.started) return false;
    const standing = opcertStanding(this.#timing, held.opcert.kesPeriod, t.kesPeriod);
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
      const t = kesTimeAt(this.#timing, this.#now());
      if (!t.started) return `a key is held, but ${this.#timing.name} has not started yet`;
      return `a key is held, but its opcert is valid from KES period ${held.opcert.kesPeriod}; the current KES period is ${t.kesPeriod}`;
    }
    return this.#lastProblem ?? 'no key has been received from the agent yet';
  }
}

/** The agent re-sending the bundle we hold (same key under the same opcert). */
function sameBundle(a: Opcert, b: Opcert): boolean {
  return bytesEqual(a.hotVk, b.hotVk) && a.counter === b.counter && a.kesPeriod === b.kesPeriod && bytesEqual(a.coldVk, b.coldVk);
}

