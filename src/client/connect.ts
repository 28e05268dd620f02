/**
 * Connecting to one of the agent's Unix sockets and completing the handshake (spec/protocol.md §4).
 *
 * Every way this can fail has its own error code and a message that names the socket path and
 * says what to check, because "the node forged nothing and nobody noticed the socket path was
 * wrong" is the failure operators actually hit (it happened to the dingo node's agent client):
 *
 *   AGENT_SOCKET_MISSING     no file at the path (ENOENT): agent not running, or a wrong path
 *   AGENT_SOCKET_DENIED      EACCES/EPERM: this user is not allowed in (socket mode / group / directory)
 *   AGENT_UNREACHABLE        ECONNREFUSED (a stale socket file, or not a socket), or no accept in time
 *   AGENT_HANDSHAKE_FAILED   the agent answered ERROR, the wrong protocol, garbage, or closed
 *   AGENT_HANDSHAKE_TIMEOUT  connected, but no WELCOME in time
 *   AGENT_NOT_TRUSTED        the listener runs as an untrusted uid, or its directory is unsafe (agent-identity.ts)
 *   SOCKET_PATH_TOO_LONG     the path does not fit in sun_path
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { KesError } from '../errors';
import { errnoOf } from '../platform/errno';
import {
  ConnectionClosedError,
  FramedSocket,
  ProtocolError,
  ReceiveTimeoutError,
  acceptWelcome,
  nativeVersionId,
  NATIVE_CONTROL_VERSION_ID,
  NATIVE_SERVICE_VERSION_ID,
  protocolForRole,
  protocolVersions,
  wipeMessage,
  type Message,
  type SocketRole,
} from '../protocol';
import { ByteReader, PeerClosedError, ReadTimeoutError, chooseVersion, encodeAccept, encodeReject, readOffer, versionName } from '../protocol/haskell';
import { MAX_SOCKET_PATH_BYTES } from '../platform/socket-paths';
import { defaultAgentTrust, verifyAgent, type AgentTrust } from './agent-identity';

/**
 * How long a connect() may take. A Unix socket connects at once or fails at once, unless the
 * agent's accept backlog is full (an agent that is alive but stuck).
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** How long the agent has to answer HELLO. The agent itself closes silent clients after a few seconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;

export interface ConnectOptions {
  socketPath: string;
  role: SocketRole;
  /** @default DEFAULT_CONNECT_TIMEOUT_MS */
  connectTimeoutMs?: number;
  /** @default DEFAULT_HANDSHAKE_TIMEOUT_MS */
  handshakeTimeoutMs?: number;
  /** Abandons the attempt (CLIENT_STOPPED) and destroys the socket. */
  signal?: AbortSignal;
  /** Which uids the agent may run as besides root and ours. @default defaultAgentTrust() */
  trust?: AgentTrust;
}

/** A connection that has completed the handshake. */
export interface AgentConnection {
  readonly framed: FramedSocket;
  /** The version the agent chose (the highest both speak). */
  readonly protocolVersion: number;
  /** WELCOME.agentVersion: the agent's own text, checked by the codec for length and control characters. */
  readonly agentVersion: string;
  readonly socketPath: string;
}

/**
 * Connect to the agent socket at `socketPath` and complete the handshake for `role`.
 * On failure the socket is destroyed and a KesError with one of the codes above is thrown.
 */
