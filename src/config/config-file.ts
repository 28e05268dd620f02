/**
 * Reading the agent's TOML config file into setting values.
 *
 * Strict where the Haskell agent is lax (haskell-kes-agent.md §1.5: tomland ignores unknown
 * keys): a misspelt key would otherwise be silently ignored and the agent would run with a
 * default the operator meant to change, so an unknown key is an error naming it and the file.
 */
import * as path from 'node:path';
import { readFileBounded } from '../cardano/file-io';
import { KesError, isKesError } from '../errors';
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
}

const BY_TOML_KEY: ReadonlyMap<string, SettingName> = new Map(SETTING_NAMES.map((n) => [SETTINGS[n].toml, n]));

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
  for (const [key, raw] of Object.entries(table)) {
    const name = BY_TOML_KEY.get(key);
    if (name === undefined) {
      const haskell = HASKELL_ONLY_KEYS[key];
      const why = haskell !== undefined ? `a Haskell kes-agent setting this agent does not have: ${haskell}` : `known keys: ${SETTING_NAMES.map((n) => SETTINGS[n].toml).join(', ')}`;
      throw invalid(file, `unknown key ${JSON.stringify(key)} (${why})`);
    }
    const kind = SETTINGS[name].kind as { fromToml(v: unknown, baseDir: string): unknown; rejection(raw: unknown): string };
    const value = kind.fromToml(raw, baseDir);
    if (value === undefined) throw invalid(file, `key ${key}: ${kind.rejection(raw)}`);
    values[name] = value;
  }
  return { path: file, values: values as FileValues };
}

/** True for the error readFileBounded throws when the file does not exist. */
export function isMissingFile(e: unknown): boolean {
  if (!isKesError(e, 'FILE_UNREADABLE')) return false;
  const cause = e.cause as NodeJS.ErrnoException | undefined;
  return cause?.code === 'ENOENT';
}
