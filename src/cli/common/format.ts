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

/** "in 20h 3m" for a future instant, "3h 2m ago" for a past one (relative to `nowMs`). */
export function formatRelative(targetMs: number, nowMs: number): string {
  const d = targetMs - nowMs;
  return d >= 0 ? `in ${formatDuration(d)}` : `${formatDuration(-d)} ago`;
}

/** "2026-04-24T09:44:51Z": UTC ISO 8601 to the second, for people (JSON keeps milliseconds). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Hex digits shown for a public key in human output: 64 bits tell keys apart at a glance, and
 * --json always carries the full key.
 */
export const SHORT_HEX_DIGITS = 16;

/** The first SHORT_HEX_DIGITS of a hex string, with an ellipsis when cut (public data only). */
export function shortHex(hex: string): string {
  return hex.length <= SHORT_HEX_DIGITS ? hex : `${hex.slice(0, SHORT_HEX_DIGITS)}…`;
}

/** ANSI styles for human output. */
export type Style = 'bold' | 'red' | 'yellow' | 'green' | 'dim';

const SGR: Readonly<Record<Style, string>> = { bold: '1', red: '31', yellow: '33', green: '32', dim: '2' };

/** Applies a style, or does nothing: a renderer calls it the same way with colour on or off. */
export type Paint = (style: Style, text: string) => string;

export const NO_PAINT: Paint = (_style, text) => text;
export const ANSI_PAINT: Paint = (style, text) => `\u001b[${SGR[style]}m${text}\u001b[0m`;

/**
 * Colour only for a person at a terminal: stdout is a TTY, NO_COLOR is not set (no-color.org; any
 * value, even empty, turns colour off here) and TERM is not "dumb". Piped output never has escapes.
 */
export function colourEnabled(stdout: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return stdout.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
}
