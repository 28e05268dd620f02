/**
 * Where the agent's sockets live by default, shared by the daemon and every client.
 *
 * The directory is the real gate (connecting needs search permission on every directory of the path: a 0777
 * socket inside a 0700 directory still refuses strangers), so the default sockets live in a directory the
 * agent owns and creates 0750: the agent's group (a node's user) may enter, others may not.
 */
import * as fs from 'node:fs';
import type * as os from 'node:os';
import * as path from 'node:path';
import { KesError } from '../errors';

/** Linux `sun_path` is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export const CONTROL_SOCKET_ENV = 'KES_AGENT_CONTROL_SOCKET';
export const SERVICE_SOCKET_ENV = 'KES_AGENT_SERVICE_SOCKET';
/** The Haskell kes-agent's names for the two variables (docs/haskell-protocol.md §10), read too. */
export const HASKELL_CONTROL_PATH_ENV = 'KES_AGENT_CONTROL_PATH';
export const HASKELL_SERVICE_PATH_ENV = 'KES_AGENT_SERVICE_PATH';
export const CONTROL_SOCKET_NAME = 'control.sock';
export const SERVICE_SOCKET_NAME = 'service.sock';
/** Mode of the default socket directory when the agent creates it. */
export const SOCKET_DIR_MODE = 0o750;
/** Control socket: the operator only. */
export const CONTROL_SOCKET_MODE = 0o600;
/** Service socket: the operator and the node's group. */
export const SERVICE_SOCKET_MODE = 0o660;

/** systemd's `RuntimeDirectory=kes-agent` (deploy/systemd/kes-agent.service). */
export const SYSTEM_SOCKET_DIR = '/run/kes-agent';

/**
 * The agent's default: `/run/kes-agent` for root, or for the user that owns it (the unit's
 * `User=kes-agent` with `RuntimeDirectory=kes-agent`); otherwise `$XDG_RUNTIME_DIR/kes-agent`,
 * otherwise a per-user directory under the temp dir.
 */
export function defaultSocketDir(env: NodeJS.ProcessEnv = process.env, systemDir: string = SYSTEM_SOCKET_DIR): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid === 0) return systemDir;
  if (uid !== undefined && ownedDir(systemDir, uid)) return systemDir;
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'kes-agent');
  // node:os only here, the last resort: loading it cost every kes-ctl start 0.8 ms.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { tmpdir } = require('node:os') as typeof os;
  return path.join(tmpdir(), `kes-agent-${uid ?? 'user'}`);
}

/** Group or other write permission; the sticky bit is not looked at. */
const WRITABLE_BY_OTHERS = 0o022;

/**
 * The rule for a directory sockets live in, worded as every refusal states it. The directory is
 * the real gate (docs/security.md): whoever can write to it can put their own socket at our path
 * while ours is gone (between restarts), and a sticky bit (/tmp's 1777) only stops them removing
 * ours, so any group or other write bit is refused, sticky or not. Its owner can do the same, so
 * it must be the agent's user or root. Reading and entering (0755) give no such power.
 */
export const SOCKET_DIR_RULE = "expected a directory owned by the agent's user or root that no other user can write to (no group or other write bit, sticky or not; e.g. 0750 or 0755)";

/**
 * Why a socket directory breaks SOCKET_DIR_RULE for an agent running as `uid` (undefined: not a
 * POSIX platform, owner not checked), or undefined when it does not. `st` is the directory's own
 * stat (lstat for a directory the agent owns and creates, so a symlink is refused there).
 */
export function socketDirProblem(st: fs.Stats, uid: number | undefined): string | undefined {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isDirectory()) return 'is not a directory';
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) return `is owned by uid ${st.uid}, not the agent's uid ${uid} or root`;
  if ((st.mode & WRITABLE_BY_OTHERS) !== 0) return `is writable by other users (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

/** A real directory owned by `uid` or root that no other user can write to. */
function privateDir(dir: string, uid: number): boolean {
  try {
    return socketDirProblem(fs.lstatSync(dir), uid) === undefined;
  } catch {
    return false;
  }
}

function ownedDir(dir: string, uid: number): boolean {
  try {
    const st = fs.lstatSync(dir);
    return st.isDirectory() && st.uid === uid;
  } catch {
    return false;
  }
}

/**
 * Where a client (kes-ctl, kes-node) looks by default: the agent's default for this user if a
 * socket is there and its directory is this user's own (owned by it or root, writable by no one
 * else), else the system agent's socket if one is there (a node user in the kes-agent group,
 * or an operator running kes-ctl as another user), else the user default (so the "no socket"
 * error names the path this user's agent would use).
 *
 * The per-user default under the temp dir (`/tmp/kes-agent-<uid>`) is a name anyone can create
 * first; a directory another user made is never used, so a stranger's socket there is not even
 * tried (and the connection itself checks who listens: client/agent-identity.ts).
 */
export function clientDefaultSocket(name: string, env: NodeJS.ProcessEnv = process.env, systemDir: string = SYSTEM_SOCKET_DIR): string {
  const ownDir = defaultSocketDir(env, systemDir);
  const own = path.join(ownDir, name);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (fs.existsSync(own) && (uid === undefined || privateDir(ownDir, uid))) return own;
  const system = path.join(systemDir, name);
  return fs.existsSync(system) ? system : own;
}

export function defaultControlSocket(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultSocketDir(env), CONTROL_SOCKET_NAME);
}

export function defaultServiceSocket(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultSocketDir(env), SERVICE_SOCKET_NAME);
}

/**
 * A client's socket path: the flag, else the environment variable (ours or the Haskell agent's
 * name for it: both are read, and set to different values they are an error naming both), else
 * the default. Empty strings count as unset. `fallback` is only called when it is needed: the
 * default looks at the file system, which a given path makes pointless.
 *
 * @throws KesError CONFIG_INVALID when two of the variables disagree
 */
export function resolveSocketPath(flag: string | undefined, envNames: string | readonly string[], fallback: () => string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== '') return flag;
  const given = (typeof envNames === 'string' ? [envNames] : envNames).flatMap((name) => {
    const value = env[name];
    return value !== undefined && value !== '' ? [{ name, value }] : [];
  });
  const [first, second] = given;
  if (first !== undefined && second !== undefined && first.value !== second.value) {
    throw new KesError(
      'CONFIG_INVALID',
      `environment variables ${first.name} ${JSON.stringify(first.value)} and ${second.name} ${JSON.stringify(second.value)} name different sockets: set only one (or pass --socket)`,
    );
  }
  return first?.value ?? fallback();
}

/** The variables a control client reads, ours first. */
export const CONTROL_SOCKET_ENVS: readonly string[] = [CONTROL_SOCKET_ENV, HASKELL_CONTROL_PATH_ENV];
/** The variables a service client reads, ours first. */
export const SERVICE_SOCKET_ENVS: readonly string[] = [SERVICE_SOCKET_ENV, HASKELL_SERVICE_PATH_ENV];
