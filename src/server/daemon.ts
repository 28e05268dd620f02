/**
 * The agent process: one Agent (the key state), one control socket, one service socket.
 *
 * Start-up order matters: every check that can fail (cold key file, socket paths, a live agent
 * already there) runs before any key exists, so a failed start loses nothing.
 *
 * A reload (SIGHUP) changes only what is safe to change under held keys: socket paths and who may
 * connect. Which settings those are is decided in src/config/reload.ts; here they are applied
 * without touching the Agent, so the staged and active keys are never at risk.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { readColdVerificationKeyFile } from '../cardano';
import { KesSignKey } from '../crypto/kes';
import { toHex } from '../crypto/bytes';
import { KesError } from '../errors';
import { Agent } from '../machine/agent';
import type { ChainTiming } from '../time';
import { encodeMessage, errorReply, type SocketRole } from '../protocol';
import { HaskellControlHandler } from './haskell-control-handler';
import { negotiate, type Negotiated, type NegotiationFailure } from './version-negotiation';
import { ControlHandler } from './control-handler';
import type { Logger } from '../platform/logger';
import type { Hardening } from '../platform/hardening';
import type { PeerCred } from '../native';
import { NO_EXTRA_PEERS, checkPeer, peerAllowed, type PeerAccess, type PeerVerdict } from '../platform/peer-access';
import { BUSY_LINGER_MS, HANDSHAKE_TIMEOUT_MS, MAX_CONTROL_CONNECTIONS, MAX_SERVICE_CONNECTIONS, WIRE_SECRET_BUDGET_BYTES } from './limits';
import { setSecretPoolBudget } from '../crypto/secret-memory';
import { CONTROL_SOCKET_MODE, SERVICE_SOCKET_MODE, SOCKET_DIR_MODE, defaultSocketDir } from '../platform/socket-paths';
import { ServiceHub } from './service-hub';
import { PeerSet } from '../bootstrap/peer-set';
import { defaultAgentTrust, type AgentTrust } from '../client/agent-identity';
import { ensureSocketDir, listenUnix } from './unix-listener';
import { startAgentMetrics, type MetricsAddress, type MetricsServer } from '../metrics';

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

/** What a reload may change while the agent holds keys. */
export interface LiveSettings {
  /** `null`: no control socket. */
  readonly controlSocket: string | null;
  readonly serviceSocket: string;
  readonly controlAccess: PeerAccess;
  readonly serviceAccess: PeerAccess;
  readonly bootstrapPaths: readonly string[];
}

export type LiveSettingName = keyof LiveSettings;

export interface ReloadOutcome {
  /** Settings now in force with their new value. */
  readonly applied: readonly LiveSettingName[];
  /** Sockets left where they were (the new path could not be bound), with why. */
  readonly failed: readonly { readonly setting: 'controlSocket' | 'serviceSocket'; readonly code: string; readonly message: string }[];
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

  let resolveStopped!: (how: 'stopped' | 'failed') => void;
  const stopped = new Promise<'stopped' | 'failed'>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  let failed = false;

