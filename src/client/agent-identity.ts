/**
 * Is the process on the other end of an agent socket really the agent?
 *
 * A client believes what the agent says (the vk that `keygen` prints is the one the operator
 * certifies) and a node takes the key it is pushed. So before a client sends or believes
 * anything it checks who it is talking to, the way the agent checks its own peers:
 * - the listening process's uid (SO_PEERCRED, read on the client's end of the connection) must
 *   be root, the client's own uid, or a uid the operator named as the agent's (by default the
 *   owner of /run/kes-agent, the systemd unit's RuntimeDirectory);
 * - the socket's directory must be writable by nobody but that uid and root, and every directory
 *   above it must be too, or be sticky like /tmp: otherwise another user could have put their
 *   own socket at the path, or may do so after the agent restarts.
 * Anything else is refused before the first byte is sent, naming the uid found and the uids
 * expected (AGENT_NOT_TRUSTED).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as net from 'node:net';
import { KesError } from '../errors';
import { nativeLoadError, tryLoadNative, type NativeAddon, type PeerCred } from '../native';
import { SYSTEM_SOCKET_DIR } from '../platform/socket-paths';
import { socketFd } from '../platform/peer-access';

/** kes-ctl and kes-node: the agent's uid (or user name) when it is neither root, this user, nor the owner of /run/kes-agent. */
export const AGENT_UID_ENV = 'KES_AGENT_UID';
export const AGENT_UID_FLAG = '--agent-uid';

/** The uids an agent may run as, besides root and this process's own uid. */
export interface AgentTrust {
  readonly agentUids: readonly number[];
  /** Where agentUids came from, for messages: "--agent-uid", "KES_AGENT_UID", "the owner of /run/kes-agent". */
  readonly source: string;
}

/** Largest uid the kernel accepts as a real id ((uid_t)-1 means "no id"). */
const MAX_UID = 0xfffffffe;
/** Group- or world-writable. */
const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

/** The default trust: the owner of the system socket directory, when it exists. */
export function defaultAgentTrust(systemDir: string = SYSTEM_SOCKET_DIR): AgentTrust {
  try {
    // throwIfNoEntry: a host without the directory is the common case, not an exception.
    const st = fs.statSync(systemDir, { throwIfNoEntry: false });
    if (st?.isDirectory() === true) return { agentUids: [st.uid], source: `the owner of ${systemDir}` };
  } catch {
    // Unreadable: no system agent that this user could check, so only root and this user are trusted.
  }
  return { agentUids: [], source: `no agent uid configured and no ${systemDir}` };
}

/**
 * The trust a CLI uses: `--agent-uid`, else KES_AGENT_UID, else the default. A uid or a user
 * name from /etc/passwd.
 * @throws KesError SETTING_INVALID naming the flag or variable
 */
export function agentTrustFrom(flag: string | undefined, env: NodeJS.ProcessEnv, systemDir: string = SYSTEM_SOCKET_DIR): AgentTrust {
  if (flag !== undefined && flag !== '') return { agentUids: [parseUser(flag, AGENT_UID_FLAG)], source: AGENT_UID_FLAG };
  const fromEnv = env[AGENT_UID_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { agentUids: [parseUser(fromEnv, AGENT_UID_ENV)], source: AGENT_UID_ENV };
  return defaultAgentTrust(systemDir);
}

function parseUser(text: string, where: string): number {
  if (/^\d+$/.test(text)) {
    const uid = Number(text);
    if (uid <= MAX_UID) return uid;
  } else {
    const uid = uidOfUser(text);
    if (uid !== undefined) return uid;
    throw new KesError('SETTING_INVALID', `${where}: no user named ${JSON.stringify(text)} in /etc/passwd; expected a uid or a user name`);
  }
  throw new KesError('SETTING_INVALID', `${where}: expected a uid (0..${MAX_UID}) or a user name, got ${JSON.stringify(text)}`);
}

/** getpwnam for the local passwd file (Node has no binding for it). */
function uidOfUser(name: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [user, , uid] = line.split(':');
    if (user === name && uid !== undefined && /^\d+$/.test(uid)) return Number(uid);
  }
  return undefined;
}

