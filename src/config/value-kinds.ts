/**
 * The kinds of value a setting can hold, and how each is read from the three places settings
 * come from: a command-line flag, an environment variable (both text), and the TOML file.
 *
 * A reader returns `undefined` for a value it does not accept; the caller names the place
 * (flag, variable or file key) and this kind's `expected` text in the error.
 */
import * as path from 'node:path';

/** A flag as clipanion hands it over: a string, a repeated option's strings, or a boolean switch. */
export type FlagValue = string | readonly string[] | boolean;

/** Largest uid/gid: (uid_t)-1 = 4294967295 means "no id" to the kernel, so it is not a valid entry. */
export const MAX_UNIX_ID = 4_294_967_294;
/** Entries in one uid or gid list; a longer list is a mistake, not a policy. */
export const MAX_IDS_PER_LIST = 64;

export interface ValueKind<T> {
  /** Column "type" of the settings table. */
  readonly type: string;
  /** Completes "expected ..." in error messages. */
  readonly expected: string;
  fromText(text: string): T | undefined;
  fromFlag(value: FlagValue): T | undefined;
  /** `baseDir` is the config file's directory: relative paths in the file are relative to it. */
  fromToml(value: unknown, baseDir: string): T | undefined;
  /** Why `raw` was refused, after "<where>: ". */
  rejection(raw: unknown): string;
  /** For `check-config` text output. */
  show(value: T): string;
  /** For `check-config --json` and log fields. */
  json(value: T): string | boolean | readonly number[] | readonly string[];
  equal(a: T, b: T): boolean;
}

function textFlag<T>(fromText: (t: string) => T | undefined): (v: FlagValue) => T | undefined {
  return (v) => (typeof v === 'string' ? fromText(v) : undefined);
}

const same = <T>(a: T, b: T): boolean => a === b;

function expectedGot(expected: string): (raw: unknown) => string {
  return (raw) => `expected ${expected}, got ${quoteValue(raw)}`;
}

/**
 * A file path. Paths in the config file are resolved against the file's directory, so
 * `cold-vkey = "cold.vkey"` next to `/etc/kes-agent/agent.toml` means the same file whatever the
 * agent's working directory (systemd starts services in `/`); flag and env values are relative to
 * the working directory, as on any command line.
 */
export const PATH_KIND: ValueKind<string> = {
  type: 'path',
  expected: 'a non-empty path string',
  fromText: (t) => (t !== '' && !t.includes('\0') ? t : undefined),
  fromFlag: textFlag((t) => PATH_KIND.fromText(t)),
  rejection: expectedGot('a non-empty path string'),
  fromToml: (v, baseDir) => (typeof v === 'string' && PATH_KIND.fromText(v) !== undefined ? path.resolve(baseDir, v) : undefined),
  show: (v) => v,
  json: (v) => v,
  equal: same,
};

/**
 * A path that may be empty, meaning "none" (the control socket: empty disables it). Whether an
 * empty value counts as given at all is the caller's business (settings.ts `emptyDisables`).
 */
export const OPTIONAL_PATH_KIND: ValueKind<string> = {
  ...PATH_KIND,
  expected: 'a path string (empty: none)',
  fromText: (t) => (t === '' ? '' : PATH_KIND.fromText(t)),
  fromFlag: textFlag((t) => OPTIONAL_PATH_KIND.fromText(t)),
  rejection: expectedGot('a path string (empty: none)'),
  fromToml: (v, baseDir) => (v === '' ? '' : PATH_KIND.fromToml(v, baseDir)),
  show: (v) => (v === '' ? '(disabled)' : v),
};

/**
 * `noun` words the refusal: `unknown network "testnet"; expected one of mainnet, preprod, preview`.
 * `aliases` are other names accepted for a choice (the Haskell agent's log levels).
 */
export function choiceKind<C extends string>(choices: readonly C[], noun: string, aliases: Readonly<Record<string, C>> = {}): ValueKind<C> {
  const pick = (t: unknown): C | undefined =>
    typeof t !== 'string' ? undefined : (choices.find((c) => c === t) ?? (Object.hasOwn(aliases, t) ? aliases[t] : undefined));
  const aliasNames = Object.keys(aliases);
  const expected = `one of ${choices.join(', ')}${aliasNames.length > 0 ? ` (or ${aliasNames.join(', ')})` : ''}`;
  return {
    type: choices.join('|'),
    expected,
    fromText: pick,
    fromFlag: textFlag(pick),
    rejection: (raw) => (typeof raw === 'string' ? `unknown ${noun} ${quoteValue(raw)}; expected ${expected}` : `expected ${expected}, got ${quoteValue(raw)}`),
    fromToml: pick,
    show: (v) => v,
    json: (v) => v,
    equal: same,
  };
}

const TRUE_TEXT = ['true', '1'];
const FALSE_TEXT = ['false', '0'];

