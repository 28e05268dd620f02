/**
 * The agent process: one Agent (the key state), one control socket, one service socket.
 *
 * Start-up order matters: every check that can fail (cold key file, socket paths, a live agent
 * already there) runs before any key exists, so a failed start loses nothing.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { readColdVerificationKeyFile } from '../cardano';
import { KesSignKey } from '../crypto/kes';
import { toHex } from '../crypto/bytes';
import { Agent } from '../machine/agent';
import type { ChainTiming } from '../time';
import { encodeMessage, errorReply } from '../protocol';
import { ControlHandler } from './control-handler';
import type { Logger } from './logger';
import { BUSY_LINGER_MS, MAX_CONTROL_CONNECTIONS, MAX_SERVICE_CONNECTIONS } from './limits';
import { CONTROL_SOCKET_MODE, SERVICE_SOCKET_MODE, SOCKET_DIR_MODE, defaultSocketDir } from './socket-paths';
import { ServiceHub } from './service-hub';
import { ensureSocketDir, listenUnix } from './unix-listener';

export interface DaemonOptions {
  coldVkFile: string;
  timing: ChainTiming;
  controlSocket: string;
  serviceSocket: string;
  logger: Logger;
  agentVersion: string;
  /** Unix ms. @default Date.now */
  now?: () => number;
}

export interface Daemon {
  readonly agent: Agent;
  /** Wipe every key, close every connection, remove both sockets. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when the daemon has stopped (by stop() or a fatal error). */
  readonly stopped: Promise<void>;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.logger;
  const coldVk = readColdVerificationKeyFile(opts.coldVkFile);
  // The default socket directory is ours to create and police; a path the operator chose lives
  // in a directory they manage.
  const defaultDir = defaultSocketDir();
  for (const p of [opts.controlSocket, opts.serviceSocket]) {
    if (path.dirname(p) === defaultDir) ensureSocketDir(defaultDir, SOCKET_DIR_MODE);
  }

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;

  const agent = new Agent({
    timing: opts.timing,
    coldVk,
    now: opts.now ?? Date.now,
    generateKey: () => KesSignKey.generate(),
    onFatal: () => {
      log.error('agent: key state failed closed; all keys wiped; exiting');
      void stop();
    },
  });
  const hub = new ServiceHub({ agent, logger: log, agentVersion: opts.agentVersion });
  const control = new ControlHandler({ agent, hub, logger: log, agentVersion: opts.agentVersion });

  const controlSockets = new Set<net.Socket>();
  const serviceSockets = new Set<net.Socket>();
  const controlServer = net.createServer(
    { allowHalfOpen: false },
    admit(controlSockets, MAX_CONTROL_CONNECTIONS, 'control', log, (s) => void control.serve(s)),
  );
  const serviceServer = net.createServer(
    { allowHalfOpen: false },
    admit(serviceSockets, MAX_SERVICE_CONNECTIONS, 'service', log, (s) => void hub.serve(s)),
  );

  agent.onActiveChange((c) => {
    if (c.type === 'installed') log.info('agent: key installed', { kesVk: toHex(c.kesVk), counter: c.counter, startKesPeriod: c.startKesPeriod, evolution: c.evolution });
    else if (c.type === 'evolved') log.info('agent: key evolved', { evolution: c.evolution });
    else log.info('agent: key dropped', { reason: c.reason });
  });

  await listenUnix(controlServer, opts.controlSocket, CONTROL_SOCKET_MODE);
  try {
    await listenUnix(serviceServer, opts.serviceSocket, SERVICE_SOCKET_MODE);
  } catch (e) {
    await closeServer(controlServer);
    throw e;
  }
  agent.start();
  const s = agent.status();
  log.info('agent: started', {
    network: opts.timing.name,
    kesPeriod: s.chainStarted ? s.currentKesPeriod : null,
    control: opts.controlSocket,
    service: opts.serviceSocket,
  });
  if (!s.chainStarted) log.warn('agent: the chain has not started yet', { startsAt: new Date(s.nextPeriodMs).toISOString() });

  function stop(): Promise<void> {
    stopping ??= (async () => {
      agent.stop();
      hub.closeAll();
      for (const c of [...controlSockets, ...serviceSockets]) c.destroy();
      await Promise.all([closeServer(controlServer), closeServer(serviceServer)]);
      log.info('agent: stopped; keys wiped, sockets removed');
      resolveStopped();
    })();
    return stopping;
  }

  return { agent, stop, stopped };
}

/**
 * Count connections per socket and turn away those over the limit with ERROR BUSY, so a flood of
 * connections costs the agent one small write each and never reaches the handlers.
 */
function admit(
  open: Set<net.Socket>,
  limit: number,
  name: string,
  log: Logger,
  serve: (s: net.Socket) => void,
): (s: net.Socket) => void {
  let refusedSinceLastLog = 0;
  return (s) => {
    s.on('error', () => undefined); // EPIPE/ECONNRESET end this connection only
    if (open.size >= limit) {
      if (refusedSinceLastLog++ === 0) log.warn(`${name}: connection limit reached; refusing new connections`, { limit });
      // Half-close after the ERROR and let the client's HELLO land, so it reads BUSY rather than a
      // reset; a client that lingers is cut off shortly after.
      s.end(encodeMessage(errorReply('BUSY', `the agent accepts at most ${limit} ${name} connections`)));
      setTimeout(() => s.destroy(), BUSY_LINGER_MS).unref();
      return;
    }
    if (refusedSinceLastLog > 1) log.warn(`${name}: refused connections while at the limit`, { refused: refusedSinceLastLog });
    refusedSinceLastLog = 0;
    open.add(s);
    s.once('close', () => open.delete(s));
    serve(s);
  };
}

/** Close a listener and its connections; Node removes the socket file on close. */
function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
