/**
 * Wall clock → slot → KES period, the ledger way (docs/kes-construction.md §7).
 *
 *   slot = shelleyStartSlot + floor((now − shelleyStartMs) / slotLengthMs)
 *   kp   = floor(slot / slotsPerKESPeriod)
 *
 * The Haskell kes-agent computes `(now − systemStart) / (slotLength × slotsPerKESPeriod)`, which
 * ignores mainnet's 20-second Byron slots and runs ~659 periods ahead of the ledger
 * (docs/kes-construction.md §7.4; for 2023-08-21 it gives 1438 where the ledger has 779). We go
 * through the era history instead.
 *
 * All arithmetic is on integer ms, so `periodStartMs(kp) ≤ now < periodStartMs(kp + 1)` holds
 * exactly for the kp that `kesTimeAt(now)` reports.
 */
import { KesError } from '../errors';
import type { ChainTiming } from './chain-timing';

/**
 * The slot at `nowMs`, or undefined before the first Shelley slot: KES does not exist before
 * Shelley, so for KES purposes the chain has not started (for a genesis-file chain that is simply
 * systemStart).
 */
export function slotAt(timing: ChainTiming, nowMs: number): number | undefined {
  assertMs(nowMs, 'nowMs');
  if (nowMs < timing.shelleyStartMs) return undefined;
  return timing.shelleyStartSlot + Math.floor((nowMs - timing.shelleyStartMs) / timing.slotLengthMs);
}

/** Absolute KES period of a slot: the ledger's `slot div slotsPerKESPeriod`. */
export function kesPeriodOfSlot(timing: ChainTiming, slot: number): number {
  assertNonNegativeInteger(slot, 'slot');
  return Math.floor(slot / timing.slotsPerKESPeriod);
}

/**
 * Wall clock at which absolute KES period `kesPeriod` begins (the start of its first slot).
 *
 * On a chain with a Byron era, the first Shelley period (34 on mainnet) starts at a slot that was
 * still a 20-second Byron slot, and earlier periods lie wholly in Byron. Those starts are
 * extrapolated with the Shelley slot length, i.e. they are earlier than any real Byron slot with
 * that number. That is harmless: no opcert can be valid before Shelley, and `kesTimeAt` never
 * reports a time before the Shelley start as started. The result is always a finite integer.
 */
export function periodStartMs(timing: ChainTiming, kesPeriod: number): number {
  assertNonNegativeInteger(kesPeriod, 'kesPeriod');
  const firstSlot = kesPeriod * timing.slotsPerKESPeriod;
  const ms = timing.shelleyStartMs + (firstSlot - timing.shelleyStartSlot) * timing.slotLengthMs;
  if (!Number.isSafeInteger(firstSlot) || !Number.isSafeInteger(ms)) {
    throw new KesError('OUT_OF_RANGE', `kesPeriod: ${kesPeriod} is too far in the future for ${timing.name}`);
  }
  return ms;
}

export type KesTime =
  | { readonly started: false; readonly startsAtMs: number; readonly msUntilStart: number }
  | {
      readonly started: true;
      readonly slot: number;
      readonly kesPeriod: number;
      readonly periodStartMs: number;
      /** Exclusive: the start of period kesPeriod + 1. */
      readonly periodEndMs: number;
      /** periodEndMs − now, always ≥ 1. */
      readonly msToNextPeriod: number;
    };

/**
 * Where `nowMs` falls in KES time. Before the Shelley start this is `started: false` with the
 * start instant, never a negative or wrapped period (the Haskell agent's underflow,
 * docs/kes-construction.md §7.4).
 */
export function kesTimeAt(timing: ChainTiming, nowMs: number): KesTime {
  const slot = slotAt(timing, nowMs);
  if (slot === undefined) {
    return { started: false, startsAtMs: timing.shelleyStartMs, msUntilStart: timing.shelleyStartMs - nowMs };
  }
  const kesPeriod = kesPeriodOfSlot(timing, slot);
  const start = periodStartMs(timing, kesPeriod);
  const end = periodStartMs(timing, kesPeriod + 1);
  return { started: true, slot, kesPeriod, periodStartMs: start, periodEndMs: end, msToNextPeriod: end - nowMs };
}

/**
 * The current absolute KES period, for callers that cannot proceed without one.
 *
 * @throws KesError CHAIN_NOT_STARTED (message gives the start instant)
 */
export function currentKesPeriodAt(timing: ChainTiming, nowMs: number): number {
  const t = kesTimeAt(timing, nowMs);
  if (!t.started) {
    throw new KesError(
      'CHAIN_NOT_STARTED',
      `${timing.name}: the chain starts at ${new Date(t.startsAtMs).toISOString()} (in ${Math.ceil(t.msUntilStart / 1000)} s); there is no KES period yet`,
    );
  }
  return t.kesPeriod;
}

function assertMs(x: number, what: string): void {
  if (typeof x !== 'number' || !Number.isSafeInteger(x)) {
    throw new KesError('INVALID_ARGUMENT', `${what}: expected an integer number of unix ms, got ${String(x)}`);
  }
}

function assertNonNegativeInteger(x: number, what: string): void {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
    throw new KesError('INVALID_ARGUMENT', `${what}: expected a non-negative integer, got ${String(x)}`);
  }
}
