/** `kes-agent run`: the daemon in the foreground (systemd runs it this way). */
import { Command } from 'clipanion';
import { LiveLogger, type AgentSettings } from '../../config';
import { loadSodium } from '../../crypto/sodium';
import { createLogger, detectJournald, type AgentLogger } from '../../platform/logger';
import { parseMetricsAddress, type MetricsAddress } from '../../metrics';
import { startDaemon, type Daemon } from '../../server/daemon';
import { SighupReload } from '../../server/sighup-reload';
import { checkStartup } from '../../server/startup-checks';
import { hardenProcess } from '../../platform/hardening';
import { nodeConfirmDeadline, TEST_CONFIRM_DEADLINE_ENV, TEST_HOOKS_ENV } from '../../server/limits';
import { EXIT } from '../exit-codes';
import { agentTrustFrom } from '../../client/agent-identity';
import { resolveTiming } from '../common/timing';
import { packageVersion } from '../common/version';
import { refuseDebuggingFlags } from './process-guards';
import { AgentSettingsCommand } from './settings-command';

export class RunCommand extends AgentSettingsCommand {
  static override paths = [['run']];
  static override usage = Command.Usage({
    description: 'Run the agent in the foreground',
    details: `
      Holds a KES key in memory only: generated here (kes-ctl keygen), certified by your cold key
      (kes-ctl import-opcert), then served to block producers (kes-ctl upload). It evolves the
      key at every KES period boundary and wipes each old evolution. Nothing is written to disk.

      Settings come from flags, then KES_AGENT_* environment variables, then the TOML config
      file (--config, KES_AGENT_CONFIG, or /etc/kes-agent/agent.toml if it exists), then
      defaults; \`kes-agent check-config\` shows the result and where each value came from.
      Unknown keys in the file are an error. Relative paths in the file are relative to the
      file's directory. Uid/gid lists: repeat the flag or give a comma list (env: comma list);
      a higher source replaces a list, it does not add to it.

      Two Unix sockets: control (kes-ctl; mode 0600) and service (nodes; mode 0660). By default
      they live in a directory the agent creates with mode 0750: /run/kes-agent for root,
      otherwise $XDG_RUNTIME_DIR/kes-agent or a per-user directory in the temp dir. Any socket
      directory must be owned by the agent's user or root, with no group or other write bit
      (sticky or not: /tmp is refused). A leftover socket file is replaced only if nothing
      answers on it. \`kes-agent check-config\` makes the same start-up checks.

      Start it through the kes-agent launcher (package.json's bin, bin/kes-agent): it refuses
      an inspector flag in NODE_OPTIONS before Node starts, as Node would open that port before
      any of the agent's code runs.

      SIGHUP reloads the settings (the file, with the same flags and environment) and keeps the
      staged and active keys: log level and format, socket paths (the new socket is bound before
      the old one is closed; if it cannot be bound the old one stays) and the uid/gid lists
      change live (open connections the new lists no longer allow are closed). A change to cold-vkey, network, genesis, allow-unlocked-memory or metrics needs a
      restart: such a reload, or an invalid file, is refused whole with one error line and the
      agent carries on unchanged.

      Metrics: with --metrics HOST:PORT (an IP address or localhost) or a Unix socket path,
      the agent serves Prometheus metrics on GET /metrics (KES period, key state, clients,
      refusals; public values only) and logs where it listens. Without it no listener exists.

      Logs go to stdout, one line per event, never key material. SIGTERM or SIGINT wipes every
      key, removes the sockets and exits 0.

      Migrating from the Haskell kes-agent: its names work too, as aliases of the same settings
      (check-config shows which name each value came from; two names of one setting with
      different values are an error). Flags -s/--service-address, -c/--control-address,
      --cold-verification-key, --genesis-file, -l/--log-level, -F/--config-file (also before
      the command: kes-agent -F FILE run); variables KES_AGENT_SERVICE_PATH,
      KES_AGENT_CONTROL_PATH, KES_AGENT_COLD_VK; its agent.toml keys are ours. Its log levels
      notice (= info), critical and emergency (= error) are accepted. An empty control path
      (-c "", KES_AGENT_CONTROL_PATH="", control-socket = "") runs without a control socket.
      Its mainnet and preprod Shelley genesis files are recognised by networkMagic and give
      that network's built-in era history: the ledger's KES period, not the Haskell agent's
      wall-clock one (about 659 periods ahead on mainnet).
    `,
    examples: [
      ['Run with /etc/kes-agent/agent.toml', '$0 run'],
      ['Run on mainnet without a config file', '$0 run --cold-vkey /etc/kes-agent/cold.vkey'],
      ['Run on preview with explicit sockets', '$0 run --cold-vkey cold.vkey --network preview --control-socket /run/kes-agent/control.sock --service-socket /run/kes-agent/service.sock'],
      ['Let the cardano-node user (uid 1001) use the service socket', '$0 run --config agent.toml --service-uid 1001'],
      ['Run a private testnet', '$0 run --cold-vkey cold.vkey --genesis shelley-genesis.json'],
      ['Serve Prometheus metrics on the loopback interface', '$0 run --config agent.toml --metrics 127.0.0.1:9101'],
      ['Run as a Haskell kes-agent unit would (no control socket)', '$0 -F /etc/kes-agent/agent.toml run --cold-verification-key cold.vkey --genesis-file mainnet-shelley-genesis.json -c ""'],
    ],
  });

