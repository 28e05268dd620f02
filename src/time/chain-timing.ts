/**
 * The wall-clock shape of a chain, as far as KES needs it (docs/kes-construction.md §7).
 *
 * Everything is kept in integer milliseconds so that period boundaries are exact: a KES key is
 * evolved (and its previous evolution erased) at a boundary, so "a few ms off" is not harmless.
 */
import { KesError } from '../errors';

export interface ChainTiming {
  /** 'mainnet' | 'preprod' | 'preview' | 'genesis:<path basename>' */
  readonly name: string;
  /** Genesis systemStart (unix ms). */
  readonly systemStartMs: number;
  /** Wall clock of the first Shelley slot (== systemStartMs when the chain had no Byron era). */
  readonly shelleyStartMs: number;
  /** Absolute number of the first Shelley slot; 0 when the chain had no Byron era. */
  readonly shelleyStartSlot: number;
  /** Shelley slot length in ms. */
  readonly slotLengthMs: number;
  readonly slotsPerKESPeriod: number;
  readonly maxKESEvolutions: number;
}

/**
 * Sum6KES has 2^6 periods, and Shelley genesis validation requires maxKESEvolutions ≤ 64
 * (docs/kes-construction.md §7).
 */
export const MAX_KES_EVOLUTIONS_LIMIT = 64;

/**
 * Upper bound on one KES period (slotLength × slotsPerKESPeriod). Real networks use 1.5 days; the
 * bound keeps every product of periods, slots and milliseconds an exact JS integer
 * (64 periods × 10 years ≪ 2^53 ms).
 */
export const MAX_KES_PERIOD_LENGTH_MS = 10 * 366 * 24 * 3600 * 1000;

/**
 * Build a ChainTiming after checking the invariants the period arithmetic relies on. Callers
 * that read user input (genesis files) validate field by field first, with messages that name
 * the file; this is the last line of defence and names the timing.
 */
export function makeChainTiming(t: ChainTiming): ChainTiming {
  const fail = (field: string, expected: string, got: number): never => {
    throw new KesError('OUT_OF_RANGE', `${t.name}: ${field}: expected ${expected}, got ${got}`);
  };
  if (!Number.isSafeInteger(t.systemStartMs)) fail('systemStartMs', 'an integer number of ms', t.systemStartMs);
  if (!Number.isSafeInteger(t.shelleyStartMs) || t.shelleyStartMs < t.systemStartMs) {
    fail('shelleyStartMs', 'an integer ≥ systemStartMs', t.shelleyStartMs);
  }
  if (!Number.isSafeInteger(t.shelleyStartSlot) || t.shelleyStartSlot < 0) {
    fail('shelleyStartSlot', 'a non-negative integer', t.shelleyStartSlot);
  }
  if (!Number.isSafeInteger(t.slotLengthMs) || t.slotLengthMs < 1) fail('slotLengthMs', 'an integer ≥ 1', t.slotLengthMs);
  if (!Number.isSafeInteger(t.slotsPerKESPeriod) || t.slotsPerKESPeriod < 1) {
    fail('slotsPerKESPeriod', 'a positive integer', t.slotsPerKESPeriod);
  }
  if (t.slotLengthMs * t.slotsPerKESPeriod > MAX_KES_PERIOD_LENGTH_MS) {
    fail('slotsPerKESPeriod', `slotLength × slotsPerKESPeriod ≤ ${MAX_KES_PERIOD_LENGTH_MS} ms`, t.slotsPerKESPeriod);
  }
  if (!Number.isSafeInteger(t.maxKESEvolutions) || t.maxKESEvolutions < 1 || t.maxKESEvolutions > MAX_KES_EVOLUTIONS_LIMIT) {
    fail('maxKESEvolutions', `an integer 1..${MAX_KES_EVOLUTIONS_LIMIT}`, t.maxKESEvolutions);
  }
  return Object.freeze({
    name: t.name,
    systemStartMs: t.systemStartMs,
    shelleyStartMs: t.shelleyStartMs,
    shelleyStartSlot: t.shelleyStartSlot,
    slotLengthMs: t.slotLengthMs,
    slotsPerKESPeriod: t.slotsPerKESPeriod,
    maxKESEvolutions: t.maxKESEvolutions,
  });
}
