/**
 * The effective settings: flags > environment > config file > defaults, per setting, each value
 * with the source it came from.
 *
 * Each source is complete on its own and a higher one replaces a lower one's value outright
 * (lists are not merged). Defaults are applied last and only where nobody set a value: the
 * Haskell agent merges its defaults in before its /etc file, so socket paths and the log level
 * in that file are silently ignored (docs/haskell-protocol.md §10, "precedence bug").
 */
import * as path from 'node:path';
import { KesError } from '../errors';
import { isMissingFile, readConfigFile, type FileValues } from './config-file';
import { SETTINGS, SETTING_NAMES, type AgentSettings, type SettingName, type SettingValues } from './settings';
import { quoteValue, type FlagValue } from './value-kinds';

export type Source = 'flag' | 'env' | 'file' | 'default';

export const CONFIG_FLAG = '--config';
/** The Haskell agent's name for --config (it has `--config` too), with its one-letter form. */
export const HASKELL_CONFIG_FLAG = '--config-file';
export const HASKELL_CONFIG_SHORT = '-F';
export const CONFIG_ENV = 'KES_AGENT_CONFIG';
/**
 * Where an operator looks first, and where the Haskell agent's packages install theirs
 * (`/etc/kes-agent/agent.toml`, docs/haskell-protocol.md §10). It is read only if it exists: a host
 * without one runs on flags and defaults. One fixed file rather than a search list ($HOME,
 * ~/.config, /etc): under systemd the service user's home means little, and with one file
 * check-config can say exactly which file was read.
 */
export const DEFAULT_CONFIG_PATH = '/etc/kes-agent/agent.toml';

export interface ConfigFileRef {
  readonly path: string;
  readonly source: Exclude<Source, 'file'>;
  /** The flag or variable that named it (`--config`, `--config-file`, `KES_AGENT_CONFIG`), or `default`. */
  readonly from: string;
  /** False only for the default path when no file is there. */
  readonly read: boolean;
}

export interface ConfigInput {
  /** Flag values as parsed from the command line; `undefined` or `''` = not given. */
  readonly flags: Partial<Record<SettingName, FlagValue | undefined>>;
  /**
   * Values of the Haskell agent's flags (settings.ts `haskell.flag`); `undefined` = not given,
   * `''` = not given unless the setting has `emptyDisables` (`-c ""`).
   */
  readonly haskellFlags?: Partial<Record<SettingName, FlagValue | undefined>>;
  /** `--config`. */
  readonly configFlag?: string | undefined;
  /** `-F`/`--config-file`, the Haskell agent's name for it. */
  readonly haskellConfigFlag?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** @default DEFAULT_CONFIG_PATH (tests point it elsewhere) */
  readonly defaultConfigPath?: string;
}

export interface ResolvedConfig {
  readonly file: ConfigFileRef;
  readonly settings: AgentSettings;
  /** Every setting's value as resolved (`undefined`: an optional setting set nowhere). */
  readonly values: SettingValues;
  readonly sources: Readonly<Record<SettingName, Source>>;
  /** The name a value was given under when it is not the setting's own (a Haskell flag or variable, an old TOML key). */
  readonly via: Readonly<Partial<Record<SettingName, string>>>;
}

/** One name a setting can be given under at one level, and what was given there. */
interface Given {
  readonly name: string;
  readonly value: unknown;
}

/**
 * Resolve every setting.
 * @throws KesError SETTING_INVALID (a bad flag, a required setting set nowhere, conflicting
 *   settings when a flag is involved), CONFIG_INVALID (a bad env value or file content,
 *   conflicting settings from env/file), FILE_UNREADABLE / FILE_TOO_LARGE (the config file).
 */
