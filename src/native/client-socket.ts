/**
 * The kes_client addon (native/kes_client.c): a blocking Unix-socket connect that also reads
 * who is listening. Only `kes-ctl status` loads it (src/client/status-once.ts); the processes
 * that hold a key never do.
 */
import { KesError } from '../errors';
import { loadAddonFile, type AddonLoad } from './addon-file';
import type { PeerCred } from '.';

/** A connected descriptor (the caller closes it) and the listener's SO_PEERCRED. */
export interface ConnectedUnixSocket extends PeerCred {
  readonly fd: number;
}

export interface ClientSocketAddon {
  /**
   * SO_RCVTIMEO and SO_SNDTIMEO of `timeoutMs` on the socket (a read that times out fails with
   * EAGAIN), then connect(2). Throws an Error whose .code is the errno name.
   */
  connectUnix(path: string, timeoutMs: number): ConnectedUnixSocket;
}

let cached: AddonLoad<ClientSocketAddon> | undefined;

/** @throws KesError NATIVE_ADDON_MISSING when the addon is not built or cannot load */
export function loadClientSocket(): ClientSocketAddon {
  cached ??= loadAddonFile<ClientSocketAddon>('kes_client');
  if (cached.addon === undefined) {
    throw new KesError('NATIVE_ADDON_MISSING', `the kes_client addon cannot be loaded (${cached.error}); run npm ci (it needs python3, make and a C compiler)`);
  }
  return cached.addon;
}
