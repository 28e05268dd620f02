/**
 * The agent's time rules, as pure functions of (timing, c0, now). Nothing here reads a clock.
 *
 * Validity (docs/kes-construction.md §7): an opcert with start period c0 is usable while
 *   c0 ≤ kp < c0 + maxKESEvolutions, and the key signs period kp at evolution t = kp − c0.
 */
import { isKesError } from '../errors';
import { type ChainTiming, kesTimeAt, opcertStanding, periodStartMs } from '../time';
import { MAX_TIMER_DELAY_MS } from '../platform/timers';

export { MAX_TIMER_DELAY_MS };

/**
 * How far ahead of our clock a peer's bundle or drop timestamp may be. A timestamp decides
 * every later conflict (Haskell rule, `isTaggedBundleAgeValid`: only a strictly newer bundle
 * replaces the current one), so one accepted from a peer whose clock is a year fast would make
 * us refuse every honest rotation or drop from other peers for a year. Refusing it bounds that
 * to this much. Hosts running agents are expected to run NTP (sub-second); a minute leaves room
 * for a badly synchronised one without letting it pin anything for long. @default 60000
 */
export const MAX_PEER_CLOCK_AHEAD_MS = 60_000;

/** Status warns once an active key has this many KES periods left or fewer (10 × 1.5 days on mainnet). */
export const EXPIRY_WARNING_PERIODS = 10;

/** The current absolute KES period, or undefined before the chain (its Shelley era) has started. */
export function kesPeriodAt(timing: ChainTiming, nowMs: number): number | undefined {
  const t = kesTimeAt(timing, nowMs);
  return t.started ? t.kesPeriod : undefined;
}

export type KeyTarget =
  /** The evolution the key must have now: kp − c0, or 0 before c0 or before the chain starts. */
  | { readonly kind: 'evolution'; readonly evolution: number }
  /** kp ≥ c0 + maxKESEvolutions: the ledger rejects every header this key could sign. */
  | { readonly kind: 'expired' };

export function keyTargetAt(timing: ChainTiming, startKesPeriod: number, nowMs: number): KeyTarget {
  const kp = kesPeriodAt(timing, nowMs);
  if (kp === undefined) return { kind: 'evolution', evolution: 0 };
  const s = opcertStanding(timing, startKesPeriod, kp);
  switch (s.kind) {
    case 'not-yet-valid':
      return { kind: 'evolution', evolution: 0 };
    case 'valid':
      return { kind: 'evolution', evolution: s.evolution };
    case 'expired':
      return { kind: 'expired' };
  }
}

/**
 * Can a key under an opcert starting at c0 sign a header at nowMs? Only inside its window, once
 * the chain has started: before c0 it waits at evolution 0 and nodes cannot forge with it.
 */
export function opcertUsableAt(timing: ChainTiming, startKesPeriod: number, nowMs: number): boolean {
  const kp = kesPeriodAt(timing, nowMs);
  return kp !== undefined && opcertStanding(timing, startKesPeriod, kp).kind === 'valid';
}

/** Is an opcert starting at c0 already past its last period at nowMs? (false before the chain starts) */
export function opcertExpiredAt(timing: ChainTiming, startKesPeriod: number, nowMs: number): boolean {
  return keyTargetAt(timing, startKesPeriod, nowMs).kind === 'expired';
}

/**
 * Wall clock at which absolute period `kesPeriod` begins, or Number.MAX_SAFE_INTEGER ("never in
 * representable time") for a period so far ahead (tens of millions of periods) that its start
 * is not an exact JS integer. A cold key may sign such an opcert; it must not crash the agent.
 */
export function periodStartOrNever(timing: ChainTiming, kesPeriod: number): number {
  if (!Number.isSafeInteger(kesPeriod)) return Number.MAX_SAFE_INTEGER;
  try {
    return periodStartMs(timing, kesPeriod);
  } catch (e) {
    if (isKesError(e, 'OUT_OF_RANGE')) return Number.MAX_SAFE_INTEGER;
    throw e;
  }
}

/** When an opcert starting at c0 stops being valid: the start of period c0 + maxKESEvolutions. */
export function opcertExpiresAtMs(timing: ChainTiming, startKesPeriod: number): number {
  return periodStartOrNever(timing, startKesPeriod + timing.maxKESEvolutions);
}

/**
 * The longest the agent sleeps without looking at the wall clock. Timers run on the monotonic
 * clock, which stops while the host is suspended and ignores a wall-clock step; without this
 * bound a 36 h timer armed before a suspend would leave an old evolution in memory (and served)
 * for up to a period after resume. @default 60000
 */
export const WALL_CLOCK_RECHECK_MS = 60_000;

/**
 * Delay until the key state can next change: the next KES period boundary, or the chain start,
 * but at most WALL_CLOCK_RECHECK_MS. Recomputed from the clock every time it is armed (never a
 * fixed period: a late timer must not make the next one late too). At least 1 ms.
 */
export function msUntilNextCheck(timing: ChainTiming, nowMs: number): number {
  const t = kesTimeAt(timing, nowMs);
  const ms = t.started ? t.msToNextPeriod : t.msUntilStart;
  return Math.min(Math.max(ms, 1), WALL_CLOCK_RECHECK_MS, MAX_TIMER_DELAY_MS);
}
