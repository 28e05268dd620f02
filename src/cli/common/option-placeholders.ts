/**
 * The word shown for an option's value in `--help` and in usage lines (`--timeout MS`, as the
 * README writes them). clipanion 3.2.1 has no way to name an option's value and prints `#0`, so
 * its usage text is rewritten here, for every bin at once.
 */

/** Options whose value is not a file or a socket path (those are recognised by their name). */
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  '--timeout': 'MS',
  '--retry-interval': 'MS',
  '--retry-delay': 'MS',
  '--retry-attempts': 'N',
  '--kes-period': 'N',
  '--warn-periods': 'N',
  '--peer-down-after': 'S',
  // Any integer, as the Haskell tool reads it: below 1 is quiet.
  '--verbose': 'INT',
  '--network': 'NAME',
  '--log-level': 'LEVEL',
  '--log-format': 'FORMAT',
  '--agent-uid': 'UID|USER',
  '--control-uid': 'UID',
  '--service-uid': 'UID',
  '--service-gid': 'GID',
  '--bootstrap': 'PATH',
  '--bootstrap-address': 'PATH',
};

/** FILE for files, PATH for sockets, else what PLACEHOLDERS says, else VALUE. */
export function placeholderFor(names: readonly string[]): string {
  for (const name of names) {
    const known = PLACEHOLDERS[name];
    if (known !== undefined) return known;
  }
  const long = names.find((n) => n.startsWith('--')) ?? names[0] ?? '';
  if (/(socket|address|path)$/.test(long)) return 'PATH';
  if (/(file|vkey|skey|key|counter|out|message|config|genesis)$/.test(long)) return 'FILE';
  return 'VALUE';
}

/** `--a,-b #0` in clipanion's usage text: an option (all its names) that takes a value. */
export const OPTION_WITH_ARG = /((?:--?[A-Za-z0-9][A-Za-z0-9-]*)(?:,--?[A-Za-z0-9][A-Za-z0-9-]*)*) #0/g;

/** `--a,-b #0` → `--a,-b <PLACEHOLDER>` in any usage text. */
export function withPlaceholders(text: string): string {
  const named = text.replace(OPTION_WITH_ARG, (_m, names: string) => `${names} ${placeholderFor(names.split(','))}`);
  return named === text ? text : realignOptions(named);
}

/** clipanion pads each option's definition to the longest, then 4 spaces, then its description. */
const OPTION_ROW = /^ {2}(-\S*(?: [A-Z|]+)?) +(\S.*)$/;
const DESCRIPTION_GAP = 4;

/** The `Options` block of a command's --help, padded again now that the definitions changed length. */
function realignOptions(text: string): string {
  const lines = text.split('\n');
  const rows = lines.map((l) => OPTION_ROW.exec(l));
  const width = Math.max(0, ...rows.map((m) => (m === null ? 0 : m[1]!.length)));
  return lines.map((l, i) => {
    const m = rows[i];
    return m === null || m === undefined ? l : `  ${m[1]!.padEnd(width)}${' '.repeat(DESCRIPTION_GAP)}${m[2]!}`;
  }).join('\n');
}
