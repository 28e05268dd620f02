/**
 * What the command line and the environment give for one setting, under each of its names (ours,
 * the old ones, the Haskell agent's), each value read and checked by the setting's kind. The
 * config file, the third source, is read by config-file.ts.
 */
import { KesError } from '../errors';
import { SETTINGS, type SettingName } from './settings';
import type { FlagValue, ValueKind } from './value-kinds';

/** One name a setting can be given under at one level, and what was given there. */
export interface Given {
  readonly name: string;
  readonly value: unknown;
}

/**
 * The setting's own flag, then the Haskell agent's, where given. Empty is "not given", except
 * from the Haskell flag of a setting with `emptyDisables` (`-c ""`).
 * @throws KesError SETTING_INVALID naming the flag, for a value its kind refuses.
 */
export function givenByFlags(
  name: SettingName,
  flags: Partial<Record<SettingName, FlagValue | undefined>>,
  haskellFlags: Partial<Record<SettingName, FlagValue | undefined>> | undefined,
): Given[] {
  const spec = SETTINGS[name];
  const kind = spec.kind as ValueKind<unknown>;
  const names: [string, FlagValue | undefined, boolean][] = [[spec.flag, flags[name], false]];
  if (spec.haskell?.flag !== undefined) names.push([spec.haskell.flag, haskellFlags?.[name], spec.emptyDisables === true]);
  const given: Given[] = [];
  for (const [flag, raw, emptyCounts] of names) {
    if (!isGiven(raw) && !(emptyCounts && raw === '')) continue;
    const value = kind.fromFlag(raw!);
    if (value === undefined) throw new KesError('SETTING_INVALID', `${flag}: ${kind.rejection(flagShown(raw!))}`);
    given.push({ name: flag, value });
  }
  return given;
}

/**
 * The setting's own variable, its old names, then the Haskell agent's, where set. Empty is "not
 * set", except for the Haskell variable of a setting with `emptyDisables`.
 * @throws KesError CONFIG_INVALID naming the variable, for a value its kind refuses.
 */
export function givenByEnv(name: SettingName, env: NodeJS.ProcessEnv): Given[] {
  const spec = SETTINGS[name];
  const kind = spec.kind as ValueKind<unknown>;
  const names: [string, boolean][] = [[spec.env, false], ...(spec.envAliases ?? []).map((v): [string, boolean] => [v, false])];
  if (spec.haskell?.env !== undefined) names.push([spec.haskell.env, spec.emptyDisables === true]);
  const given: Given[] = [];
  for (const [variable, emptyCounts] of names) {
    const raw = env[variable];
    if (raw === undefined || (raw === '' && !emptyCounts)) continue;
    const value = kind.fromText(raw);
    if (value === undefined) throw new KesError('CONFIG_INVALID', `environment variable ${variable}: ${kind.rejection(raw)}`);
    given.push({ name: variable, value });
  }
  return given;
}

function isGiven(v: FlagValue | undefined): v is FlagValue {
  if (v === undefined || v === '') return false;
  return !(Array.isArray(v) && v.length === 0);
}

/** A flag value as an operator typed it: a repeated option's values comma-joined. */
export function flagShown(v: FlagValue): unknown {
  return Array.isArray(v) ? v.join(',') : v;
}
