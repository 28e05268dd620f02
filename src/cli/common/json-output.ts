/**
 * `--json` output: one JSON document per line on stdout, keys in the order the command built
 * them (JSON.stringify keeps insertion order), which is part of each command's contract.
 *
 * bigint becomes a number when it is exact and a decimal string otherwise. Uint8Array is
 * REFUSED: bytes must be turned into hex explicitly by the command, so secret bytes cannot
 * reach stdout by accident.
 */
export function toJsonLine(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') {
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
      }
      if (v instanceof Uint8Array) throw new TypeError('toJsonLine: byte arrays must be converted to hex explicitly');
      return v;
    }) + '\n'
  );
}

/** ISO 8601 UTC with milliseconds, the one timestamp format of our JSON output. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** The flag that asks a command for JSON output. */
export const JSON_FLAG = '--json';

/** Did the command line ask for JSON (before any `--`)? Used where no command was parsed. */
export function jsonRequested(optionWords: readonly string[]): boolean {
  return optionWords.includes(JSON_FLAG);
}

/**
 * The one object a failed command prints with --json: `ok: false`, the stable error code, the
 * same message as the stderr line, and the exit code. `fields` are what the command had found
 * before it failed (e.g. an opcert's contents when its signature does not verify).
 */
export function jsonFailure(code: string, message: string, exitCode: number, fields: Record<string, unknown> = {}): string {
  return toJsonLine({ ok: false, ...fields, code, message, exitCode });
}

/** The one object a successful command prints with --json: `ok: true` and its fields. */
export function jsonSuccess(fields: Record<string, unknown>): string {
  return toJsonLine({ ok: true, ...fields });
}