  const agent = new Agent({
    timing: opts.timing,
    coldVk,
    now: opts.now ?? Date.now,
    generateKey: () => KesSignKey.generate(),
    onFatal: () => {
      log.error('agent: key state failed closed; all keys wiped; exiting');
      failed = true;
      // Deferred: onFatal can run inside a command, while the agent is still mid-call.
      setImmediate(() => void stop());
    },
  });
  const hub = new ServiceHub({ agent, logger: log, agentVersion: opts.agentVersion, confirmDeadlineMs: opts.nodeConfirmDeadlineMs });
  const peers = new PeerSet({
    agent,
    coldVk,
    trust: opts.peerTrust ?? defaultAgentTrust(),
    log,
    ownServiceSocket: () => live.serviceSocket,
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

  const controlSockets = new Set<net.Socket>();
  const serviceSockets = new Set<net.Socket>();
  // One handler per socket kind, shared by the listener at the old and the new path during a
  // move, so the connection limits count both.
  // The access lists are read at each connection; a reload that narrows them also disconnects
  // the open connections it no longer allows (peerCreds keeps who each one is).
  const peerCreds = new WeakMap<net.Socket, PeerCred>();
  const native = hardening?.native;
  const selfUid = process.getuid?.() ?? -1;
  const gate = (setting: 'controlAccess' | 'serviceAccess'): PeerGate | undefined =>
    native === undefined
      ? undefined
      : (s) => {
          const verdict = checkPeer(s, native, live[setting], selfUid);
          if (verdict.allowed) peerCreds.set(s, verdict.cred);
          return verdict;
        };
  const onControl = admit(controlSockets, MAX_CONTROL_CONNECTIONS, 'control', log, {
    native: (s) => void control.serve(s),
    haskell: (n) => {
      if (n.kind === 'haskell-control') void haskellControl.serve(n.reader, n.version);
    },
  }, gate('controlAccess'));
  const onService = admit(serviceSockets, MAX_SERVICE_CONNECTIONS, 'service', log, {
    native: (s) => void hub.serve(s),
    haskell: (n) => {
      if (n.kind === 'haskell-service') void hub.serveHaskell(n.reader, n.version);
    },
  }, gate('serviceAccess'));
  let controlServer = net.createServer({ allowHalfOpen: false }, onControl);
  let serviceServer = net.createServer({ allowHalfOpen: false }, onService);
  let live: LiveSettings = {
    controlSocket: opts.controlSocket,
    serviceSocket: opts.serviceSocket,
    controlAccess: opts.controlAccess ?? NO_EXTRA_PEERS,
    serviceAccess: opts.serviceAccess ?? NO_EXTRA_PEERS,
    bootstrapPaths: opts.bootstrapPaths ?? [],
  };

  agent.onActiveChange((c) => {
    if (c.type === 'installed') log.info('agent: key installed', { kesVk: toHex(c.kesVk), counter: c.counter, startKesPeriod: c.startKesPeriod, evolution: c.evolution, ...(c.source === null ? {} : { peer: c.source }) });
    else if (c.type === 'evolved') log.info('agent: key evolved', { evolution: c.evolution });
    else log.info('agent: key dropped', { reason: c.reason, ...(c.source === null ? {} : { peer: c.source }) });
  });

  if (opts.controlSocket !== null) await listenUnix(controlServer, opts.controlSocket, CONTROL_SOCKET_MODE);
  let metrics: MetricsServer | undefined;
  try {
    await listenUnix(serviceServer, opts.serviceSocket, SERVICE_SOCKET_MODE);
    if (opts.metrics !== undefined) metrics = await startAgentMetrics({ address: opts.metrics, agent, hub, peers, agentVersion: opts.agentVersion, log });
  } catch (e) {
    await Promise.all([closeServer(controlServer), closeServer(serviceServer)]);
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
  peers.update(live.bootstrapPaths);
  if (!s.chainStarted) log.warn('agent: the chain has not started yet', { startsAt: new Date(s.nextPeriodMs).toISOString() });

  function stop(): Promise<void> {
    stopping ??= (async () => {
      await peers.stop();
      agent.stop();
      hub.closeAll();
      for (const c of [...controlSockets, ...serviceSockets]) c.destroy();
      await Promise.all([closeServer(controlServer), closeServer(serviceServer), metrics?.close()]);
      log.info('agent: stopped; keys wiped, sockets removed');
      resolveStopped(failed ? 'failed' : 'stopped');
    })();
    return stopping;
  }

  /** Bind `next` for one socket kind; returns the new listener, or undefined if stopping meanwhile. */
  async function bindMoved(kind: 'control' | 'service', next: string): Promise<net.Server | undefined> {
    const server = net.createServer({ allowHalfOpen: false }, kind === 'control' ? onControl : onService);
    if (path.dirname(next) === defaultDir) ensureSocketDir(defaultDir, SOCKET_DIR_MODE);
    await listenUnix(server, next, kind === 'control' ? CONTROL_SOCKET_MODE : SERVICE_SOCKET_MODE);
    if (stopping !== undefined) {
      await closeServer(server);
      return undefined;
    }
    return server;
  }

  async function reload(next: LiveSettings): Promise<ReloadOutcome> {
    const applied: LiveSettingName[] = [];
    const failed: { setting: 'controlSocket' | 'serviceSocket'; code: string; message: string }[] = [];
    if (stopping !== undefined) return { applied, failed };
    for (const [kind, setting] of [['control', 'controlSocket'], ['service', 'serviceSocket']] as const) {
      const from = live[setting];
      const to = next[setting];
      if (from === to || (from !== null && to !== null && path.resolve(to) === path.resolve(from))) continue;
      if (to === null) {
        // Only the control socket can be disabled: close it; open connections stay.
        void closeServer(controlServer);
        live = { ...live, [setting]: to };
        applied.push(setting);
        log.info('control: socket disabled', { from });
        continue;
      }
      let server: net.Server | undefined;
      try {
        server = await bindMoved(kind, to);
      } catch (e) {
        const code = e instanceof KesError ? e.code : 'INTERNAL';
        const message = e instanceof Error ? e.message : String(e);
        log.error(`${kind}: cannot move the socket; still listening at the old path`, { from, to, code, error: message });
        failed.push({ setting, code, message });
        continue;
      }
      if (server === undefined) break; // stopping: stop() closes what is current
      const old = kind === 'control' ? controlServer : serviceServer;
      if (kind === 'control') controlServer = server;
      else serviceServer = server;
      // Closing the listener removes its socket file at once; connections made through it stay.
      void closeServer(old);
      live = { ...live, [setting]: to };
      applied.push(setting);
      log.info(from === null ? `${kind}: socket enabled` : `${kind}: socket moved`, { from, to });
    }
    for (const [kind, setting, open] of [['control', 'controlAccess', controlSockets], ['service', 'serviceAccess', serviceSockets]] as const) {
      if (sameAccess(live[setting], next[setting])) continue;
      live = { ...live, [setting]: next[setting] };
      applied.push(setting);
      for (const s of open) {
        const cred = peerCreds.get(s);
        if (cred === undefined || peerAllowed(cred, next[setting], selfUid)) continue;
        log.warn(`${kind}: peer no longer allowed; disconnecting it`, { uid: cred.uid, gid: cred.gid, pid: cred.pid });
        s.destroy();
      }
    }
    if (!samePaths(live.bootstrapPaths, next.bootstrapPaths)) {
      live = { ...live, bootstrapPaths: next.bootstrapPaths };
      applied.push('bootstrapPaths');
    }
    // Also after a service socket move: a peer at our new path is skipped, one at the old path is not.
    peers.update(live.bootstrapPaths);
    return { applied, failed };
  }

  return { agent, peers, stop, stopped, live: () => live, reload };
}

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p) => b.includes(p));
}

