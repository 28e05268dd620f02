/**
 * Opcert validity in KES periods, the ledger rule (docs/kes-construction.md §7):
 *
 *   usable while c0 ≤ kp < c0 + maxKESEvolutions; the key signs at evolution t = kp − c0.
 *
 * cardano-cli reports the same exclusive end, `c0 + maxKESEvolutions`.
 */
import { KesError } from '../errors';
import type { ChainTiming } from './chain-timing';
import { periodStartMs } from './kes-period';

export interface OpcertWindow {
  readonly startPeriod: number;
  /** Exclusive: c0 + maxKESEvolutions, the first period in which the ledger rejects the opcert. */
  readonly endPeriod: number;
  /** Wall clock at which endPeriod begins. */
  readonly expiresAtMs: number;
}

export function opcertWindow(timing: ChainTiming, startKesPeriod: number): OpcertWindow {
  assertPeriod(startKesPeriod, 'startKesPeriod');
  const endPeriod = startKesPeriod + timing.maxKESEvolutions;
  return { startPeriod: startKesPeriod, endPeriod, expiresAtMs: periodStartMs(timing, endPeriod) };
}

export type OpcertStanding =
  /** kp < c0; periodsUntilStart = c0 − kp (1 in the period just before c0). */
  | { readonly kind: 'not-yet-valid'; readonly periodsUntilStart: number }
  /** c0 ≤ kp < end; evolution = kp − c0; periodsRemaining = end − kp, counting the current period (1 in the last one). */
  | { readonly kind: 'valid'; readonly evolution: number; readonly periodsRemaining: number }
  /** kp ≥ end; periodsSinceExpiry = kp − end (0 in the first period the ledger rejects it). */
  | { readonly kind: 'expired'; readonly periodsSinceExpiry: number };

export function opcertStanding(timing: ChainTiming, startKesPeriod: number, currentKesPeriod: number): OpcertStanding {
  assertPeriod(startKesPeriod, 'startKesPeriod');
  assertPeriod(currentKesPeriod, 'currentKesPeriod');
  const endPeriod = startKesPeriod + timing.maxKESEvolutions;
  if (currentKesPeriod < startKesPeriod) {
    return { kind: 'not-yet-valid', periodsUntilStart: startKesPeriod - currentKesPeriod };
  }
  if (currentKesPeriod < endPeriod) {
    return { kind: 'valid', evolution: currentKesPeriod - startKesPeriod, periodsRemaining: endPeriod - currentKesPeriod };
  }
  return { kind: 'expired', periodsSinceExpiry: currentKesPeriod - endPeriod };
}

function assertPeriod(x: number, what: string): void {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
    throw new KesError('INVALID_ARGUMENT', `${what}: expected a non-negative integer KES period, got ${String(x)}`);
  }
}
