/**
 * The setting flags shared by `kes-agent run` and `kes-agent check-config`, so check-config
 * shows exactly what run would use for the same command line. Names and help come from the
 * settings table (src/config/settings.ts).
 */
import { Option } from 'clipanion';
import { CONFIG_ENV, CONFIG_FLAG, DEFAULT_CONFIG_PATH, SETTINGS, resolveConfig, type ConfigInput, type ResolvedConfig, type SettingName } from '../../config';
import { KesCommand } from '../common/base-command';

function help(name: SettingName, extra = ''): string {
  const s = SETTINGS[name];
  return `${s.doc}${extra} (env ${s.env}; file: ${s.toml})`;
}

const LIST_HELP = '; repeat the flag or give a comma list';

export abstract class AgentSettingsCommand extends KesCommand {
  config = Option.String(CONFIG_FLAG, { description: `TOML config file (env ${CONFIG_ENV}; default ${DEFAULT_CONFIG_PATH}, read if it exists)` });
  coldVkey = Option.String(SETTINGS.coldVkey.flag, { description: help('coldVkey') });
  network = Option.String(SETTINGS.network.flag, { description: help('network', '; default mainnet') });
  genesis = Option.String(SETTINGS.genesis.flag, { description: help('genesis') });
  controlSocket = Option.String(SETTINGS.controlSocket.flag, { description: help('controlSocket') });
  serviceSocket = Option.String(SETTINGS.serviceSocket.flag, { description: help('serviceSocket') });
  logLevel = Option.String(SETTINGS.logLevel.flag, { description: help('logLevel', `: ${SETTINGS.logLevel.kind.expected}; default info`) });
  logFormat = Option.String(SETTINGS.logFormat.flag, { description: help('logFormat', '; default text') });
  allowUnlockedMemory = Option.Boolean(SETTINGS.allowUnlockedMemory.flag, { description: help('allowUnlockedMemory') });
  controlUid = Option.Array(SETTINGS.controlUids.flag, { description: help('controlUids', LIST_HELP) });
  serviceUid = Option.Array(SETTINGS.serviceUids.flag, { description: help('serviceUids', LIST_HELP) });
  serviceGid = Option.Array(SETTINGS.serviceGids.flag, { description: help('serviceGids', LIST_HELP) });

  protected settingsInput(): ConfigInput {
    return {
      configFlag: this.config,
      env: this.context.env,
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
      },
    };
  }

  /** The effective settings for this command line, this environment and the config file now. */
  protected resolveSettings(): ResolvedConfig {
    return resolveConfig(this.settingsInput());
  }
}