export async function connectToAgent(opts: ConnectOptions): Promise<AgentConnection> {
  const { socketPath, role } = opts;
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  assertPath(socketPath);
  const signal = opts.signal;
  if (signal?.aborted) throw stopped();
  const socket = await openSocket(socketPath, connectTimeoutMs, signal);
  try {
    verifyAgent(socket, socketPath, opts.trust ?? defaultAgentTrust());
  } catch (e) {
    socket.destroy();
    throw e;
  }
  const onAbortEarly = (): void => void socket.destroy();
  signal?.addEventListener('abort', onAbortEarly, { once: true });
  try {
    await acceptNativeVersion(socket, socketPath, role, handshakeTimeoutMs);
  } catch (e) {
    socket.destroy();
    if (signal?.aborted) throw stopped();
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbortEarly);
  }
  // Only the service socket brings a key to this end.
  const framed = new FramedSocket(socket, { receivesSecrets: role === 'service' });
  const onAbort = (): void => framed.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let reply: Message;
    try {
      reply = await framed.receive(handshakeTimeoutMs);
    } catch (e) {
      throw handshakeReceiveFailure(socketPath, role, e, handshakeTimeoutMs);
    }
    let protocolVersion: number;
    try {
      protocolVersion = acceptWelcome(reply, role, protocolVersions(role));
    } catch (e) {
      throw handshakeRefusal(socketPath, role, e);
    } finally {
      wipeMessage(reply);
    }
    // acceptWelcome only returns for a WELCOME.
    const agentVersion = reply.type === 'welcome' ? reply.agentVersion : '';
    return { framed, protocolVersion, agentVersion, socketPath };
  } catch (e) {
    framed.destroy();
    if (signal?.aborted) throw stopped();
    if (e instanceof KesError) throw e;
    if (e instanceof ConnectionClosedError) {
      throw new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: the connection closed before the handshake was sent`);
    }
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The VersionHandshake (spec/protocol.md §4): read the agent's offer and accept our protocol's id
 * for `role`; the agent's WELCOME follows on the same connection. Bytes the agent sent after the
 * offer stay in the socket for the FramedSocket.
 * @throws KesError AGENT_HANDSHAKE_TIMEOUT / AGENT_HANDSHAKE_FAILED
 */
async function acceptNativeVersion(socket: net.Socket, socketPath: string, role: SocketRole, timeoutMs: number): Promise<void> {
  const reader = new ByteReader(socket);
  const ours = nativeVersionId(role);
  let offer: Uint8Array[];
  try {
    offer = await readOffer(reader, { timeoutMs });
  } catch (e) {
    reader.destroy();
    const protocol = protocolForRole(role);
    // Until its offer arrives, the listener has not shown it is an agent: say only what is known.
    if (e instanceof ReadTimeoutError) {
      throw new KesError('AGENT_HANDSHAKE_TIMEOUT', `${socketPath}: something is listening, but it sent no version offer within ${timeoutMs} ms (a kes-agent sends one at once; a stuck agent, or not a kes-agent socket?)`);
    }
    if (e instanceof PeerClosedError) {
      throw new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: the listener closed the connection before its version offer was complete (the ${protocol} handshake; not a kes-agent socket?)`);
    }
    throw new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: something is listening, but its first bytes are not a version offer; is this a kes-agent socket?`);
  }
  if (chooseVersion(offer, [ours]) === undefined) {
    reader.destroy();
    await new Promise<void>((resolve) => socket.end(encodeReject(), () => resolve()));
    const names = offer.map((id) => versionName(id) ?? printable(id));
    const other = role === 'control' ? NATIVE_SERVICE_VERSION_ID : NATIVE_CONTROL_VERSION_ID;
    const hint = offer.some((id) => printable(id) === other)
      ? `; this is the agent's ${role === 'control' ? 'service' : 'control'} socket, not its ${role} socket`
      : names.some((n) => n.startsWith('Service:') || n.startsWith('Control:'))
        ? '; a Haskell kes-agent? It speaks only its own protocols (use kes-agent-control with it)'
        : '';
    throw new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: the agent does not offer ${printable(ours)} (it offers ${names.join(', ') || 'nothing'})${hint}`);
  }
  const accept = encodeAccept(ours);
  socket.write(accept);
  if (reader.handOver().ended) {
    throw new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: the agent closed the connection during the ${protocolForRole(role)} handshake`);
  }
}

/** A version id as text: its ASCII up to the first NUL, anything else shown as '?'. */
function printable(id: Uint8Array): string {
  const end = id.indexOf(0);
  return Array.from(id.subarray(0, end < 0 ? id.length : end), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?')).join('');
}

function stopped(): KesError {
  return new KesError('CLIENT_STOPPED', 'the connection attempt was abandoned: the client was stopped');
}

export function assertPath(socketPath: string): void {
  if (typeof socketPath !== 'string' || socketPath === '') {
    throw new KesError('INVALID_ARGUMENT', 'agent socket path: expected a non-empty string');
  }
  if (socketPath.includes('\0')) throw new KesError('INVALID_ARGUMENT', 'agent socket path: must not contain a NUL byte');
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new KesError(
      'SOCKET_PATH_TOO_LONG',
      `${socketPath}: ${bytes} bytes is longer than a Unix socket path may be (at most ${MAX_SOCKET_PATH_BYTES}); use a shorter path`,
    );
  }
}