function sameAccess(a: PeerAccess, b: PeerAccess): boolean {
  const same = (x: readonly number[], y: readonly number[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.uids, b.uids) && same(a.gids, b.gids);
}

type PeerGate = (s: net.Socket) => PeerVerdict;

/** What runs on a connection once the version handshake settled its protocol. */
export interface SocketHandlers {
  native(s: net.Socket): void;
  haskell(n: Extract<Negotiated, { kind: 'haskell-service' | 'haskell-control' }>): void;
}

/**
 * Check who is connecting (SO_PEERCRED), then count connections per socket, then run the version
 * handshake and hand the connection to its protocol. A peer that is refused, or over the limit,
 * never reaches a handler and takes no connection slot: it still gets the offer (every
 * connection opens the same way), and if it accepts our protocol it reads ERROR PEER_NOT_ALLOWED
 * or BUSY; a Haskell client just sees the connection close, since that protocol has no error
 * message. Either way the reason is in our log, and the connection is cut within
 * BUSY_LINGER_MS.
 */
function admit(
  open: Set<net.Socket>,
  limit: number,
  name: SocketRole,
  log: Logger,
  handlers: SocketHandlers,
  gate: PeerGate | undefined,
): (s: net.Socket) => void {
  let refusedSinceLastLog = 0;
  const turnAway = (s: net.Socket, code: 'PEER_NOT_ALLOWED' | 'BUSY', message: string): void => {
    setTimeout(() => s.destroy(), BUSY_LINGER_MS).unref();
    void negotiate(s, name, BUSY_LINGER_MS).then((n) => {
      if (n.kind === 'native') s.end(encodeMessage(errorReply(code, message)));
      else {
        if (n.kind !== 'failed') n.reader.destroy();
        s.destroy();
      }
    });
  };
  return (s) => {
    s.on('error', () => undefined); // EPIPE/ECONNRESET end this connection only
    if (gate !== undefined) {
      const verdict = gate(s);
      if (!verdict.allowed) {
        log.warn(`${name}: peer refused`, { uid: verdict.cred?.uid ?? null, gid: verdict.cred?.gid ?? null, pid: verdict.cred?.pid ?? null, reason: verdict.reason });
        turnAway(s, 'PEER_NOT_ALLOWED', `this user may not use the agent's ${name} socket`);
        return;
      }
    }
    if (open.size >= limit) {
      if (refusedSinceLastLog++ === 0) log.warn(`${name}: connection limit reached; refusing new connections`, { limit });
      turnAway(s, 'BUSY', `the agent accepts at most ${limit} ${name} connections`);
      return;
    }
    if (refusedSinceLastLog > 1) log.warn(`${name}: refused connections while at the limit`, { refused: refusedSinceLastLog });
    refusedSinceLastLog = 0;
    open.add(s);
    s.once('close', () => open.delete(s));
    void negotiate(s, name, HANDSHAKE_TIMEOUT_MS).then((n) => {
      if (n.kind === 'native') return handlers.native(s);
      if (n.kind !== 'failed') return handlers.haskell(n);
      const level = n.reason === 'closed' ? 'debug' : 'warn';
      log[level](`${name}: version handshake failed; closing`, { reason: n.reason, detail: NEGOTIATION_FAILURES[n.reason] });
      s.destroy();
    });
  };
}

/** One line per way the version handshake can fail, for the log. */
const NEGOTIATION_FAILURES: Readonly<Record<NegotiationFailure['reason'], string>> = Object.freeze({
  declined: 'the client accepted none of the offered versions (a kes-agent client of protocol version 1 sends HELLO, which reads as a refusal: upgrade it)',
  'not-offered': 'the client accepted a version the agent did not offer',
  closed: 'the client closed the connection instead of answering',
  timeout: `no answer to the version offer within ${HANDSHAKE_TIMEOUT_MS} ms`,
  malformed: 'the answer to the version offer is not a VersionHandshake answer',
});

/** Close a listener and its connections; Node removes the socket file on close. */
function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
