/**
 * Our protocol's opening, after the version handshake picked it (spec/protocol.md §4; the
 * handshake itself is src/server/version-negotiation.ts and src/client/connect.ts):
 *
 *     agent  → client WELCOME { protocol, version, agentVersion }
 *                  or ERROR   PEER_NOT_ALLOWED | BUSY, then close
 */
import { KesError } from '../errors';
import {
  PROTOCOL_VERSION,
  CONTROL_PROTOCOL,
  CONTROL_PROTOCOL_VERSIONS,
  KIND,
  SERVICE_PROTOCOL,
  SERVICE_PROTOCOL_VERSIONS,
  SUPPORTED_PROTOCOL_VERSIONS,
} from './constants';
import { ProtocolError, WIRE_ERROR_CODES, wireErrorName, type WireErrorName } from './errors';
import type { ErrorMessage, Message, WelcomeMessage } from './messages';
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

/**
 * The WELCOME the agent sends, unasked, right after a client accepted our protocol's id in the
 * VersionHandshake (spec/protocol.md §4): the version is the one the id named.
 */
export function welcome(role: SocketRole, agentVersion: string): WelcomeMessage {
  return { type: 'welcome', protocol: protocolForRole(role), version: PROTOCOL_VERSION, agentVersion };
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
