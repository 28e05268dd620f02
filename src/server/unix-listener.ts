/**
 * Binding a Unix socket safely: a private directory, stale-socket recovery that never kills a
 * live agent, and a socket file that has its final mode from the moment it exists.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { KesError } from '../errors';
import { bytesEqual } from '../crypto/bytes';
import { MAX_SOCKET_PATH_BYTES, SOCKET_DIR_RULE, socketDirProblem } from '../platform/socket-paths';
import { ByteReader, knownVersion, readOffer, versionName } from '../protocol/haskell';
import { nativeVersionId } from '../protocol/native-version';
import { errnoOf } from '../platform/errno';

/** How long to wait for an existing socket to answer before calling it stale. */
export const STALE_PROBE_TIMEOUT_MS = 1_000;

/**
 * The default socket directory as it is now, without creating it: 'absent', or 'ok' when it is
 * a real directory (symlinks refused) that meets SOCKET_DIR_RULE.
 * @throws KesError SOCKET_DIR_UNSAFE
 */
export function checkDefaultSocketDir(dir: string): 'absent' | 'ok' {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return 'absent';
    throw new KesError('SOCKET_DIR_UNSAFE', `socket directory ${dir}: cannot inspect it (${errnoOf(e)})`);
  }
  const problem = socketDirProblem(st, process.getuid?.());
  if (problem !== undefined) throw new KesError('SOCKET_DIR_UNSAFE', `socket directory ${dir}: ${problem}; ${SOCKET_DIR_RULE}`);
  return 'ok';
}

/** Create the default socket directory (with `mode`) if missing; either way it must meet SOCKET_DIR_RULE. */
export function ensureSocketDir(dir: string, mode: number): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode });
  } catch (e) {
    throw new KesError('SOCKET_DIR_UNSAFE', `socket directory ${dir}: cannot create it (${errnoOf(e)})`);
  }
  checkDefaultSocketDir(dir);
}

/**
 * What is at `socketPath` before a bind: nothing, or a stale socket (connecting is refused, so
 * nothing listens). Anything else is refused: another agent may be running (the Haskell agent
 * just fails with EADDRINUSE, or worse, a second agent could steal a live one's path).
 * @throws KesError SOCKET_IN_USE
 */
export async function inspectSocketPath(socketPath: string): Promise<{ state: 'absent' } | { state: 'stale'; owner: number }> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return { state: 'absent' };
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
  if (answer === 'ENOENT') return { state: 'absent' };
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
  return { state: 'stale', owner: st.uid };
}

/** Make `socketPath` free to bind: a stale socket is removed (inspectSocketPath decides). */
export async function clearStaleSocket(socketPath: string): Promise<'absent' | 'removed-stale'> {
  const found = await inspectSocketPath(socketPath);
  if (found.state === 'absent') return 'absent';
  const owner = `uid ${found.owner}`;
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
 * stranger could connect. The mode is then verified with lstat.
 */
export async function listenUnix(server: net.Server, socketPath: string, mode: number): Promise<void> {
  assertSocketPathFits(socketPath);
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

/** @throws KesError SOCKET_PATH_TOO_LONG when `socketPath` does not fit in `sun_path`. */
export function assertSocketPathFits(socketPath: string): void {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new KesError('SOCKET_PATH_TOO_LONG', `socket ${socketPath}: path is ${Buffer.byteLength(socketPath)} bytes; the limit is ${MAX_SOCKET_PATH_BYTES}`);
  }
}

/**
 * The directory a socket lives in must meet SOCKET_DIR_RULE (socket-paths.ts says why). Clients
 * refuse such a directory too (src/client/agent-identity.ts), so an agent started in, say, /tmp
 * could serve no one. The path is followed (stat): an operator's /var/run -> /run link is fine.
 */
export function assertSocketParentSafe(socketPath: string): void {
  const parent = path.dirname(socketPath);
  let st: fs.Stats;
  try {
    st = fs.statSync(parent);
  } catch {
    throw new KesError('SOCKET_DIR_UNSAFE', `socket ${socketPath}: directory ${parent} does not exist`);
  }
  const problem = socketDirProblem(st, process.getuid?.());
  if (problem !== undefined) throw new KesError('SOCKET_DIR_UNSAFE', `socket ${socketPath}: directory ${parent} ${problem}; ${SOCKET_DIR_RULE}`);
}

