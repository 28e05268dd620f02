/**
 * The setting flags shared by `kes-agent run` and `kes-agent check-config`, so check-config
 * shows exactly what run would use for the same command line. Names and help come from the
 * settings table (src/config/settings.ts).
 */
import { Option } from 'clipanion';
import {
  CONFIG_ENV,
  CONFIG_FLAG,
  DEFAULT_CONFIG_PATH,
  HASKELL_CONFIG_FLAG,
  HASKELL_CONFIG_SHORT,
  SETTINGS,
  resolveConfig,
  type ConfigInput,
  type ResolvedConfig,
  type SettingName,
} from '../../config';
import { KesCommand } from '../common/base-command';

function help(name: SettingName, extra = ''): string {
  const s = SETTINGS[name];
  const haskellEnv = s.haskell?.env !== undefined ? ` or ${s.haskell.env}` : '';
  return `${s.doc}${extra} (env ${s.env}${haskellEnv}; file: ${s.toml})`;
}

/** `-l,--log-level`: our flag with its one-letter form, for clipanion. */
function names(name: SettingName): string {
  const s = SETTINGS[name];
  return s.short !== undefined ? `${s.short},${s.flag}` : s.flag;
}

/** The Haskell agent's flag for a setting (`-c,--control-address`), for clipanion. */
function haskellNames(name: SettingName): string {
  const h = SETTINGS[name].haskell;
  if (h?.flag === undefined) throw new Error(`setting ${name} has no Haskell flag`);
  return h.short !== undefined ? `${h.short},${h.flag}` : h.flag;
}

function haskellHelp(name: SettingName, extra = ''): string {
  return `Same as ${SETTINGS[name].flag} (the Haskell kes-agent's name)${extra}`;
}

const LIST_HELP = '; repeat the flag or give a comma list';

export abstract class AgentSettingsCommand extends KesCommand {
  config = Option.String(CONFIG_FLAG, { description: `TOML config file (env ${CONFIG_ENV}; default ${DEFAULT_CONFIG_PATH}, read if it exists)` });
  configFile = Option.String(`${HASKELL_CONFIG_SHORT},${HASKELL_CONFIG_FLAG}`, { description: `Same as ${CONFIG_FLAG} (the Haskell kes-agent's name; it may also come before the command: kes-agent -F FILE run)` });
  coldVkey = Option.String(names('coldVkey'), { description: help('coldVkey') });
  coldVerificationKey = Option.String(haskellNames('coldVkey'), { description: haskellHelp('coldVkey') });
  network = Option.String(names('network'), { description: help('network', '; default mainnet') });
  genesis = Option.String(names('genesis'), { description: help('genesis') });
  genesisFile = Option.String(haskellNames('genesis'), { description: haskellHelp('genesis') });
  controlSocket = Option.String(names('controlSocket'), { description: help('controlSocket') });
  controlAddress = Option.String(haskellNames('controlSocket'), { description: haskellHelp('controlSocket', '; -c "" runs without a control socket') });
  serviceSocket = Option.String(names('serviceSocket'), { description: help('serviceSocket') });
  serviceAddress = Option.String(haskellNames('serviceSocket'), { description: haskellHelp('serviceSocket') });
  logLevel = Option.String(names('logLevel'), { description: help('logLevel', '; default info') });
  logFormat = Option.String(SETTINGS.logFormat.flag, { description: help('logFormat', '; default text') });
  allowUnlockedMemory = Option.Boolean(SETTINGS.allowUnlockedMemory.flag, { description: help('allowUnlockedMemory') });
  controlUid = Option.Array(SETTINGS.controlUids.flag, { description: help('controlUids', LIST_HELP) });
  serviceUid = Option.Array(SETTINGS.serviceUids.flag, { description: help('serviceUids', LIST_HELP) });
  serviceGid = Option.Array(SETTINGS.serviceGids.flag, { description: help('serviceGids', LIST_HELP) });
  bootstrap = Option.Array(SETTINGS.bootstrapPaths.flag, { description: help('bootstrapPaths', '; repeat the flag for more peers') });
  bootstrapAddress = Option.Array(haskellNames('bootstrapPaths'), { description: haskellHelp('bootstrapPaths', '; repeatable') });
  metrics = Option.String(SETTINGS.metrics.flag, { description: help('metrics') });

  protected settingsInput(): ConfigInput {
    return {
      configFlag: this.config,
      haskellConfigFlag: this.configFile,
      env: this.context.env,
      haskellFlags: {
        coldVkey: this.coldVerificationKey,
        genesis: this.genesisFile,
        controlSocket: this.controlAddress,
        serviceSocket: this.serviceAddress,
      },
      flags: {
        coldVkey: this.coldVkey,
        network: this.network,
        genesis: this.genesis,
        controlSocket: this.controlSocket,
        serviceSocket: this.serviceSocket,
        logLevel: this.logLevel,
        logFormat: this.logFormat,
        allowUnlockedMemory: this.allowUnlockedMemory,
        controlUids: this.controlUid,
        serviceUids: this.serviceUid,
        serviceGids: this.serviceGid,
        bootstrapPaths: this.bootstrap,
        metrics: this.metrics,
      },
    };
  }

  /** The effective settings for this command line, this environment and the config file now. */
  protected resolveSettings(): ResolvedConfig {
    return resolveConfig(this.settingsInput());
  }
}
