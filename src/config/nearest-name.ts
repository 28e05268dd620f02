/**
 * "did you mean …?" for a misspelt setting name: the known name at the smallest edit distance,
 * if it is close enough to be a typo rather than a different word.
 */

/** Levenshtein distance (insert, delete, substitute: 1 each). Names are short, so O(n·m) is nothing. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** A third of the name's length, and at least 2: "control-pth" → control-path, "log" → nothing. */
const MIN_TYPO_DISTANCE = 2;
const TYPO_FRACTION = 3;

/** The candidate nearest to `name`, or undefined when none is close enough to be a typo of it. */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(MIN_TYPO_DISTANCE, Math.floor(name.length / TYPO_FRACTION));
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d <= limit && (best === undefined || d < best.d)) best = { c, d };
  }
  return best?.c;
}
