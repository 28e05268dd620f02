/**
 * Binding a Unix socket safely: a private directory, stale-socket recovery that never kills a
 * live agent, and a socket file that has its final mode from the moment it exists.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { KesError } from '../errors';
import { bytesEqual } from '../crypto/bytes';
import { MAX_SOCKET_PATH_BYTES } from '../platform/socket-paths';
import { ByteReader, knownVersion, readOffer, versionName } from '../protocol/haskell';
import { nativeVersionId } from '../protocol/native-version';

/** How long to wait for an existing socket to answer before calling it stale. */
export const STALE_PROBE_TIMEOUT_MS = 1_000;

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
  if ((st.mode & WRITABLE_BY_OTHERS) !== 0) throw new KesError('SOCKET_DIR_UNSAFE', `socket directory ${dir}: is writable by other users (mode ${modeText(st.mode)}); ${ONLY_OWNER_WRITES}`);
}

/**
 * Make `socketPath` free to bind. A leftover socket file is removed only if connecting to it is
 * refused (nothing listens); if something answers, or connecting fails in a way that proves
 * nothing, another agent may be running and we refuse (the Haskell agent just fails with
 * EADDRINUSE, or worse, a second agent could steal a live one's path).
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
  const answer = await probe(socketPath);
  if (answer === 'live') {
    throw new KesError('SOCKET_IN_USE', `socket ${socketPath}: something is already listening on it (it did not answer as a kes-agent); stop it first or choose another path`);
  }
  if (typeof answer === 'object') {
    throw new KesError('SOCKET_IN_USE', `socket ${socketPath}: a kes-agent is already listening on it (it offered ${answer.offered.join(', ')}); stop it first or choose another path`);
  }
  if (answer === 'ENOENT') return 'absent';
  const owner = `uid ${st.uid}`;
  if (answer !== 'ECONNREFUSED') {
    // Only a refused connection proves nothing listens. EACCES (another user's socket) or EAGAIN
    // (a live agent with a full backlog) prove nothing, and removing a live agent's socket would
    // leave it running unreachable while we serve in its place.
    throw new KesError(
      'SOCKET_IN_USE',
      `socket ${socketPath}: cannot tell whether an agent is listening on it (connecting failed: ${answer}; the socket belongs to ${owner}); if none is, remove it as ${owner} or root, or choose another path`,
    );
  }
  try {
    fs.unlinkSync(socketPath);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT') return 'absent';
    // EPERM: a sticky directory (like /tmp) lets only the file's owner remove it.
    throw new KesError(
      'SOCKET_IN_USE',
      `socket ${socketPath}: a stale socket (nothing listens on it) is in the way and this user (uid ${process.getuid?.() ?? 'unknown'}) cannot remove it (${errno}; it belongs to ${owner}); remove it as ${owner} or root, or choose another path`,
    );
  }
  return 'removed-stale';
}

/**
 * What is at the socket: `{ offered }` when a kes-agent answers (an agent, ours or the Haskell
 * one, sends its version offer at once, spec/protocol.md §4), 'live' when something else accepts
 * a connection (or holds it unanswered), else connect()'s errno.
 */
function probe(socketPath: string): Promise<string | { offered: string[] }> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    const timer = setTimeout(() => {
      s.destroy();
      resolve('live'); // accepted-but-silent is still alive: never delete a live socket
    }, STALE_PROBE_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      void offerOf(s).then((offered) => {
        s.destroy();
        resolve(offered === undefined ? 'live' : { offered });
      });
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      resolve(errnoOf(e));
    });
  });
}

const NATIVE_IDS = [nativeVersionId('control'), nativeVersionId('service')];
const isNativeId = (id: Uint8Array): boolean => NATIVE_IDS.some((n) => bytesEqual(n, id));

/** The versions a listener offers, if it answers as a kes-agent (it offers a kes-agent protocol id). */
async function offerOf(s: net.Socket): Promise<string[] | undefined> {
  const reader = new ByteReader(s);
  try {
    const ids = await readOffer(reader, { timeoutMs: STALE_PROBE_TIMEOUT_MS });
    if (!ids.some((id) => knownVersion(id) !== undefined || isNativeId(id))) return undefined;
    // The names are ours (known ids) or our own protocol's: never the listener's free text.
    return ids.map((id) => versionName(id) ?? (isNativeId(id) ? new TextDecoder().decode(id).replace(/\0+$/, '') : 'an unknown id'));
  } catch {
    // Silence, a close, or bytes that are no offer: alive, but not shown to be an agent.
    return undefined;
  } finally {
    reader.destroy();
  }
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
 * put their own socket at our path between restarts. So it must be writable by its owner only:
 * no group or world write bit, sticky or not. A sticky directory like /tmp stops others removing
 * our socket, but not creating theirs while ours is gone, and clients refuse such a directory
 * (src/client/agent-identity.ts), so an agent started there could serve no one.
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
  if ((st.mode & WRITABLE_BY_OTHERS) !== 0) {
    throw new KesError('SOCKET_DIR_UNSAFE', `socket ${socketPath}: directory ${parent} is writable by other users (mode ${modeText(st.mode)}); ${ONLY_OWNER_WRITES}`);
  }
}

/** Group or world write permission. */
const WRITABLE_BY_OTHERS = 0o022;
const ONLY_OWNER_WRITES = 'expected a directory only its owner can write to (no group or world write bit, such as 0750)';

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

export function errnoOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}