export function resolveConfig(input: ConfigInput): ResolvedConfig {
  const located = locateConfigFile(input);
  const { values: fileValues, aliases: fileAliases, read } = readFileValues(located);
  const file: ConfigFileRef = { ...located, read };
  const values: Record<string, unknown> = {};
  const sources = {} as Record<SettingName, Source>;

  const via: Partial<Record<SettingName, string>> = {};
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    const kind = spec.kind as { fromFlag(v: FlagValue): unknown; fromText(t: string): unknown; rejection(raw: unknown): string; equal(a: unknown, b: unknown): boolean };
    // Every value given anywhere must be valid, even one a higher source overrides: a broken
    // env file should not wait until someone removes a flag to be noticed.
    const flagNames: [string, FlagValue | undefined, boolean][] = [[spec.flag, input.flags[name], false]];
    if (spec.haskell?.flag !== undefined) flagNames.push([spec.haskell.flag, input.haskellFlags?.[name], spec.emptyDisables === true]);
    const flagsGiven: Given[] = [];
    for (const [flag, raw, emptyCounts] of flagNames) {
      if (!isGiven(raw) && !(emptyCounts && raw === '')) continue;
      const value = kind.fromFlag(raw!);
      if (value === undefined) throw new KesError('SETTING_INVALID', `${flag}: ${kind.rejection(flagShown(raw!))}`);
      flagsGiven.push({ name: flag, value });
    }
    const envNames: [string, boolean][] = [[spec.env, false], ...(spec.envAliases ?? []).map((v): [string, boolean] => [v, false])];
    if (spec.haskell?.env !== undefined) envNames.push([spec.haskell.env, spec.emptyDisables === true]);
    const envGiven: Given[] = [];
    for (const [variable, emptyCounts] of envNames) {
      const raw = input.env[variable];
      if (raw === undefined || (raw === '' && !emptyCounts)) continue;
      const value = kind.fromText(raw);
      if (value === undefined) throw new KesError('CONFIG_INVALID', `environment variable ${variable}: ${kind.rejection(raw)}`);
      envGiven.push({ name: variable, value });
    }
    const fromFile = fileValues[name];
    if (spec.union === true) {
      // Every source adds to the set (Haskell `Set` semigroup); the source shown is the highest that gave any.
      const all = [...flagsGiven, ...envGiven].map((g) => g.value as readonly string[]);
      if (fromFile !== undefined) all.push(fromFile as readonly string[]);
      const joined = Object.freeze([...new Set(all.flat())]);
      const top = flagsGiven[0] !== undefined ? (['flag', flagsGiven[0].name] as const) : envGiven[0] !== undefined ? (['env', envGiven[0].name] as const) : fromFile !== undefined ? (['file', fileAliases[name]] as const) : undefined;
      if (top === undefined) set(name, spec.fallback(input.env), 'default');
      else set(name, joined, top[0], top[1]);
      continue;
    }
    const fromFlag = oneOf(name, flagsGiven, 'SETTING_INVALID', (a, b) => kind.equal(a, b));
    const fromEnv = oneOf(name, envGiven, 'CONFIG_INVALID', (a, b) => kind.equal(a, b));
    if (fromFlag !== undefined) set(name, fromFlag.value, 'flag', fromFlag.name);
    else if (fromEnv !== undefined) set(name, fromEnv.value, 'env', fromEnv.name);
    else if (fromFile !== undefined) set(name, fromFile, 'file', fileAliases[name]);
    else set(name, spec.fallback(input.env), 'default');
  }

  function set(name: SettingName, value: unknown, source: Source, givenAs?: string): void {
    values[name] = value;
    sources[name] = source;
    if (givenAs !== undefined) via[name] = givenAs;
    else delete via[name];
  }

  const v = values as SettingValues;
  const where = (name: SettingName): string => describeSource(name, sources[name], file, via[name]);
  if (v.coldVkey === undefined) {
    throw new KesError(
      'SETTING_INVALID',
      `cold-vkey is not set: pass ${SETTINGS.coldVkey.flag} FILE, set ${SETTINGS.coldVkey.env}, or set cold-vkey in ${file.path}`,
    );
  }
  if (v.genesis !== undefined) {
    if (sources.network !== 'default') {
      throw conflict(['network', 'genesis'], sources, `${SETTINGS.network.toml} (${where('network')}) and ${SETTINGS.genesis.toml} (${where('genesis')}) are mutually exclusive: set only one`);
    }
    set('network', undefined, 'default');
  }
  // Empty: no control socket (the Haskell agent's `-c ""`).
  const control = v.controlSocket === '' ? null : v.controlSocket!;
  const service = v.serviceSocket!;
  if (control !== null && path.resolve(control) === path.resolve(service)) {
    throw conflict(
      ['controlSocket', 'serviceSocket'],
      sources,
      `${SETTINGS.controlSocket.toml} (${where('controlSocket')}) and ${SETTINGS.serviceSocket.toml} (${where('serviceSocket')}) are the same path ${control}: the control and service sockets must be different paths`,
    );
  }

  const settings: AgentSettings = {
    coldVkey: v.coldVkey,
    network: v.network,
    genesis: v.genesis,
    controlSocket: control,
    serviceSocket: service,
    logLevel: v.logLevel!,
    logFormat: v.logFormat!,
    allowUnlockedMemory: v.allowUnlockedMemory!,
    controlAccess: { uids: v.controlUids!, gids: [] },
    serviceAccess: { uids: v.serviceUids!, gids: v.serviceGids! },
    bootstrapPaths: v.bootstrapPaths ?? [],
    metrics: v.metrics,
  };
  return { file, settings, values: v, sources, via };
}

