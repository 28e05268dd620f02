/** Human-readable formatting shared by the CLIs. */

const MS_PER_MINUTE = 60_000;

/** "1d 3h 4m": enough precision for a human deciding when to act. */
export function formatDuration(ms: number): string {
  const totalMin = Math.max(0, Math.floor(ms / MS_PER_MINUTE));
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  return [d > 0 ? `${d}d` : '', d > 0 || h > 0 ? `${h}h` : '', `${m}m`].filter((s) => s !== '').join(' ');
}
