/**
 * Reading the agent's TOML config file into setting values.
 *
 * Strict where the Haskell agent is lax (docs/haskell-protocol.md §10: tomland ignores unknown
 * keys): a misspelt key would otherwise be silently ignored and the agent would run with a
 * default the operator meant to change, so an unknown key is an error naming it and the file.
 */
import * as path from 'node:path';
import { readFileBounded } from '../cardano/file-io';
import { KesError, isKesError } from '../errors';
import { nearestName } from './nearest-name';
import { HASKELL_ONLY_KEYS, SETTINGS, SETTING_NAMES, type SettingName, type SettingValues } from './settings';
import { parseToml, TomlError } from './toml-parser';

/** A config file is a dozen lines; anything near this size is not one. */
export const MAX_CONFIG_FILE_BYTES = 64 * 1024;
/** TOML nesting allowed by the parser; our file is flat, so a little slack is plenty. */
export const MAX_CONFIG_DEPTH = 4;

export type FileValues = Partial<Record<SettingName, NonNullable<SettingValues[SettingName]>>>;

export interface ConfigFileContents {
  readonly path: string;
  /** The settings the file sets, paths already resolved against the file's directory. */
  readonly values: FileValues;
  /** The settings the file gives under an old name (`control-path`), with that name. */
  readonly aliases: Partial<Record<SettingName, string>>;
}

/** Every key a file may use: each setting's own key and its aliases. */
const BY_TOML_KEY: ReadonlyMap<string, SettingName> = new Map(
  SETTING_NAMES.flatMap((n) => [SETTINGS[n].toml, ...(SETTINGS[n].tomlAliases ?? [])].map((key) => [key, n] as const)),
);

function invalid(file: string, message: string): KesError {
  return new KesError('CONFIG_INVALID', `config file ${file}: ${message}`);
}

/**
 * Read and check one config file.
 * @throws KesError FILE_UNREADABLE (missing, directory, permissions), FILE_TOO_LARGE,
 *   CONFIG_INVALID (not UTF-8, not TOML, unknown key, wrong type).
 */
export function readConfigFile(file: string): ConfigFileContents {
  const bytes = readFileBounded(file, MAX_CONFIG_FILE_BYTES, 'a config file');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(file, 'is not valid UTF-8 text');
  }
  return parseConfigText(text, file);
}

/** Parse config text; `file` names it in errors and anchors its relative paths. */
export function parseConfigText(text: string, file: string): ConfigFileContents {
  let table: Record<string, unknown>;
  try {
    // Integers as bigint so that `1001.0` (a float) can be told apart from `1001`.
    table = parseToml(text, { integersAsBigInt: true, unsafeKeyBehaviour: 'throw', maxDepth: MAX_CONFIG_DEPTH });
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = (e.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
      throw invalid(file, `not valid TOML at line ${e.line}, column ${e.column}: ${reason}`);
    }
    throw invalid(file, 'not valid TOML');
  }
  const baseDir = path.dirname(path.resolve(file));
  const values: Record<string, unknown> = {};
  const aliases: Partial<Record<SettingName, string>> = {};
  const keyOf: Partial<Record<SettingName, string>> = {};
  for (const [key, raw] of Object.entries(table)) {
    const name = BY_TOML_KEY.get(key);
    if (name === undefined) throw invalid(file, unknownKey(key));
    const earlier = keyOf[name];
    if (earlier !== undefined) {
      throw invalid(file, `${JSON.stringify(earlier)} and ${JSON.stringify(key)} are two names for the same setting ${SETTINGS[name].toml}: keep only ${JSON.stringify(SETTINGS[name].toml)}`);
    }
    keyOf[name] = key;
    const kind = SETTINGS[name].kind as { fromToml(v: unknown, baseDir: string): unknown; rejection(raw: unknown): string };
    const value = kind.fromToml(raw, baseDir);
    if (value === undefined) throw invalid(file, `key ${key}: ${kind.rejection(raw)}`);
    values[name] = value;
    if (key !== SETTINGS[name].toml) aliases[name] = key;
  }
  return { path: file, values: values as FileValues, aliases };
}

/**
 * "unknown setting 'control-pth'; did you mean 'control-socket'?": the nearest key by edit
 * distance, named by the setting's own key even when the nearest is an alias. A Haskell-only key
 * says what to do instead; a key near nothing lists the known keys.
 */
function unknownKey(key: string): string {
  const haskell = HASKELL_ONLY_KEYS[key];
  if (haskell !== undefined) return `unknown setting '${key}' (a Haskell kes-agent setting this agent does not have: ${haskell})`;
  const near = nearestName(key, BY_TOML_KEY.keys());
  if (near !== undefined) return `unknown setting '${key}'; did you mean '${SETTINGS[BY_TOML_KEY.get(near)!].toml}'?`;
  return `unknown setting '${key}' (known: ${SETTING_NAMES.map((n) => SETTINGS[n].toml).join(', ')})`;
}

/** True for the error readFileBounded throws when the file does not exist. */
export function isMissingFile(e: unknown): boolean {
  if (!isKesError(e, 'FILE_UNREADABLE')) return false;
  const cause = e.cause as NodeJS.ErrnoException | undefined;
  return cause?.code === 'ENOENT';
}
