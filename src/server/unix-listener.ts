/**
 * Binding a Unix socket safely: a private directory, stale-socket recovery that never kills a
 * live agent, and a socket file that has its final mode from the moment it exists.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { KesError } from '../errors';

/** How long to wait for an existing socket to answer before calling it stale. */
export const STALE_PROBE_TIMEOUT_MS = 1_000;
/** Linux `sun_path` is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Create the default socket directory (mode 0750) if missing; if it exists it must be a real
 * directory we own that strangers cannot write to.
 */
export function ensureSocketDir(dir: string, mode: number): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode });
  } catch (e) {
    throw new KesError('SOCKET_DIR_UNSAFE', `socket directory ${dir}: cannot create it (${errnoOf(e)})`);
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new KesError('SOCKET_DIR_UNSAFE', `socket directory ${dir}: expected a directory, found something else (symlinks are refused)`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new KesError('SOCKET_DIR_UNSAFE', `socket directory ${dir}: expected it to be owned by uid ${uid}, owner is uid ${st.uid}`);
  if ((st.mode & 0o022) !== 0) throw new KesError('SOCKET_DIR_UNSAFE', `socket directory ${dir}: is group- or world-writable (mode ${(st.mode & 0o777).toString(8)}); expected 0750 or tighter`);
}

/**
 * Make `socketPath` free to bind. A leftover socket file is removed only if nothing answers on
 * it; if something answers, another agent is running and we refuse (the Haskell agent just
 * fails with EADDRINUSE, or worse, a second agent could steal a live one's path).
 */
export async function clearStaleSocket(socketPath: string): Promise<'absent' | 'removed-stale'> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return 'absent';
    throw new KesError('SOCKET_IN_USE', `socket ${socketPath}: cannot inspect it (${errnoOf(e)})`);
  }
  if (!st.isSocket()) {
    throw new KesError('SOCKET_IN_USE', `socket ${socketPath}: the path exists and is not a socket; refusing to replace it`);
  }
  const answered = await probe(socketPath);
  if (answered) {
    throw new KesError('SOCKET_IN_USE', `socket ${socketPath}: another agent is listening on it; stop it first or choose another path`);
  }
  fs.unlinkSync(socketPath);
  return 'removed-stale';
}

function probe(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(true); // accepted-but-silent is still alive: never delete a live socket
    }, STALE_PROBE_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * Listen on `socketPath` with exactly `mode`. Node binds synchronously inside `listen()`, so a
 * umask set around the call makes the file appear with the final mode: no window in which a
 * stranger could connect (stack.md §7). The mode is then verified with lstat.
 */
export async function listenUnix(server: net.Server, socketPath: string, mode: number): Promise<void> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new KesError('SOCKET_PATH_TOO_LONG', `socket ${socketPath}: path is ${Buffer.byteLength(socketPath)} bytes; the limit is ${MAX_SOCKET_PATH_BYTES}`);
  }
  assertSocketParentSafe(socketPath);
  await clearStaleSocket(socketPath);
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new KesError('SOCKET_IN_USE', `socket ${socketPath}: cannot listen (${errnoOf(e)})`));
    server.once('error', onError);
    const old = process.umask(0o777 & ~mode);
    try {
      server.listen(socketPath, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
  fs.chmodSync(socketPath, mode);
  const st = fs.lstatSync(socketPath);
  if (!st.isSocket() || (st.mode & 0o777) !== mode) {
    server.close();
    throw new KesError('SOCKET_DIR_UNSAFE', `socket ${socketPath}: expected mode ${mode.toString(8)}, found ${(st.mode & 0o777).toString(8)}`);
  }
}

/**
 * The directory a socket lives in is the real gate (stack.md §7): whoever can write to it can
 * replace our socket with theirs between restarts. Refuse a directory that is group- or
 * world-writable, unless it has the sticky bit (like /tmp: others cannot remove our file).
 */
export function assertSocketParentSafe(socketPath: string): void {
  const parent = path.dirname(socketPath);
  let st: fs.Stats;
  try {
    st = fs.statSync(parent);
  } catch {
    throw new KesError('SOCKET_DIR_UNSAFE', `socket ${socketPath}: directory ${parent} does not exist`);
  }
  if (!st.isDirectory()) throw new KesError('SOCKET_DIR_UNSAFE', `socket ${socketPath}: ${parent} is not a directory`);
  const sticky = (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o022) !== 0 && !sticky) {
    throw new KesError('SOCKET_DIR_UNSAFE', `socket ${socketPath}: directory ${parent} is group- or world-writable (mode ${(st.mode & 0o7777).toString(8)}) without the sticky bit; expected 0750 or tighter`);
  }
}

export function errnoOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}
