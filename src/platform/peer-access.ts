/**
 * Who may talk to the agent: SO_PEERCRED on every accepted connection.
 *
 * File modes already keep strangers off the sockets (the kernel checks them at connect()); this
 * is the second gate, and the only one that still holds if a directory mode is loosened by
 * mistake. Control: the agent's own uid plus listed uids. Service: the agent's own uid plus
 * listed uids, or a peer whose primary gid is listed (the block producer's group).
 */
import type * as net from 'node:net';
import type { NativeAddon, PeerCred } from '../native';

export interface PeerAccess {
  readonly uids: readonly number[];
  readonly gids: readonly number[];
}

export const NO_EXTRA_PEERS: PeerAccess = { uids: [], gids: [] };

export type PeerVerdict =
  | { readonly allowed: true; readonly cred: PeerCred }
  | { readonly allowed: false; readonly cred: PeerCred | undefined; readonly reason: string };

/** The pure rule, for tests and for the log line. */
export function peerAllowed(cred: PeerCred, access: PeerAccess, selfUid: number): boolean {
  return cred.uid === selfUid || access.uids.includes(cred.uid) || access.gids.includes(cred.gid);
}

/** Node keeps the accepted fd on the pipe handle; `_handle.fd` is undocumented but stable since Node 0.x. */
export function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export function checkPeer(socket: net.Socket, native: NativeAddon, access: PeerAccess, selfUid: number): PeerVerdict {
  const fd = socketFd(socket);
  if (fd === undefined) return { allowed: false, cred: undefined, reason: 'no file descriptor to read peer credentials from' };
  let cred: PeerCred;
  try {
    cred = native.getPeerCred(fd);
  } catch (e) {
    // Fail closed: a peer we cannot identify is refused.
    return { allowed: false, cred: undefined, reason: `cannot read peer credentials (${(e as { code?: string }).code ?? 'error'})` };
  }
  if (peerAllowed(cred, access, selfUid)) return { allowed: true, cred };
  return { allowed: false, cred, reason: `uid ${cred.uid} gid ${cred.gid} is not allowed` };
}