  async execute(): Promise<number> {
    refuseDebuggingFlags(process.execArgv, this.context.env['NODE_OPTIONS']);
    const resolved = this.resolveSettings();
    const settings = resolved.settings;
    const timing = resolveTiming(settings.network, settings.genesis);
    // Not a setting: a test-suite hook, refused unless its switch is set too (see limits.ts).
    const confirmDeadline = nodeConfirmDeadline(this.context.env);
    // The checks check-config makes too (one function), before anything is changed.
    await checkStartup({ controlSocket: settings.controlSocket, serviceSocket: settings.serviceSocket, allowUnlockedMemory: settings.allowUnlockedMemory });

    await loadSodium();
    // Before any key exists and before the sockets: refusing to start here loses nothing.
    const hardening = hardenProcess({ allowUnlockedMemory: settings.allowUnlockedMemory });
    const logger = new LiveLogger(this.createLogger(settings));
    logger.info('config: settings resolved', { file: resolved.file.read ? resolved.file.path : null });
    for (const warning of hardening.warnings) logger.warn('agent: running WITHOUT full memory protection (--allow-unlocked-memory)', { reason: warning });
    logger.info('agent: memory protection', { ...hardening.protection() });
    if (confirmDeadline.testHook) {
      logger.warn(`agent: TEST HOOK in force (${TEST_HOOKS_ENV}=1): node confirm deadline from ${TEST_CONFIRM_DEADLINE_ENV}`, { deadlineMs: confirmDeadline.deadlineMs });
    }
    // Installed before the daemon starts: SIGHUP's default action would end the process.
    const reloads = new SighupReload({ logger, initial: resolved, resolve: () => this.resolveSettings(), createLogger: (s) => this.createLogger(s) });
    const onHangup = reloads.request;
    process.on('SIGHUP', onHangup);
    let daemon: Daemon;
    try {
      daemon = await startDaemon({
        coldVkFile: settings.coldVkey,
        timing,
        controlSocket: settings.controlSocket,
        serviceSocket: settings.serviceSocket,
        controlAccess: settings.controlAccess,
        serviceAccess: settings.serviceAccess,
        bootstrapPaths: settings.bootstrapPaths,
        peerTrust: agentTrustFrom(undefined, this.context.env),
        logger,
        agentVersion: packageVersion(),
        hardening,
        now: this.context.now,
        nodeConfirmDeadlineMs: confirmDeadline.deadlineMs,
        ...(settings.metrics === undefined ? {} : { metrics: metricsAddress(settings.metrics) }),
      });
    } catch (e) {
      process.off('SIGHUP', onHangup);
      throw e;
    }

    reloads.attach(daemon);
    const d = daemon;
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info('agent: stopping', { signal });
      void d.stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const how = await d.stopped;
    await reloads.settled();
    logger.flush();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHangup);
    // A key state that failed closed is a crash to the service manager: restart, with no key.
    return how === 'failed' ? EXIT.INTERNAL : EXIT.OK;
  }

  private createLogger(s: AgentSettings): AgentLogger {
    const out = this.context.stdout;
    const fd = (out as { fd?: unknown }).fd;
    return createLogger({
      out,
      level: s.logLevel,
      format: s.logFormat,
      now: this.context.now,
      journald: typeof fd === 'number' && detectJournald(this.context.env, fd),
    });
  }
}

/** The setting was checked when it was resolved (METRICS_ADDRESS_KIND); this only re-reads it. */
function metricsAddress(text: string): MetricsAddress {
  const a = parseMetricsAddress(text);
  if (a === undefined) throw new Error(`bug: metrics address ${JSON.stringify(text)} passed the settings check`);
  return a;
}
