/**
 * The agent process: one Agent (the key state), one control socket, one service socket. This
 * file composes them; each job has its own module:
 *
 * - admission.ts: who may connect to which socket, and how many at once;
 * - daemon-reload.ts: applying a SIGHUP's socket paths and access lists to the running daemon
 *   (sighup-reload.ts decides, from the settings, what to hand it);
 * - shutdown.ts: stopping, which wipes every key and removes the sockets.
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
import { HaskellControlHandler } from './haskell-control-handler';
import { ControlHandler } from './control-handler';
import type { Logger } from '../platform/logger';
import type { Hardening } from '../platform/hardening';
import type { PeerCred } from '../native';
import { NO_EXTRA_PEERS, type PeerAccess } from '../platform/peer-access';
import { MAX_CONTROL_CONNECTIONS, MAX_SERVICE_CONNECTIONS, WIRE_SECRET_BUDGET_BYTES } from './limits';
import { setSecretPoolBudget } from '../crypto/secret-memory';
import { CONTROL_SOCKET_MODE, SERVICE_SOCKET_MODE, SOCKET_DIR_MODE, defaultSocketDir } from '../platform/socket-paths';
import { ServiceHub } from './service-hub';
import { PeerSet } from '../bootstrap/peer-set';
import { defaultAgentTrust, type AgentTrust } from '../client/agent-identity';
import { ensureSocketDir, listenUnix } from './unix-listener';
import { startAgentMetrics, type MetricsAddress, type MetricsServer } from '../metrics';
import { admit, peerGate } from './admission';
import { closeServer, type DaemonSockets } from './daemon-sockets';
import { applyLiveSettings, type LiveSettings, type ReloadOutcome } from './daemon-reload';
import { DaemonShutdown } from './shutdown';

export type { SocketHandlers } from './admission';
export type { LiveSettings, LiveSettingName, ReloadOutcome } from './daemon-reload';

export interface DaemonOptions {
  coldVkFile: string;
  timing: ChainTiming;
  /** `null`: no control socket (the Haskell agent's `-c ""`); the agent then only serves nodes. */
  controlSocket: string | null;
  serviceSocket: string;
  /** Uids (besides the agent's own) allowed on the control socket. @default NO_EXTRA_PEERS */
  controlAccess?: PeerAccess;
  /** Uids/gids (besides the agent's own uid) allowed on the service socket. @default NO_EXTRA_PEERS */
  serviceAccess?: PeerAccess;
  logger: Logger;
  agentVersion: string;
  /**
   * The process hardening in force (hardenProcess). With its addon, every connection's
   * SO_PEERCRED is checked against the access lists, and STATUS reports the protections.
   * Without it (in-process tests), neither happens.
   */
  hardening?: Hardening;
  /** Other agents' service sockets to take the key from (src/bootstrap/). @default [] */
  bootstrapPaths?: readonly string[];
  /** Which uids a bootstrap peer agent may run as besides root and ours. @default defaultAgentTrust() */
  peerTrust?: AgentTrust;
  /** Unix ms. @default Date.now */
  now?: () => number;
  /**
   * How long a node may leave a push unconfirmed. @default NODE_CONFIRM_DEADLINE_MS. Not a
   * setting: only the test hook in limits.ts (nodeConfirmDeadline) passes another value.
   */
  nodeConfirmDeadlineMs?: number;
  /** Serve metrics there (src/metrics/); none: no listener at all. Fixed for the process's life. */
  metrics?: MetricsAddress;
}

export interface Daemon {
  readonly agent: Agent;
  /** The bootstrap peer links (empty set when none is configured). */
  readonly peers: PeerSet;
  /** The socket paths and access lists in force now. */
  live(): LiveSettings;
  /**
   * Apply new socket paths and access lists. A moved socket is bound at its new path first and
   * the old one closed only after that succeeded: if the bind fails the old socket stays, the
   * failure is logged and reported, and the rest still applies. Open connections are kept.
   */
  reload(next: LiveSettings): Promise<ReloadOutcome>;
  /** Wipe every key, close every connection, remove both sockets. Idempotent. */
  stop(): Promise<void>;
  /**
   * Resolves when the daemon has stopped: 'stopped' by stop(), 'failed' when the key state
   * failed closed (the process should exit non-zero, so systemd's Restart=on-failure applies).
   */
  readonly stopped: Promise<'stopped' | 'failed'>;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.logger;
  const coldVk = readColdVerificationKeyFile(opts.coldVkFile);
  // Copies of KEY frames queued to nodes have a budget of their own (limits.ts), apart from the
  // keys' locked memory; it applies once memory is locked (a no-op in plain mode).
  setSecretPoolBudget('wire', WIRE_SECRET_BUDGET_BYTES);
  // The default socket directory is ours to create and police; a path the operator chose lives
  // in a directory they manage.
  const defaultDir = defaultSocketDir();
  for (const p of [opts.controlSocket, opts.serviceSocket]) {
    if (p !== null && path.dirname(p) === defaultDir) ensureSocketDir(defaultDir, SOCKET_DIR_MODE);
  }