export function openSocket(socketPath: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    const settle = (error: KesError | undefined): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) {
        resolve(socket);
      } else {
        socket.destroy();
        reject(error);
      }
    };
    const timer = setTimeout(
      () => settle(new KesError('AGENT_UNREACHABLE', `${socketPath}: the listener did not accept the connection within ${timeoutMs} ms (a stuck agent, or its backlog is full?)`)),
      timeoutMs,
    );
    const onError = (e: Error): void => settle(connectFailure(socketPath, e));
    const onAbort = (): void => settle(stopped());
    socket.once('error', onError);
    socket.once('connect', () => settle(undefined));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The connect() error as something an operator can act on. Never includes the exception text. */
export function connectFailure(socketPath: string, e: unknown): KesError {
  const errno = errnoOf(e);
  switch (errno) {
    case 'ENOENT':
      return new KesError(
        'AGENT_SOCKET_MISSING',
        `${socketPath}: no such socket file; is kes-agent running, and is this the socket path it listens on?`,
      );
    case 'ENOTDIR':
      return new KesError('AGENT_SOCKET_MISSING', `${socketPath}: a parent of this path is not a directory; check the socket path`);
    case 'EACCES':
    case 'EPERM': {
      const uid = process.getuid?.();
      return new KesError(
        'AGENT_SOCKET_DENIED',
        `${socketPath}: permission denied${uid === undefined ? '' : ` for uid ${uid}`}; the socket's mode or its directory's keeps this user out (the control socket is for the agent's user only; the service socket needs the agent's group)`,
      );
    }
    case 'ECONNREFUSED':
      return new KesError('AGENT_UNREACHABLE', `${socketPath}: ${refusedDetail(socketPath)}`);
    case 'ENOTSOCK':
      return new KesError('AGENT_UNREACHABLE', `${socketPath}: not a socket; check the socket path`);
    default:
      return new KesError('AGENT_UNREACHABLE', `${socketPath}: cannot connect (${errno})`);
  }
}

/** On Linux a regular file refuses like a dead socket: say which it is. */
function refusedDetail(socketPath: string): string {
  let isSocket = true;
  try {
    isSocket = fs.lstatSync(socketPath).isSocket();
  } catch {
    // Vanished between connect and lstat: report the refusal as is.
  }
  return isSocket
    ? 'connection refused: nothing is listening (a stale socket file left by an agent that is no longer running?)'
    : 'connection refused: the path exists but is not a socket; check the socket path';
}

function handshakeReceiveFailure(socketPath: string, role: SocketRole, e: unknown, timeoutMs: number): KesError {
  const protocol = protocolForRole(role);
  if (e instanceof ReceiveTimeoutError) {
    return new KesError('AGENT_HANDSHAKE_TIMEOUT', `${socketPath}: no answer to the ${protocol} handshake within ${timeoutMs} ms`);
  }
  if (e instanceof ConnectionClosedError) {
    return new KesError(
      'AGENT_HANDSHAKE_FAILED',
      `${socketPath}: the agent closed the connection during the ${protocol} handshake (too many connections, or not a kes-agent socket?)`,
    );
  }
  if (e instanceof ProtocolError) {
    return new KesError(
      'AGENT_HANDSHAKE_FAILED',
      `${socketPath}: the answer to the ${protocol} handshake is not a kes-agent message (${e.code}); is this a kes-agent socket?`,
    );
  }
  return new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: the ${protocol} handshake failed`, { cause: e });
}

function handshakeRefusal(socketPath: string, role: SocketRole, e: unknown): KesError {
  if (!(e instanceof ProtocolError)) throw e;
  const fromAgent = e.peerMessage !== undefined ? ` (agent says: ${e.peerMessage})` : '';
  const hint =
    e.code === 'PROTOCOL_MISMATCH' ? `; is this the agent's ${role} socket?`
    : e.code === 'VERSION_MISMATCH' ? '; the agent and this client speak no common protocol version: upgrade the older one'
    : '';
  const code = e.message.includes(e.code) ? '' : ` (${e.code})`;
  return new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: ${e.message}${code}${fromAgent}${hint}`);
}
