/**
 * What kes-agent-control prints, as the Haskell tool prints it (kes-agent/cli/ControlMain.hs):
 * verification keys as cardano-cli text envelopes, times as Haskell's `show` of a UTCTime, and
 * the `info` layout of `runGetInfo`.
 */
import { ENVELOPE_TYPES, formatEnvelope, keyEnvelope, writeKesVerificationKeyFile } from '../../cardano';
import { toHex } from '../../crypto/bytes';
import { CONTROL_VERSION_IDS, type ControlVersion, type DecodedAgentInfo } from '../../protocol/haskell';

/** `--kes-verification-key-file` value that means stdout. */
export const STDOUT_FILE = '-';
/** The Haskell tool's default for --kes-verification-key-file. */
export const DEFAULT_VK_FILE = 'kes.vkey';
/** Sum6KES evolutions (`totalPeriodsKES`). */
export const KES_TOTAL_PERIODS = 64;

/**
 * Write `vk` as a KesVerificationKey_ed25519_kes_2^6 envelope to `file` or to stdout for "-";
 * returns the line to print after a file write, or undefined after stdout. Unlike the Haskell
 * tool, which overwrites the file, an existing file with other content is replaced only with
 * `overwrite` (atomically), and a symbolic link never (src/cli/common/files.ts).
 */
export function writeVk(vk: Uint8Array, file: string, stdout: NodeJS.WritableStream, overwrite: boolean): string | undefined {
  if (file === STDOUT_FILE) {
    stdout.write(formatEnvelope(keyEnvelope(ENVELOPE_TYPES.kesVerificationKey, vk)));
    return undefined;
  }
  const outcome = writeKesVerificationKeyFile(file, vk, { overwrite });
  return outcome === 'unchanged' ? `KES VerKey in ${file} unchanged (it already held this key)` : `KES VerKey written to ${file}`;
}

const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
};
const pad = (n: bigint, w: number): string => n.toString().padStart(w, '0');

/**
 * Haskell's `show` of a UTCTime with whole seconds: "2026-07-30 12:34:56 UTC" (proleptic
 * Gregorian with a year 0, year padded to 4 digits). Any Int64, no Date range limit.
 */
export function showUtcTime(seconds: bigint): string {
  const days = floorDiv(seconds, 86400n);
  const secs = seconds - days * 86400n;
  // Howard Hinnant's civil_from_days.
  const z = days + 719468n;
  const era = floorDiv(z, 146097n);
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
  const year = y < 0n ? `-${pad(-y, 4)}` : pad(y, 4);
  return `${year}-${pad(m, 2)}-${pad(d, 2)} ${pad(secs / 3600n, 2)}:${pad((secs / 60n) % 60n, 2)}:${pad(secs % 60n, 2)} UTC`;
}

/** The agent's own text (program version, bootstrap address) with control characters shown as '?'. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export interface Paint {
  bold(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

/** Haskell's ColoredOutput escapes (ColorsAuto: only on a terminal). */
export const ANSI: Paint = {
  bold: (s) => `\u001b[0m\u001b[1m${s}\u001b[0m`,
  red: (s) => `\u001b[31m${s}\u001b[0m`,
  green: (s) => `\u001b[32m${s}\u001b[0m`,
  yellow: (s) => `\u001b[33m${s}\u001b[0m`,
};
export const PLAIN: Paint = { bold: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s };

/**
 * `runGetInfo`'s output for `info`, decoded from `version`'s AgentInfo. One difference: a
 * deleted key's `{KEY DELETED}` ends its line (Haskell prints no newline after it).
 */
export function renderInfo(info: DecodedAgentInfo, version: ControlVersion, socketPath: string, paint: Paint): string {
  const v3 = version === 3;
  const lines: string[] = [
    paint.bold('--- Agent ---'),
    `Agent version: ${v3 ? printable(info.programVersion) : '<unknown>'}`,
    `Connected via: ${socketPath}`,
    `Current time: ${showUtcTime(info.currentTimeS)}`,
    `Current KES period: ${info.currentKesPeriod}`,
    `Current KES period started: ${v3 ? showUtcTime(info.periodStartS) : '<unknown>'}`,
    `Next KES period starts: ${v3 ? showUtcTime(info.periodEndS) : '<unknown>'}`,
  ];
  const installed = info.installed;
  if (installed !== undefined) {
    lines.push(paint.bold('--- Installed KES SignKey ---'));
    lines.push(`Timestamp: ${installed.timestampS === undefined ? 'n/a' : showUtcTime(installed.timestampS)}`);
    const b = installed.bundle;
    if (b === undefined) {
      lines.push(paint.red('{KEY DELETED}'));
    } else {
      lines.push(
        `VerKey: ${toHex(b.vk)}`,
        `Valid from period: ${b.startKesPeriod}`,
        `Current evolution: ${b.evolution} / ${KES_TOTAL_PERIODS}`,
        `OpCert number: ${b.ocertCounter}`,
        `OpCert signature: ${toHex(b.sigma)}`,
      );
    }
  }
  if (info.stagedVk !== undefined) {
    lines.push(paint.bold('--- Staged KES SignKey ---'), `VerKey: ${toHex(info.stagedVk)}`);
  }
  if (info.bootstrap.length > 0) {
    lines.push(paint.bold('--- Bootstrap Peers ---'));
    for (const peer of info.bootstrap) {
      const [colour, label] =
        peer.status === 'ConnectionUp' ? [paint.green, 'up']
        : peer.status === 'ConnectionConnecting' ? [paint.yellow, 'connecting...']
        : [paint.red, 'down'];
      lines.push(colour(`${printable(peer.address).padStart(30)}: ${label}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** "Control:1.0" etc., for messages. */
export function controlName(v: ControlVersion): string {
  return CONTROL_VERSION_IDS[v];
}