  const shutdown = new DaemonShutdown(log);
  const agent = new Agent({
    timing: opts.timing,
    coldVk,
    now: opts.now ?? Date.now,
    generateKey: () => KesSignKey.generate(),
    onFatal: () => {
      log.error('agent: key state failed closed; all keys wiped; exiting');
      shutdown.failClosed();
    },
  });
  const live: { current: LiveSettings } = {
    current: {
      controlSocket: opts.controlSocket,
      serviceSocket: opts.serviceSocket,
      controlAccess: opts.controlAccess ?? NO_EXTRA_PEERS,
      serviceAccess: opts.serviceAccess ?? NO_EXTRA_PEERS,
      bootstrapPaths: opts.bootstrapPaths ?? [],
    },
  };
  const hub = new ServiceHub({ agent, logger: log, agentVersion: opts.agentVersion, confirmDeadlineMs: opts.nodeConfirmDeadlineMs });
  const peers = new PeerSet({
    agent,
    coldVk,
    trust: opts.peerTrust ?? defaultAgentTrust(),
    log,
    ownServiceSocket: () => live.current.serviceSocket,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const hardening = opts.hardening;
  const control = new ControlHandler({
    agent,
    hub,
    logger: log,
    agentVersion: opts.agentVersion,
    ...(hardening === undefined ? {} : { protection: () => hardening.protection() }),
    peers: () => peers.status(),
  });

  const haskellControl = new HaskellControlHandler({ agent, hub, logger: log, agentVersion: opts.agentVersion, coldVk, timing: opts.timing, now: opts.now ?? Date.now, peers: () => peers.status() });

  // One handler per socket kind, shared by the listener at the old and the new path during a
  // move, so the connection limits count both.
  const peerCreds = new WeakMap<net.Socket, PeerCred>();
  const selfUid = process.getuid?.() ?? -1;
  const controlOpen = new Set<net.Socket>();
  const serviceOpen = new Set<net.Socket>();
  const onControl = admit(controlOpen, MAX_CONTROL_CONNECTIONS, 'control', log, {
    native: (s) => void control.serve(s),
    haskell: (n) => {
      if (n.kind === 'haskell-control') void haskellControl.serve(n.reader, n.version);
    },
  }, peerGate(hardening?.native, () => live.current.controlAccess, peerCreds, selfUid));
  const onService = admit(serviceOpen, MAX_SERVICE_CONNECTIONS, 'service', log, {
    native: (s) => void hub.serve(s),
    haskell: (n) => {
      if (n.kind === 'haskell-service') void hub.serveHaskell(n.reader, n.version);
    },
  }, peerGate(hardening?.native, () => live.current.serviceAccess, peerCreds, selfUid));
  const sockets: DaemonSockets = {
    control: { server: net.createServer({ allowHalfOpen: false }, onControl), open: controlOpen, onConnection: onControl },
    service: { server: net.createServer({ allowHalfOpen: false }, onService), open: serviceOpen, onConnection: onService },
  };
  let metrics: MetricsServer | undefined;
  shutdown.arm({ agent, hub, peers, sockets, metrics: () => metrics });

  agent.onActiveChange((c) => {
    if (c.type === 'installed') log.info('agent: key installed', { kesVk: toHex(c.kesVk), counter: c.counter, startKesPeriod: c.startKesPeriod, evolution: c.evolution, ...(c.source === null ? {} : { peer: c.source }) });
    else if (c.type === 'evolved') log.info('agent: key evolved', { evolution: c.evolution });
    else log.info('agent: key dropped', { reason: c.reason, ...(c.source === null ? {} : { peer: c.source }) });
  });

  if (opts.controlSocket !== null) await listenUnix(sockets.control.server, opts.controlSocket, CONTROL_SOCKET_MODE);
  try {
    await listenUnix(sockets.service.server, opts.serviceSocket, SERVICE_SOCKET_MODE);
    if (opts.metrics !== undefined) metrics = await startAgentMetrics({ address: opts.metrics, agent, hub, peers, agentVersion: opts.agentVersion, log });
  } catch (e) {
    await Promise.all([closeServer(sockets.control.server), closeServer(sockets.service.server)]);
    throw e;
  }
  agent.start();
  const s = agent.status();
  // Before "started", which is what supervisors and tests wait for.
  if (opts.controlSocket === null) log.info('control: socket disabled; kes-ctl cannot reach this agent until a control path is set (a SIGHUP reload applies it)');
  log.info('agent: started', {
    network: opts.timing.name,
    kesPeriod: s.chainStarted ? s.currentKesPeriod : null,
    control: opts.controlSocket,
    service: opts.serviceSocket,
  });
  // After our own sockets are up: a peer's bundle may arrive at once, and is served from here.
  peers.update(live.current.bootstrapPaths);
  if (!s.chainStarted) log.warn('agent: the chain has not started yet', { startsAt: new Date(s.nextPeriodMs).toISOString() });

  const reloadTarget = { live, sockets, peers, peerCreds, selfUid, defaultDir, log, isStopping: () => shutdown.isStopping };
  return {
    agent,
    peers,
    stop: () => shutdown.stop(),
    stopped: shutdown.stopped,
    live: () => live.current,
    reload: (next) => applyLiveSettings(reloadTarget, next),
  };
}