/**
 * The one value given at a level under a setting's names. Two names with the same value are
 * fine; different values are an error naming both.
 */
function oneOf(name: SettingName, given: readonly Given[], code: 'SETTING_INVALID' | 'CONFIG_INVALID', equal: (a: unknown, b: unknown) => boolean): Given | undefined {
  const [first, second] = given;
  if (first !== undefined && second !== undefined && !equal(first.value, second.value)) {
    const shown = (g: Given): string => `${g.name} ${quoteValue(flagShown(g.value as FlagValue))}`;
    const level = code === 'SETTING_INVALID' ? 'flags' : 'environment variables';
    throw new KesError(code, `${shown(first)} and ${shown(second)} are two ${level} for the same setting ${SETTINGS[name].toml} with different values: give only one`);
  }
  return first;
}

/** `--config` > KES_AGENT_CONFIG > the default path; an empty value counts as not given. */
export function locateConfigFile(input: Pick<ConfigInput, 'configFlag' | 'haskellConfigFlag' | 'env' | 'defaultConfigPath'>): Omit<ConfigFileRef, 'read'> {
  const ours = input.configFlag !== undefined && input.configFlag !== '' ? input.configFlag : undefined;
  const haskell = input.haskellConfigFlag !== undefined && input.haskellConfigFlag !== '' ? input.haskellConfigFlag : undefined;
  if (ours !== undefined && haskell !== undefined && ours !== haskell) {
    throw new KesError('SETTING_INVALID', `${CONFIG_FLAG} ${quoteValue(ours)} and ${HASKELL_CONFIG_FLAG} ${quoteValue(haskell)} name different config files: give only one`);
  }
  if (ours !== undefined) return { path: ours, source: 'flag', from: CONFIG_FLAG };
  if (haskell !== undefined) return { path: haskell, source: 'flag', from: HASKELL_CONFIG_FLAG };
  const fromEnv = input.env[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, source: 'env', from: CONFIG_ENV };
  return { path: input.defaultConfigPath ?? DEFAULT_CONFIG_PATH, source: 'default', from: 'default' };
}

/** A file named by --config or the env var must exist; the default one may be absent. */
function readFileValues(file: Omit<ConfigFileRef, 'read'>): { values: FileValues; aliases: Partial<Record<SettingName, string>>; read: boolean } {
  try {
    const contents = readConfigFile(file.path);
    return { values: contents.values, aliases: contents.aliases, read: true };
  } catch (e) {
    if (file.source === 'default' && isMissingFile(e)) return { values: {}, aliases: {}, read: false };
    if (isMissingFile(e)) {
      throw new KesError('FILE_UNREADABLE', `config file ${file.path} (from ${file.from}): no such file`, { cause: e });
    }
    throw e;
  }
}

function isGiven(v: FlagValue | undefined): v is FlagValue {
  if (v === undefined || v === '') return false;
  return !(Array.isArray(v) && v.length === 0);
}

function flagShown(v: FlagValue): unknown {
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * "--log-level", "KES_AGENT_LOG_LEVEL", "config file /etc/kes-agent/agent.toml" or "default".
 * `via`: the flag or variable name the value was given under (an alias), if not our own.
 */
export function describeSource(name: SettingName, source: Source, file: Pick<ConfigFileRef, 'path'>, via?: string): string {
  const spec = SETTINGS[name];
  switch (source) {
    case 'flag':
      return via ?? spec.flag;
    case 'env':
      return via ?? spec.env;
    case 'file':
      // An old key name still works; saying so lets the operator move to the new one.
      return via === undefined ? `config file ${file.path}` : `config file ${file.path} (as ${via}, the old name of ${spec.toml})`;
    case 'default':
      return 'default';
  }
}

/** A conflict is a command-line mistake if a flag is part of it, else the file's or env's. */
function conflict(names: SettingName[], sources: Readonly<Record<SettingName, Source>>, message: string): KesError {
  return new KesError(names.some((n) => sources[n] === 'flag') ? 'SETTING_INVALID' : 'CONFIG_INVALID', message);
}
