/**
 * Which value a setting takes, and from which source: flags > environment > config file >
 * defaults.
 *
 * Each source is complete on its own and a higher one replaces a lower one's value outright
 * (lists are not merged), except a `union` setting, joined across sources. Defaults are applied
 * last and only where nobody set a value: the Haskell agent merges its defaults in before its
 * /etc file, so socket paths and the log level in that file are silently ignored
 * (docs/haskell-protocol.md §10, "precedence bug").
 */
import { KesError } from '../errors';
import { flagShown, type Given } from './given-values';
import { SETTINGS, type SettingName, type SettingValues } from './settings';
import { quoteValue, type FlagValue, type ValueKind } from './value-kinds';

export type Source = 'flag' | 'env' | 'file' | 'default';

/** What every source gives for one setting. */
export interface GivenEverywhere {
  readonly flags: readonly Given[];
  readonly env: readonly Given[];
  /** `undefined`: the file does not set it. */
  readonly file: unknown;
  /** The old key the file gives it under, if not the setting's own. */
  readonly fileKey: string | undefined;
}

/** Every setting's value and where it came from. */
export interface Choices {
  /** `undefined`: an optional setting set nowhere. */
  readonly values: SettingValues;
  readonly sources: Readonly<Record<SettingName, Source>>;
  /** The flag or variable a value was given under, or the file's old key for it. */
  readonly via: Readonly<Partial<Record<SettingName, string>>>;
}

export interface Chosen {
  readonly value: unknown;
  readonly source: Source;
  /** The flag or variable it was given under, or the file's old key. */
  readonly via: string | undefined;
}

/**
 * @throws KesError SETTING_INVALID (two flags for it with different values), CONFIG_INVALID
 *   (two variables with different values).
 */
export function chooseValue(name: SettingName, given: GivenEverywhere, env: NodeJS.ProcessEnv): Chosen {
  const spec = SETTINGS[name];
  if (spec.union === true) return joinSources(name, given, env);
  const fromFlag = oneOf(name, given.flags, 'SETTING_INVALID');
  const fromEnv = oneOf(name, given.env, 'CONFIG_INVALID');
  if (fromFlag !== undefined) return { value: fromFlag.value, source: 'flag', via: fromFlag.name };
  if (fromEnv !== undefined) return { value: fromEnv.value, source: 'env', via: fromEnv.name };
  if (given.file !== undefined) return { value: given.file, source: 'file', via: given.fileKey };
  return { value: spec.fallback(env), source: 'default', via: undefined };
}

/** Every source adds to the set (Haskell `Set` semigroup); the source shown is the highest that gave any. */
function joinSources(name: SettingName, given: GivenEverywhere, env: NodeJS.ProcessEnv): Chosen {
  const all = [...given.flags, ...given.env].map((g) => g.value as readonly string[]);
  if (given.file !== undefined) all.push(given.file as readonly string[]);
  const value = Object.freeze([...new Set(all.flat())]);
  const [flag] = given.flags;
  const [variable] = given.env;
  if (flag !== undefined) return { value, source: 'flag', via: flag.name };
  if (variable !== undefined) return { value, source: 'env', via: variable.name };
  if (given.file !== undefined) return { value, source: 'file', via: given.fileKey };
  return { value: SETTINGS[name].fallback(env), source: 'default', via: undefined };
}

/**
 * The one value given at a level under a setting's names. Two names with the same value are
 * fine; different values are an error naming both.
 */
function oneOf(name: SettingName, given: readonly Given[], code: 'SETTING_INVALID' | 'CONFIG_INVALID'): Given | undefined {
  const [first, second] = given;
  const kind = SETTINGS[name].kind as ValueKind<unknown>;
  if (first !== undefined && second !== undefined && !kind.equal(first.value, second.value)) {
    const shown = (g: Given): string => `${g.name} ${quoteValue(flagShown(g.value as FlagValue))}`;
    const level = code === 'SETTING_INVALID' ? 'flags' : 'environment variables';
    throw new KesError(code, `${shown(first)} and ${shown(second)} are two ${level} for the same setting ${SETTINGS[name].toml} with different values: give only one`);
  }
  return first;
}
