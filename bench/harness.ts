/**
 * Ratio benchmarks: how much slower an operation is than the primitives it is made of, measured
 * in the same process and interleaved, so machine speed and load cancel out.
 *
 * Each case runs `ours` and `base` in batches sized to BATCH_MS, alternating which goes first,
 * for ROUNDS rounds after a warm-up; the reported ratio is the median of the per-round ratios.
 */
export interface BenchRow {
  name: string;
  ratio: number;
  target: number;
  detail?: string;
}

export interface RatioCase {
  name: string;
  target: number;
  /** Run the operation under test `n` times; return the elapsed nanoseconds of the timed part. */
  ours: (n: number) => number;
  /** Run the primitives it is made of `n` times; return the elapsed nanoseconds. */
  base: (n: number) => number;
  /** What the baseline consists of, for the report. */
  baseline: string;
}

const BATCH_MS = 150;
const ROUNDS = 15;
const WARMUP_MS = 150;
/** Keeps one calibration from running away on a very slow or very fast operation. */
const MAX_BATCH = 100_000;

/** Nanoseconds of `f` (a helper for cases whose whole body is timed). */
export function timed(f: () => void): number {
  const start = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - start);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Iterations of `run` that take about `ms`. */
function calibrate(run: (n: number) => number, ms: number): number {
  let n = 1;
  for (;;) {
    const ns = run(n);
    if (ns >= ms * 1e6 / 4 || n >= MAX_BATCH) return Math.min(MAX_BATCH, Math.max(1, Math.round((n * ms * 1e6) / ns)));
    n *= 4;
  }
}

function fmtUs(ns: number): string {
  return `${(ns / 1000).toFixed(ns < 10_000 ? 2 : 1)} µs`;
}

export function measureRatio(c: RatioCase): BenchRow {
  calibrate(c.ours, WARMUP_MS);
  calibrate(c.base, WARMUP_MS);
  const nOurs = calibrate(c.ours, BATCH_MS);
  const nBase = calibrate(c.base, BATCH_MS);
  const ratios: number[] = [];
  const oursPer: number[] = [];
  const basePer: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let o: number;
    let b: number;
    if (round % 2 === 0) {
      o = c.ours(nOurs) / nOurs;
      b = c.base(nBase) / nBase;
    } else {
      b = c.base(nBase) / nBase;
      o = c.ours(nOurs) / nOurs;
    }
    oursPer.push(o);
    basePer.push(b);
    ratios.push(o / b);
  }
  const ratio = median(ratios);
  return {
    name: c.name,
    ratio: Math.round(ratio * 1000) / 1000,
    target: c.target,
    detail: `${fmtUs(median(oursPer))} vs ${fmtUs(median(basePer))} for ${c.baseline}; ratio range ${Math.min(...ratios).toFixed(3)}..${Math.max(...ratios).toFixed(3)}`,
  };
}
