/**
 * Which config file to read (`--config` > KES_AGENT_CONFIG > the default path) and reading it
 * as one source of settings.
 */
import { KesError } from '../errors';
import { isMissingFile, readConfigFile, type ConfigFileContents } from './config-file';
import type { Source } from './precedence';
import { quoteValue } from './value-kinds';

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

/** What names the config file. */
export interface ConfigFileNaming {
  /** `--config`. */
  readonly configFlag?: string | undefined;
  /** `-F`/`--config-file`, the Haskell agent's name for it. */
  readonly haskellConfigFlag?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** @default DEFAULT_CONFIG_PATH (tests point it elsewhere) */
  readonly defaultConfigPath?: string;
}

/** `--config` > KES_AGENT_CONFIG > the default path; an empty value counts as not given. */
export function locateConfigFile(input: ConfigFileNaming): Omit<ConfigFileRef, 'read'> {
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

/**
 * The located file's settings. A file named by --config or the env var must exist; the default
 * one may be absent (then it sets nothing and `read` is false).
 */
export function readLocatedConfigFile(file: Omit<ConfigFileRef, 'read'>): Pick<ConfigFileContents, 'values' | 'aliases'> & { readonly read: boolean } {
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