/** In text (env files) `1`/`0` are accepted too, because systemd env files commonly use them. */
export const BOOL_KIND: ValueKind<boolean> = {
  type: 'boolean',
  expected: 'true or false',
  fromText: (t) => (TRUE_TEXT.includes(t) ? true : FALSE_TEXT.includes(t) ? false : undefined),
  fromFlag: (v) => (typeof v === 'boolean' ? v : typeof v === 'string' ? BOOL_KIND.fromText(v) : undefined),
  fromToml: (v) => (typeof v === 'boolean' ? v : undefined),
  rejection: expectedGot('true or false'),
  show: (v) => String(v),
  json: (v) => v,
  equal: same,
};

function idFromText(t: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= MAX_UNIX_ID ? n : undefined;
}

function idList(ids: (number | undefined)[]): readonly number[] | undefined {
  if (ids.length > MAX_IDS_PER_LIST || ids.some((i) => i === undefined)) return undefined;
  return Object.freeze(ids as number[]);
}

/**
 * A list of uids or gids. Text is comma separated (`1001,1002`); a repeated flag adds its values
 * (`--service-uid 1001 --service-uid 1002`, each may itself be a comma list). In the file an
 * array of integers; TOML floats (`1001.0`) are refused (smol-toml gives integers as bigint).
 */
export const ID_LIST_KIND: ValueKind<readonly number[]> = {
  type: 'integer list',
  expected: `a list of uids/gids (integers 0..${MAX_UNIX_ID}, at most ${MAX_IDS_PER_LIST}; comma separated in flags and env)`,
  fromText: (t) => idList(t.split(',').map((s) => idFromText(s.trim()))),
  rejection: (raw) => `expected ${ID_LIST_KIND.expected}, got ${quoteValue(raw)}`,
  fromFlag: (v) => {
    if (typeof v === 'boolean') return undefined;
    const parts = typeof v === 'string' ? [v] : v;
    return ID_LIST_KIND.fromText(parts.join(','));
  },
  fromToml: (v) => {
    if (!Array.isArray(v)) return undefined;
    return idList(v.map((x: unknown) => (typeof x === 'bigint' && x >= 0n && x <= BigInt(MAX_UNIX_ID) ? Number(x) : undefined)));
  },
  show: (v) => (v.length === 0 ? '(none)' : v.join(',')),
  json: (v) => v,
  equal: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]),
};

/** How a rejected value is quoted in an error: short, escaped, and typed for non-strings. */
export const MAX_QUOTED_VALUE_CHARS = 60;

export function quoteValue(v: unknown): string {
  if (typeof v === 'string') {
    const s = v.length > MAX_QUOTED_VALUE_CHARS ? `${v.slice(0, MAX_QUOTED_VALUE_CHARS)}…` : v;
    return JSON.stringify(s);
  }
  if (typeof v === 'bigint') return `integer ${v.toString()}`;
  if (typeof v === 'number') return `float ${v}`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  if (Array.isArray(v)) return `[${v.map(quoteValue).join(', ')}]`.slice(0, MAX_QUOTED_VALUE_CHARS);
  if (v instanceof Date) return 'a date';
  if (v !== null && typeof v === 'object') return 'a table';
  return String(v);
}

/** Paths in one path list (bootstrap peers); more is a mistake, not a policy. @default 16 */
export const MAX_PATHS_PER_LIST = 16;

function pathList(paths: readonly (string | undefined)[]): readonly string[] | undefined {
  if (paths.length > MAX_PATHS_PER_LIST || paths.some((p) => p === undefined)) return undefined;
  return Object.freeze([...new Set(paths as string[])]);
}

/**
 * A list of paths (bootstrap peers). Text is `:`-separated, as the Haskell agent's
 * KES_AGENT_BOOTSTRAP_PATHS (github.com/input-output-hk/kes-agent cli/AgentMain.hs), empty entries skipped; a repeated flag
 * adds one path each; in the file an array of strings, relative to the file's directory.
 */
export const PATH_LIST_KIND: ValueKind<readonly string[]> = {
  type: 'path list',
  expected: `a list of paths (at most ${MAX_PATHS_PER_LIST}; ':'-separated in the environment, the flag repeated)`,
  fromText: (t) => pathList(t.split(':').filter((p) => p !== '').map((p) => PATH_KIND.fromText(p))),
  rejection: (raw) => `expected ${PATH_LIST_KIND.expected}, got ${quoteValue(raw)}`,
  fromFlag: (v) => {
    if (typeof v === 'boolean') return undefined;
    return pathList((typeof v === 'string' ? [v] : v).map((p) => PATH_KIND.fromText(p)));
  },
  fromToml: (v, baseDir) => (Array.isArray(v) ? pathList(v.map((x: unknown) => PATH_KIND.fromToml(x, baseDir))) : undefined),
  show: (v) => (v.length === 0 ? '(none)' : v.join(':')),
  json: (v) => v,
  equal: (a, b) => a.length === b.length && a.every((x) => b.includes(x)),
};
