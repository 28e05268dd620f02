/**
 * Applying a reload (SIGHUP) to the running daemon: socket paths, who may connect, and the
 * bootstrap peers. Which settings may change live is decided in src/config/reload.ts; they are
 * applied here without touching the Agent, so the staged and active keys are never at risk.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { KesError } from '../errors';
import type { Logger } from '../platform/logger';
import type { PeerCred } from '../native';
import { peerAllowed, type PeerAccess } from '../platform/peer-access';
import { CONTROL_SOCKET_MODE, SERVICE_SOCKET_MODE, SOCKET_DIR_MODE } from '../platform/socket-paths';
import type { PeerSet } from '../bootstrap/peer-set';
import { ensureSocketDir, listenUnix } from './unix-listener';
import { closeServer, type DaemonSockets } from './daemon-sockets';

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

/** The parts of a running daemon a reload changes or reads. */
export interface ReloadTarget {
  /** The settings in force; the reload replaces `current`. */
  readonly live: { current: LiveSettings };
  readonly sockets: DaemonSockets;
  readonly peers: PeerSet;
  /** Who each admitted connection is (admission.ts records it). */
  readonly peerCreds: WeakMap<net.Socket, PeerCred>;
  readonly selfUid: number;
  /** The socket directory the agent creates and polices (other directories are the operator's). */
  readonly defaultDir: string;
  readonly log: Logger;
  readonly isStopping: () => boolean;
}

/**
 * Apply new socket paths and access lists. A moved socket is bound at its new path first and the
 * old one closed only after that succeeded: if the bind fails the old socket stays, the failure
 * is logged and reported, and the rest still applies. Open connections are kept, except those a
 * narrowed access list no longer allows.
 */
export async function applyLiveSettings(t: ReloadTarget, next: LiveSettings): Promise<ReloadOutcome> {
  const { log, sockets } = t;
  const applied: LiveSettingName[] = [];
  const failed: { setting: 'controlSocket' | 'serviceSocket'; code: string; message: string }[] = [];
  if (t.isStopping()) return { applied, failed };
  for (const [kind, setting] of [['control', 'controlSocket'], ['service', 'serviceSocket']] as const) {
    const from = t.live.current[setting];
    const to = next[setting];
    if (from === to || (from !== null && to !== null && path.resolve(to) === path.resolve(from))) continue;
    if (to === null) {
      // Only the control socket can be disabled: close it; open connections stay.
      void closeServer(sockets.control.server);
      t.live.current = { ...t.live.current, [setting]: to };
      applied.push(setting);
      log.info('control: socket disabled', { from });
      continue;
    }
    let server: net.Server | undefined;
    try {
      server = await bindMoved(t, kind, to);
    } catch (e) {
      const code = e instanceof KesError ? e.code : 'INTERNAL';
      const message = e instanceof Error ? e.message : String(e);
      log.error(`${kind}: cannot move the socket; still listening at the old path`, { from, to, code, error: message });
      failed.push({ setting, code, message });
      continue;
    }
    if (server === undefined) break; // stopping: stop() closes what is current
    const old = sockets[kind].server;
    sockets[kind].server = server;
    // Closing the listener removes its socket file at once; connections made through it stay.
    void closeServer(old);
    t.live.current = { ...t.live.current, [setting]: to };
    applied.push(setting);
    log.info(from === null ? `${kind}: socket enabled` : `${kind}: socket moved`, { from, to });
  }
  for (const [kind, setting] of [['control', 'controlAccess'], ['service', 'serviceAccess']] as const) {
    if (sameAccess(t.live.current[setting], next[setting])) continue;
    t.live.current = { ...t.live.current, [setting]: next[setting] };
    applied.push(setting);
    for (const s of sockets[kind].open) {
      const cred = t.peerCreds.get(s);
      if (cred === undefined || peerAllowed(cred, next[setting], t.selfUid)) continue;
      log.warn(`${kind}: peer no longer allowed; disconnecting it`, { uid: cred.uid, gid: cred.gid, pid: cred.pid });
      s.destroy();
    }
  }
  if (!samePaths(t.live.current.bootstrapPaths, next.bootstrapPaths)) {
    t.live.current = { ...t.live.current, bootstrapPaths: next.bootstrapPaths };
    applied.push('bootstrapPaths');
  }
  // Also after a service socket move: a peer at our new path is skipped, one at the old path is not.
  t.peers.update(t.live.current.bootstrapPaths);
  return { applied, failed };
}

/** Bind `next` for one socket kind; returns the new listener, or undefined if stopping meanwhile. */
async function bindMoved(t: ReloadTarget, kind: 'control' | 'service', next: string): Promise<net.Server | undefined> {
  const server = net.createServer({ allowHalfOpen: false }, t.sockets[kind].onConnection);
  if (path.dirname(next) === t.defaultDir) ensureSocketDir(t.defaultDir, SOCKET_DIR_MODE);
  await listenUnix(server, next, kind === 'control' ? CONTROL_SOCKET_MODE : SERVICE_SOCKET_MODE);
  if (t.isStopping()) {
    await closeServer(server);
    return undefined;
  }
  return server;
}

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p) => b.includes(p));
}

function sameAccess(a: PeerAccess, b: PeerAccess): boolean {
  const same = (x: readonly number[], y: readonly number[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.uids, b.uids) && same(a.gids, b.gids);
}
