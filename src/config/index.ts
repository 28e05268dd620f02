/** The agent's settings: one table, a TOML file, env and flags, precedence, reload plans. */
export {
  SETTINGS,
  SETTING_NAMES,
  HASKELL_ONLY_KEYS,
  HASKELL_LOG_LEVELS,
  LOG_FORMATS,
  type AgentSettings,
  type PeerAccess,
  type SettingName,
  type SettingSpec,
  type SettingValues,
} from './settings';
export {
  CONFIG_ENV,
  CONFIG_FLAG,
  DEFAULT_CONFIG_PATH,
  HASKELL_CONFIG_FLAG,
  HASKELL_CONFIG_SHORT,
  locateConfigFile,
  type ConfigFileRef,
} from './config-location';
export type { Source } from './precedence';
export { resolveConfig, type ConfigInput, type ResolvedConfig } from './resolve';
export { MAX_CONFIG_FILE_BYTES, MAX_CONFIG_DEPTH, parseConfigText, readConfigFile, type ConfigFileContents } from './config-file';
export { planReload, type ReloadPlan } from './reload';
export { describeConfig, describeSource, logFieldsFor, type SettingRow } from './describe';
export { LiveLogger } from './live-logger';
export { MAX_IDS_PER_LIST, MAX_UNIX_ID, type FlagValue } from './value-kinds';
