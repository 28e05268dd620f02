/**
 * A private testnet with short KES periods whose clock a test can plan against: the genesis
 * places a period boundary where the test wants it, and the test computes every wait from that
 * clock instead of hoping the machine is fast.
 *
 * How long a period must be: long enough for the process spawns a test makes inside one period,
 * with a 4x margin. On the 2-core machine this suite runs on, one `kes-ctl`/`kes-cold` spawn
 * measured 0.18-0.27 s idle and 0.41-0.57 s with both cores busy (SPAWN_MS_LOADED below).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kesTimeAt, parseGenesis, periodStartMs, type ChainTiming } from '../../src/time';
import { makeTestGenesis } from './test-genesis';

/** One CLI process spawn, start to exit, on this 2-core machine with both cores busy (measured). */
export const SPAWN_MS_LOADED = 600;
/** The margin every period-bound test keeps over what it measured. */
export const TIMING_MARGIN = 4;

/** The shortest period that fits `spawns` process spawns with the margin, rounded up to 0.1 s. */
export function periodForSpawns(spawns: number): number {
  return Math.ceil((spawns * SPAWN_MS_LOADED * TIMING_MARGIN) / 100) * 100;
}

export interface TestChain {
  /** `--genesis FILE`, for kes-agent, kes-ctl's peers, kes-cold and kes-node. */
  readonly args: string[];
  readonly file: string;
  readonly timing: ChainTiming;
  readonly periodMs: number;
  /** The absolute KES period at `ms` (default now). */
  periodAt(ms?: number): number;
  /** When period `k` starts. */
  startOf(k: number): number;
  /** Resolve once period `k` has started (immediately if it has). */
  untilPeriod(k: number): Promise<void>;
  /** Wait for the next boundary; resolves with the period that has just begun. */
  nextBoundary(): Promise<number>;
}

/**
 * A genesis in `dir` with `periodMs`-long KES periods (0.1-s slots), such that period `period`
 * (default 10) begins right now: the caller starts at the very beginning of a period, with a whole
 * period ahead of it.
 */
export function testChain(dir: string, p: { periodMs: number; maxKESEvolutions: number; period?: number }): TestChain {
  const slotLength = 0.1;
  if (p.periodMs % 100 !== 0) throw new Error(`testChain: periodMs ${p.periodMs} is not a whole number of 0.1-s slots`);
  const slotsPerKESPeriod = p.periodMs / 100;
  const period = p.period ?? 10;
  const systemStart = new Date(Date.now() - period * p.periodMs);
  const text = makeTestGenesis({ systemStart, slotLength, slotsPerKESPeriod, maxKESEvolutions: p.maxKESEvolutions });
  const file = path.join(dir, 'genesis.json');
  fs.writeFileSync(file, text);
  const timing = parseGenesis(text, file);
  const periodAt = (ms = Date.now()): number => {
    const t = kesTimeAt(timing, ms);
    if (!t.started) throw new Error('testChain: the chain has not started');
    return t.kesPeriod;
  };
  const startOf = (k: number): number => periodStartMs(timing, k);
  const untilPeriod = async (k: number): Promise<void> => {
    // Timers may fire a little early against Date.now(); loop until the clock agrees.
    for (;;) {
      const ms = startOf(k) - Date.now();
      if (ms <= 0) return;
      await new Promise((r) => setTimeout(r, ms + 1));
    }
  };
  return {
    args: ['--genesis', file],
    file,
    timing,
    periodMs: p.periodMs,
    periodAt,
    startOf,
    untilPeriod,
    async nextBoundary() {
      const k = periodAt() + 1;
      await untilPeriod(k);
      return k;
    },
  };
}
