/**
 * One SIGHUP, from the settings to the running daemon: re-resolve the settings (the same flags
 * and environment, the config file as it is now), refuse the reload whole if a setting that
 * needs a restart changed (src/config/reload.ts decides which), hand the rest to the daemon
 * (daemon-reload.ts applies it), and switch the log level and format. Reloads run one at a time,
 * in the order the signals came, and none can take the keys down: every outcome is a log line.
 */
import { describeSource, logFieldsFor, planReload, SETTINGS, type AgentSettings, type LiveLogger, type ResolvedConfig, type SettingName } from '../config';
import { isKesError, oneLine } from '../errors';
import { LOG_LEVELS, type AgentLogger, type LogLevel } from '../platform/logger';
import type { Daemon } from './daemon';
import type { LiveSettings } from './daemon-reload';

export interface SighupReloadInit {
  logger: LiveLogger;
  /** The settings the daemon starts with. */
  initial: ResolvedConfig;
  /** Resolve the settings again; throws a KesError when they are invalid. */
  resolve: () => ResolvedConfig;
  /** A logger with these settings' level and format, to replace the live one. */
  createLogger: (s: AgentSettings) => AgentLogger;
}

export class SighupReload {
  readonly #init: SighupReloadInit;
  #daemon: Daemon | undefined;
  #current: ResolvedConfig;
  #queue: Promise<void> = Promise.resolve();

  constructor(init: SighupReloadInit) {
    this.#init = init;
    this.#current = init.initial;
  }

  /** The daemon to reload; until then a SIGHUP is logged and ignored. */
  attach(daemon: Daemon): void {
    this.#daemon = daemon;
  }

  /** The SIGHUP handler: queue one reload behind those already asked for. */
  readonly request = (): void => {
    const logger = this.#init.logger;
    this.#queue = this.#queue
      .then(async () => {
        const daemon = this.#daemon;
        if (daemon === undefined) return logger.warn('config: reload ignored: the agent is still starting');
        this.#current = await this.#reload(daemon, this.#current);
      })
      // A reload must never take the keys down with it: report the bug and carry on.
      .catch((e: unknown) => logger.error('config: reload failed; running settings unchanged', { code: 'INTERNAL', error: oneLine(String(e)) }));
  };

  /** Resolves when every reload asked for so far has finished. */
  settled(): Promise<void> {
    return this.#queue;
  }

  /**
   * Returns the settings in force afterwards. Every outcome is one log line from here (plus one
   * per socket the daemon could not move).
   */
  async #reload(daemon: Daemon, current: ResolvedConfig): Promise<ResolvedConfig> {
    const logger = this.#init.logger;
    let next: ResolvedConfig;
    try {
      next = this.#init.resolve();
    } catch (e) {
      const code = isKesError(e) ? e.code : 'INTERNAL';
      logger.error('config: reload failed; running settings unchanged', { code, error: oneLine(e instanceof Error ? e.message : String(e)) });
      return current;
    }
    const plan = planReload(current, next);
    if (plan.needRestart.length > 0) {
      const keys = plan.needRestart.map((n) => SETTINGS[n].toml);
      logger.error('config: reload refused; running settings unchanged', {
        code: 'CONFIG_NOT_RELOADABLE',
        setting: keys.join(','),
        error: `${keys.join(', ')} changed (${plan.needRestart.map((n) => describeSource(n, next.sources[n], next.file, next.via[n])).join(', ')}) and cannot change while the agent holds keys: restart the agent to apply it`,
      });
      return current;
    }
    if (plan.changed.length === 0) {
      logger.info('config: reloaded; nothing changed');
      return next;
    }
    const outcome = await daemon.reload(liveSettings(next.settings));
    const kept = new Set<SettingName>(outcome.failed.map((f) => f.setting));
    const inForce = keepValues(next, current, kept);
    const applied = plan.changed.filter((n) => !kept.has(n));
    const report = (): void => logger.info('config: reloaded', { changed: applied.map((n) => SETTINGS[n].toml).join(','), ...logFieldsFor(inForce, applied) });
    if (!applied.includes('logLevel') && !applied.includes('logFormat')) {
      report();
      return inForce;
    }
    // Say it in the new level and format, unless the new level hides info lines and the old one did not.
    const oldShowsInfo = logsInfo(current.settings.logLevel);
    if (!logsInfo(inForce.settings.logLevel) && oldShowsInfo) report();
    logger.replace(this.#init.createLogger(inForce.settings));
    if (logsInfo(inForce.settings.logLevel)) report();
    return inForce;
  }
}

function logsInfo(level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf('info');
}

function liveSettings(s: AgentSettings): LiveSettings {
  return { controlSocket: s.controlSocket, serviceSocket: s.serviceSocket, controlAccess: s.controlAccess, serviceAccess: s.serviceAccess, bootstrapPaths: s.bootstrapPaths };
}

/** `next`, except that the settings in `kept` keep their value (and source) from `prev`. */
function keepValues(next: ResolvedConfig, prev: ResolvedConfig, kept: ReadonlySet<SettingName>): ResolvedConfig {
  if (kept.size === 0) return next;
  const values = { ...next.values };
  const sources = { ...next.sources };
  const via = { ...next.via };
  const settings = { ...next.settings };
  for (const n of kept) {
    (values as Record<string, unknown>)[n] = prev.values[n];
    sources[n] = prev.sources[n];
    if (prev.via[n] !== undefined) via[n] = prev.via[n];
    else delete via[n];
    if (n === 'controlSocket') settings.controlSocket = prev.settings.controlSocket;
    if (n === 'serviceSocket') settings.serviceSocket = prev.settings.serviceSocket;
  }
  return { ...next, values, sources, via, settings };
}
