/** `kes-agent run`: the daemon in the foreground (systemd runs it this way). */
import { Command, Option, UsageError } from 'clipanion';
import { loadSodium } from '../../crypto/sodium';
import { createLogger, isLogLevel, LOG_LEVELS, type LogFormat } from '../../server/logger';
import { startDaemon } from '../../server/daemon';
import {
  CONTROL_SOCKET_ENV,
  SERVICE_SOCKET_ENV,
  defaultControlSocket,
  defaultServiceSocket,
  resolveSocketPath,
} from '../../server/socket-paths';
import { EXIT } from '../exit-codes';
import { KesCommand } from '../common/base-command';
import { resolveTiming } from '../common/timing';
import { packageVersion } from '../common/version';
import { refuseDebuggingFlags } from './process-guards';

export class RunCommand extends KesCommand {
  static override paths = [['run']];
  static override usage = Command.Usage({
    description: 'Run the agent in the foreground',
    details: `
      Holds a KES key in memory only: generated here (kes-ctl keygen), certified by your cold key
      (kes-ctl import-opcert), then served to block producers (kes-ctl upload). It evolves the
      key at every KES period boundary and wipes each old evolution. Nothing is written to disk.

      Two Unix sockets: control (kes-ctl; mode 0600) and service (nodes; mode 0660). By default
      they live in a directory the agent creates with mode 0750: /run/kes-agent for root,
      otherwise $XDG_RUNTIME_DIR/kes-agent or a per-user directory in the temp dir. A leftover
      socket file is replaced only if nothing answers on it.

      Logs go to stdout, one line per event, never key material. SIGTERM or SIGINT wipes every
      key, removes the sockets and exits 0.
    `,
    examples: [
      ['Run on mainnet', '$0 run --cold-vkey /etc/kes-agent/cold.vkey'],
      ['Run on preview with explicit sockets', '$0 run --cold-vkey cold.vkey --network preview --control-socket /run/kes-agent/control.sock --service-socket /run/kes-agent/service.sock'],
      ['Run a private testnet', '$0 run --cold-vkey cold.vkey --genesis shelley-genesis.json'],
    ],
  });

  coldVkey = Option.String('--cold-vkey', { required: true, description: 'The pool\'s cold verification key (StakePoolVerificationKey_ed25519 envelope)' });
  network = Option.String('--network', { description: 'mainnet (default), preprod or preview' });
  genesis = Option.String('--genesis', { description: 'Shelley genesis file (private testnets, preview)' });
  controlSocket = Option.String('--control-socket', { description: `Control socket path (env ${CONTROL_SOCKET_ENV})` });
  serviceSocket = Option.String('--service-socket', { description: `Service socket path (env ${SERVICE_SOCKET_ENV})` });
  logLevel = Option.String('--log-level', 'info', { description: `One of ${LOG_LEVELS.join(', ')}` });
  logFormat = Option.String('--log-format', 'text', { description: 'text or json' });

  async execute(): Promise<number> {
    refuseDebuggingFlags(process.execArgv, this.context.env['NODE_OPTIONS']);
    if (!isLogLevel(this.logLevel)) throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got "${this.logLevel}"`);
    if (this.logFormat !== 'text' && this.logFormat !== 'json') throw new UsageError(`--log-format: expected text or json, got "${this.logFormat}"`);
    const timing = resolveTiming(this.network, this.genesis);
    const env = this.context.env;
    const controlSocket = resolveSocketPath(this.controlSocket, CONTROL_SOCKET_ENV, defaultControlSocket(env), env);
    const serviceSocket = resolveSocketPath(this.serviceSocket, SERVICE_SOCKET_ENV, defaultServiceSocket(env), env);
    if (controlSocket === serviceSocket) throw new UsageError('the control and service sockets must be different paths');

    await loadSodium();
    const logger = createLogger({ out: this.context.stdout, level: this.logLevel, format: this.logFormat as LogFormat, now: this.context.now });
    const daemon = await startDaemon({
      coldVkFile: this.coldVkey,
      timing,
      controlSocket,
      serviceSocket,
      logger,
      agentVersion: packageVersion(),
      now: this.context.now,
    });

    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info('agent: stopping', { signal });
      void daemon.stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    await daemon.stopped;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    return EXIT.OK;
  }
}
