/**
 * The handshake: the first frame in each direction on both sockets (spec/protocol.md "Handshake").
 *
 *     client → agent  HELLO   { protocol, versions }
 *     agent  → client WELCOME { protocol, version (highest common), agentVersion }
 *                  or ERROR   PROTOCOL_MISMATCH | VERSION_MISMATCH | UNEXPECTED_MESSAGE, then close
 */
import { KesError } from '../errors';
import {
  CONTROL_PROTOCOL,
  CONTROL_PROTOCOL_VERSIONS,
  KIND,
  SERVICE_PROTOCOL,
  SERVICE_PROTOCOL_VERSIONS,
  SUPPORTED_PROTOCOL_VERSIONS,
} from './constants';
import { ProtocolError, WIRE_ERROR_CODES, wireErrorName, type WireErrorName } from './errors';
import type { ErrorMessage, HelloMessage, Message, WelcomeMessage } from './messages';
import { MESSAGE_SCHEMAS } from './schema';

/** Which socket a connection came in on. */
export type SocketRole = 'control' | 'service';

/** The HELLO.protocol string of a socket. */
export function protocolForRole(role: SocketRole): string {
  if (role === 'control') return CONTROL_PROTOCOL;
  if (role === 'service') return SERVICE_PROTOCOL;
  throw new KesError('INVALID_ARGUMENT', 'socket role: expected "control" or "service"');
}

/**
 * Every version of the protocol of a socket of `role` this build speaks. Each protocol has its own
 * versions (spec/protocol.md §4): a change to one does not make the other's peers upgrade.
 */
export function protocolVersions(role: SocketRole): readonly number[] {
  if (role === 'control') return CONTROL_PROTOCOL_VERSIONS;
  if (role === 'service') return SERVICE_PROTOCOL_VERSIONS;
  throw new KesError('INVALID_ARGUMENT', 'socket role: expected "control" or "service"');
}

/** The highest version in both lists, or undefined when they share none. */
export function negotiateVersion(offered: readonly number[], supported: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const v of offered) {
    if (Number.isSafeInteger(v) && supported.includes(v) && (best === undefined || v > best)) best = v;
  }
  return best;
}

/** The HELLO a client sends first on a socket of `role`. */
export function buildHello(role: SocketRole, versions: readonly number[] = SUPPORTED_PROTOCOL_VERSIONS): HelloMessage {
  return { type: 'hello', protocol: protocolForRole(role), versions: [...versions] };
}

/**
 * An ERROR reply. `message` must be a fixed template filled with public numbers only (never
 * exception text or peer strings); it goes to the peer and into its logs.
 */
export function errorReply(code: WireErrorName, message: string): ErrorMessage {
  return { type: 'error', code: WIRE_ERROR_CODES[code], message };
}

function kindHex(kind: number): string {
  return `0x${kind.toString(16).padStart(2, '0')}`;
}

/**
 * What the agent answers to the first message on a socket of `role`: WELCOME with the highest
 * common version (of `supported`, by default every version of the socket's protocol), or the
 * ERROR to send before closing.
 */
export function answerHello(
  first: Message,
  role: SocketRole,
  agentVersion: string,
  supported: readonly number[] = protocolVersions(role),
): WelcomeMessage | ErrorMessage {
  const expected = protocolForRole(role);
  if (first.type !== 'hello') {
    return errorReply(
      'UNEXPECTED_MESSAGE',
      `expected HELLO (kind ${kindHex(KIND.HELLO)}) as the first message, got kind ${kindHex(MESSAGE_SCHEMAS[first.type].kind)}`,
    );
  }
  if (first.protocol !== expected) {
    // Name the other protocol only when it is one of ours: the peer's own text is never echoed.
    const other = role === 'control' ? SERVICE_PROTOCOL : CONTROL_PROTOCOL;
    const what = first.protocol === other ? `a ${other} client` : 'a client of an unknown protocol';
    return errorReply('PROTOCOL_MISMATCH', `this is the ${expected} socket, but ${what} connected to it`);
  }
  const version = negotiateVersion(first.versions, supported);
  if (version === undefined) {
    return errorReply(
      'VERSION_MISMATCH',
      `no common protocol version: the client offered ${first.versions.join(', ')}; this agent speaks ${[...supported].sort((a, b) => a - b).join(', ')}`,
    );
  }
  return { type: 'welcome', protocol: expected, version, agentVersion };
}

/**
 * The client's check of the agent's first reply. Returns the negotiated version.
 * @throws ProtocolError with the agent's code when it sent ERROR (its text in `peerMessage`);
 *   PROTOCOL_MISMATCH / VERSION_MISMATCH when WELCOME names another protocol or a version we did
 *   not offer; UNEXPECTED_MESSAGE for any other reply.
 */
export function acceptWelcome(
  reply: Message,
  role: SocketRole,
  offered: readonly number[] = SUPPORTED_PROTOCOL_VERSIONS,
): number {
  const expected = protocolForRole(role);
  if (reply.type === 'error') {
    const name = wireErrorName(reply.code);
    if (name === undefined) {
      throw new ProtocolError(
        'UNEXPECTED_MESSAGE',
        `the agent refused the ${expected} handshake with error code ${reply.code}, unknown to this client`,
        { peerMessage: reply.message },
      );
    }
    throw new ProtocolError(name, `the agent refused the ${expected} handshake: ${name}`, { peerMessage: reply.message });
  }
  if (reply.type !== 'welcome') {
    throw new ProtocolError(
      'UNEXPECTED_MESSAGE',
      `expected WELCOME (kind ${kindHex(KIND.WELCOME)}) as the agent's first message, got kind ${kindHex(MESSAGE_SCHEMAS[reply.type].kind)}`,
    );
  }
  if (reply.protocol !== expected) {
    throw new ProtocolError('PROTOCOL_MISMATCH', `the agent answered for another protocol than ${expected}`);
  }
  if (!offered.includes(reply.version)) {
    throw new ProtocolError(
      'VERSION_MISMATCH',
      `the agent chose protocol version ${reply.version}, which this client did not offer (offered ${offered.join(', ')})`,
    );
  }
  return reply.version;
}
