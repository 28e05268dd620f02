/**
 * Where the agent's sockets live by default, shared by the daemon and every client.
 *
 * The directory is the real gate (stack.md §7: a 0777 socket inside a 0700 directory still
 * refuses strangers), so the default sockets live in a directory the agent owns and creates
 * 0750: the agent's group (a node's user) may enter, others may not.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export const CONTROL_SOCKET_ENV = 'KES_AGENT_CONTROL_SOCKET';
export const SERVICE_SOCKET_ENV = 'KES_AGENT_SERVICE_SOCKET';
export const CONTROL_SOCKET_NAME = 'control.sock';
export const SERVICE_SOCKET_NAME = 'service.sock';
/** Mode of the default socket directory when the agent creates it. */
export const SOCKET_DIR_MODE = 0o750;
/** Control socket: the operator only. */
export const CONTROL_SOCKET_MODE = 0o600;
/** Service socket: the operator and the node's group. */
export const SERVICE_SOCKET_MODE = 0o660;

/**
 * `/run/kes-agent` for root (systemd's RuntimeDirectory), otherwise `$XDG_RUNTIME_DIR/kes-agent`,
 * otherwise a per-user directory under the temp dir.
 */
export function defaultSocketDir(env: NodeJS.ProcessEnv = process.env): string {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/run/kes-agent';
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'kes-agent');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `kes-agent-${uid}`);
}

export function defaultControlSocket(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultSocketDir(env), CONTROL_SOCKET_NAME);
}

export function defaultServiceSocket(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultSocketDir(env), SERVICE_SOCKET_NAME);
}

/** Flag value, else environment variable, else the default. Empty strings count as unset. */
export function resolveSocketPath(flag: string | undefined, envName: string, fallback: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return fallback;
}
