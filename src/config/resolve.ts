/**
 * The effective settings: each source read (config file, flags, environment), one value chosen
 * per setting (precedence.ts), then the checks across settings. Every value comes with the source
 * it came from.
 */
import { checkAcrossSettings } from './cross-checks';
import { locateConfigFile, readLocatedConfigFile, type ConfigFileNaming, type ConfigFileRef } from './config-location';
import { givenByEnv, givenByFlags } from './given-values';
import { chooseValue, type Choices, type Source } from './precedence';
import { SETTING_NAMES, toAgentSettings, type AgentSettings, type SettingName, type SettingValues } from './settings';
import type { FlagValue } from './value-kinds';

export interface ConfigInput extends ConfigFileNaming {
  /** Flag values as parsed from the command line; `undefined` or `''` = not given. */
  readonly flags: Partial<Record<SettingName, FlagValue | undefined>>;
  /**
   * Values of the Haskell agent's flags (settings.ts `haskell.flag`); `undefined` = not given,
   * `''` = not given unless the setting has `emptyDisables` (`-c ""`).
   */
  readonly haskellFlags?: Partial<Record<SettingName, FlagValue | undefined>>;
}

export interface ResolvedConfig extends Choices {
  readonly file: ConfigFileRef;
  readonly settings: AgentSettings;
}

/**
 * Resolve every setting.
 * @throws KesError SETTING_INVALID (a bad flag, a required setting set nowhere, conflicting
 *   settings when a flag is involved), CONFIG_INVALID (a bad env value or file content,
 *   conflicting settings from env/file), FILE_UNREADABLE / FILE_TOO_LARGE (the config file).
 */
export function resolveConfig(input: ConfigInput): ResolvedConfig {
  const located = locateConfigFile(input);
  const fromFile = readLocatedConfigFile(located);
  const file: ConfigFileRef = { ...located, read: fromFile.read };
  const chosen = chooseEverySetting(input, fromFile);
  checkAcrossSettings(chosen, file);
  const { values, sources, via } = chosen.values.genesis === undefined ? chosen : withoutNetwork(chosen);
  return { file, settings: toAgentSettings(values), values, sources, via };
}

function chooseEverySetting(input: ConfigInput, fromFile: ReturnType<typeof readLocatedConfigFile>): Choices {
  const values: Record<string, unknown> = {};
  const sources = {} as Record<SettingName, Source>;
  const via: Partial<Record<SettingName, string>> = {};
  for (const name of SETTING_NAMES) {
    // Every value given anywhere must be valid, even one a higher source overrides: a broken
    // env file should not wait until someone removes a flag to be noticed.
    const flags = givenByFlags(name, input.flags, input.haskellFlags);
    const env = givenByEnv(name, input.env);
    const chosen = chooseValue(name, { flags, env, file: fromFile.values[name], fileKey: fromFile.aliases[name] }, input.env);
    values[name] = chosen.value;
    sources[name] = chosen.source;
    if (chosen.via !== undefined) via[name] = chosen.via;
  }
  return { values: values as SettingValues, sources, via };
}

/**
 * A genesis file gives the chain, so network's default does not apply (a network set anywhere
 * was refused as a conflict, so its source is already 'default').
 */
function withoutNetwork(chosen: Choices): Choices {
  return { ...chosen, values: { ...chosen.values, network: undefined } };
}