/**
 * Check the listener behind a connected `socket` before anything is sent on it.
 * @throws KesError AGENT_NOT_TRUSTED
 */
export function verifyAgent(socket: net.Socket, socketPath: string, trust: AgentTrust, native: NativeAddon | undefined = tryLoadNative()): PeerCred {
  if (native === undefined) {
    throw notTrusted(socketPath, `cannot read which user is listening (${nativeLoadError() ?? 'the kes_native addon is not loaded'}); refusing to talk to an agent it cannot check`);
  }
  const fd = socketFd(socket);
  let cred: PeerCred;
  try {
    if (fd === undefined) throw new Error('no file descriptor');
    cred = native.getPeerCred(fd);
  } catch (e) {
    throw notTrusted(socketPath, `cannot read which user is listening (${(e as { code?: string }).code ?? 'no peer credentials'})`);
  }
  verifyListener(cred, socketPath, trust);
  return cred;
}

/**
 * verifyAgent's checks of a listener whose SO_PEERCRED the caller has read (kes-ctl status's
 * blocking socket reads it as it connects: src/native/client-socket.ts).
 * @throws KesError AGENT_NOT_TRUSTED
 */
export function verifyListener(cred: PeerCred, socketPath: string, trust: AgentTrust): void {
  const self = process.getuid?.();
  const allowed = new Set<number>([0, ...(self === undefined ? [] : [self]), ...trust.agentUids]);
  if (!allowed.has(cred.uid)) {
    throw notTrusted(
      socketPath,
      `the process listening here runs as uid ${cred.uid} (pid ${cred.pid}), expected ${expected(self, trust)}: it may be an impostor, so nothing was sent to it; if the agent really runs as uid ${cred.uid}, say so with ${AGENT_UID_FLAG} ${cred.uid} or ${AGENT_UID_ENV}=${cred.uid}`,
    );
  }
  assertPathSafe(socketPath, new Set([0, cred.uid, ...(self === undefined ? [] : [self])]));
}

function expected(self: number | undefined, trust: AgentTrust): string {
  const parts = ['root (uid 0)'];
  if (self !== undefined && self !== 0) parts.push(`this user (uid ${self})`);
  for (const uid of trust.agentUids) if (uid !== 0 && uid !== self) parts.push(`uid ${uid} (${trust.source})`);
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]!}`;
}

/**
 * The socket's directory is writable only by `owners`; each directory above it is too, or is
 * sticky (others may create entries there but not rename ours).
 */
function assertPathSafe(socketPath: string, owners: ReadonlySet<number>): void {
  let dir: string;
  try {
    dir = fs.realpathSync(path.dirname(path.resolve(socketPath)));
  } catch (e) {
    throw notTrusted(socketPath, `cannot resolve its directory (${(e as { code?: string }).code ?? 'error'})`);
  }
  for (let first = true; ; first = false) {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch (e) {
      throw notTrusted(socketPath, `cannot check directory ${dir} (${(e as { code?: string }).code ?? 'error'})`);
    }
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    if (!owners.has(st.uid)) {
      throw notTrusted(socketPath, `${first ? 'its directory' : 'a directory above it,'} ${dir} belongs to uid ${st.uid}, not to root or the agent's uid, so that user could replace the socket; expected a directory like /run/kes-agent`);
    }
    if ((st.mode & WRITABLE_BY_OTHERS) !== 0 && (first || (st.mode & STICKY) === 0)) {
      throw notTrusted(socketPath, `${first ? 'its directory' : 'a directory above it,'} ${dir} is writable by other users (mode ${mode}), so any of them could have put a socket there; expected a directory like /run/kes-agent (0750)`);
    }
    const up = path.dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

function notTrusted(socketPath: string, why: string): KesError {
  return new KesError('AGENT_NOT_TRUSTED', `${socketPath}: ${why}`);
}
