/**
 * The effective settings: flags > environment > config file > defaults, per setting, each value
 * with the source it came from.
 *
 * Each source is complete on its own and a higher one replaces a lower one's value outright
 * (lists are not merged). Defaults are applied last and only where nobody set a value: the
 * Haskell agent merges its defaults in before its /etc file, so socket paths and the log level
 * in that file are silently ignored (haskell-kes-agent.md §1.2, "precedence bug").
 */
import * as path from 'node:path';
import { KesError } from '../errors';
import { isMissingFile, readConfigFile, type FileValues } from './config-file';
import { SETTINGS, SETTING_NAMES, type AgentSettings, type SettingName, type SettingValues } from './settings';
import type { FlagValue } from './value-kinds';

export type Source = 'flag' | 'env' | 'file' | 'default';

export const CONFIG_FLAG = '--config';
export const CONFIG_ENV = 'KES_AGENT_CONFIG';
/**
 * Where an operator looks first, and where the Haskell agent's packages install theirs
 * (`/etc/kes-agent/agent.toml`, haskell-kes-agent.md §1.2). It is read only if it exists: a host
 * without one runs on flags and defaults. One fixed file rather than a search list ($HOME,
 * ~/.config, /etc): under systemd the service user's home means little, and with one file
 * check-config can say exactly which file was read.
 */
export const DEFAULT_CONFIG_PATH = '/etc/kes-agent/agent.toml';

export interface ConfigFileRef {
  readonly path: string;
  readonly source: Exclude<Source, 'file'>;
  /** False only for the default path when no file is there. */
  readonly read: boolean;
}

export interface ConfigInput {
  /** Flag values as parsed from the command line; `undefined` or `''` = not given. */
  readonly flags: Partial<Record<SettingName, FlagValue | undefined>>;
  /** `--config`. */
  readonly configFlag?: string | undefined;
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
}

/** haskell-kes-agent's cold-key variable; not ours, but worth naming when cold-vkey is missing. */
const HASKELL_COLD_VK_ENV = 'KES_AGENT_COLD_VK';

/**
 * Resolve every setting.
 * @throws KesError SETTING_INVALID (a bad flag, a required setting set nowhere, conflicting
 *   settings when a flag is involved), CONFIG_INVALID (a bad env value or file content,
 *   conflicting settings from env/file), FILE_UNREADABLE / FILE_TOO_LARGE (the config file).
 */
export function resolveConfig(input: ConfigInput): ResolvedConfig {
  const located = locateConfigFile(input);
  const { values: fileValues, read } = readFileValues(located);
  const file: ConfigFileRef = { ...located, read };
  const values: Record<string, unknown> = {};
  const sources = {} as Record<SettingName, Source>;

  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    const kind = spec.kind as { fromFlag(v: FlagValue): unknown; fromText(t: string): unknown; rejection(raw: unknown): string };
    // Every value given anywhere must be valid, even one a higher source overrides: a broken
    // env file should not wait until someone removes a flag to be noticed.
    const rawFlag = input.flags[name];
    const fromFlag = isGiven(rawFlag) ? kind.fromFlag(rawFlag) : undefined;
    if (isGiven(rawFlag) && fromFlag === undefined) throw new KesError('SETTING_INVALID', `${spec.flag}: ${kind.rejection(flagShown(rawFlag))}`);
    const rawEnv = input.env[spec.env];
    const fromEnv = rawEnv !== undefined && rawEnv !== '' ? kind.fromText(rawEnv) : undefined;
    if (rawEnv !== undefined && rawEnv !== '' && fromEnv === undefined) {
      throw new KesError('CONFIG_INVALID', `environment variable ${spec.env}: ${kind.rejection(rawEnv)}`);
    }
    const fromFile = fileValues[name];
    if (fromFlag !== undefined) set(name, fromFlag, 'flag');
    else if (fromEnv !== undefined) set(name, fromEnv, 'env');
    else if (fromFile !== undefined) set(name, fromFile, 'file');
    else set(name, spec.fallback(input.env), 'default');
  }

  function set(name: SettingName, value: unknown, source: Source): void {
    values[name] = value;
    sources[name] = source;
  }

  const v = values as SettingValues;
  const where = (name: SettingName): string => describeSource(name, sources[name], file);
  if (v.coldVkey === undefined) {
    throw new KesError(
      'SETTING_INVALID',
      `cold-vkey is not set: pass ${SETTINGS.coldVkey.flag} FILE, set ${SETTINGS.coldVkey.env}, or set cold-vkey in ${file.path}` +
        // The Haskell agent's variable: an operator migrating may have it set and expect it to work.
        (input.env[HASKELL_COLD_VK_ENV] ? ` (${HASKELL_COLD_VK_ENV} is the Haskell agent's variable and is not read)` : ''),
    );
  }
  if (v.genesis !== undefined) {
    if (sources.network !== 'default') {
      throw conflict(['network', 'genesis'], sources, `${SETTINGS.network.toml} (${where('network')}) and ${SETTINGS.genesis.toml} (${where('genesis')}) are mutually exclusive: set only one`);
    }
    set('network', undefined, 'default');
  }
  const control = v.controlSocket!;
  const service = v.serviceSocket!;
  if (path.resolve(control) === path.resolve(service)) {
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
  };
  return { file, settings, values: v, sources };
}

/** `--config` > KES_AGENT_CONFIG > the default path; an empty value counts as not given. */
export function locateConfigFile(input: Pick<ConfigInput, 'configFlag' | 'env' | 'defaultConfigPath'>): Omit<ConfigFileRef, 'read'> {
  if (input.configFlag !== undefined && input.configFlag !== '') return { path: input.configFlag, source: 'flag' };
  const fromEnv = input.env[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, source: 'env' };
  return { path: input.defaultConfigPath ?? DEFAULT_CONFIG_PATH, source: 'default' };
}

/** A file named by --config or the env var must exist; the default one may be absent. */
function readFileValues(file: Omit<ConfigFileRef, 'read'>): { values: FileValues; read: boolean } {
  try {
    return { values: readConfigFile(file.path).values, read: true };
  } catch (e) {
    if (file.source === 'default' && isMissingFile(e)) return { values: {}, read: false };
    if (isMissingFile(e)) {
      throw new KesError('FILE_UNREADABLE', `config file ${file.path} (from ${file.source === 'flag' ? CONFIG_FLAG : CONFIG_ENV}): no such file`, { cause: e });
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

/** "--log-level", "KES_AGENT_LOG_LEVEL", "config file /etc/kes-agent/agent.toml" or "default". */
export function describeSource(name: SettingName, source: Source, file: Pick<ConfigFileRef, 'path'>): string {
  const spec = SETTINGS[name];
  switch (source) {
    case 'flag':
      return spec.flag;
    case 'env':
      return spec.env;
    case 'file':
      return `config file ${file.path}`;
    case 'default':
      return 'default';
  }
}

/** A conflict is a command-line mistake if a flag is part of it, else the file's or env's. */
function conflict(names: SettingName[], sources: Readonly<Record<SettingName, Source>>, message: string): KesError {
  return new KesError(names.some((n) => sources[n] === 'flag') ? 'SETTING_INVALID' : 'CONFIG_INVALID', message);
}
