/**
 * Our protocol's opening after the version handshake (spec/protocol.md §4): the agent's WELCOME
 * and the client's check of it, through real frames. The version handshake itself is tested on
 * real sockets in test/server/version-negotiation.test.ts.
 */
import { isKesError } from '../../src/errors';
import {
  CONTROL_PROTOCOL,
  PROTOCOL_VERSION,
  ProtocolError,
  SERVICE_PROTOCOL,
  WIRE_ERROR_CODES,
  WIRE_ERROR_NAMES,
  acceptWelcome,
  CONTROL_PROTOCOL_VERSIONS,
  encodeMessage,
  errorReply,
  protocolVersions,
  SERVICE_PROTOCOL_VERSIONS,
  welcome,
  wireErrorName,
  type Message,
  type OutgoingMessage,
  type SocketRole,
} from '../../src/protocol';
import { thrownBy } from '../helpers/thrown';
import { decodeOne } from './spec-parse';

/** Through real bytes both ways, as the socket would carry it. */
const wire = <M extends Message>(m: M): Message => decodeOne(encodeMessage(m as OutgoingMessage));

describe('welcome (agent side, after the version handshake picked our protocol)', () => {
  test.each(['control', 'service'] as const)('%s: WELCOME names the socket\'s protocol, version 2 and the agent version', (role) => {
    const w = welcome(role, 'kes-agent 0.1.0');
    expect(w).toEqual({ type: 'welcome', protocol: role === 'control' ? CONTROL_PROTOCOL : SERVICE_PROTOCOL, version: PROTOCOL_VERSION, agentVersion: 'kes-agent 0.1.0' });
    expect(PROTOCOL_VERSION).toBe(2);
    expect(wire(w)).toEqual(w);
  });

  test('each protocol speaks version 2 only: version 1 (HELLO first) is gone', () => {
    expect(protocolVersions('control')).toEqual([2]);
    expect(protocolVersions('service')).toEqual([2]);
    expect(CONTROL_PROTOCOL_VERSIONS).toEqual([2]);
    expect(SERVICE_PROTOCOL_VERSIONS).toEqual([2]);
  });

  test('an unknown role is a KesError INVALID_ARGUMENT', () => {
    let err: unknown;
    try {
      protocolVersions('other' as SocketRole);
    } catch (e) {
      err = e;
    }
    expect(isKesError(err, 'INVALID_ARGUMENT')).toBe(true);
  });
});

describe('acceptWelcome (client side)', () => {
  test('a WELCOME for our protocol and our version gives that version', () => {
    expect(acceptWelcome(wire(welcome('service', 'kes-agent 0.1.0')), 'service')).toBe(2);
  });

  test('an ERROR reply becomes a ProtocolError with its code; the agent text is kept apart', () => {
    const reply = errorReply('BUSY', 'the agent accepts at most 2048 service connections');
    const e = thrownBy(() => acceptWelcome(wire(reply), 'service'), ProtocolError);
    expect(e.code).toBe('BUSY');
    expect(e.wireCode).toBe(9);
    expect(e.message).toBe('the agent refused the kes-agent/service handshake: BUSY');
    expect(e.peerMessage).toBe('the agent accepts at most 2048 service connections');
  });

  test.each([
    { id: 'ERROR with a code this client does not know', reply: { type: 'error', code: 999, message: 'new' } as Message, code: 'UNEXPECTED_MESSAGE' },
    { id: 'WELCOME for the other protocol', reply: { type: 'welcome', protocol: SERVICE_PROTOCOL, version: 2, agentVersion: 'a' } as Message, code: 'PROTOCOL_MISMATCH' },
    { id: 'WELCOME with a version we do not speak', reply: { type: 'welcome', protocol: CONTROL_PROTOCOL, version: 1, agentVersion: 'a' } as Message, code: 'VERSION_MISMATCH' },
    { id: 'something other than WELCOME', reply: { type: 'no_key', seq: 1 } as Message, code: 'UNEXPECTED_MESSAGE' },
  ])('$id → ProtocolError $code', ({ reply, code }) => {
    expect(thrownBy(() => acceptWelcome(wire(reply), 'control'), ProtocolError).code).toBe(code);
  });
});

describe('error code tables', () => {
  test('WIRE_ERROR_NAMES is the exact reverse of WIRE_ERROR_CODES; codes are unique and non-zero', () => {
    const entries = Object.entries(WIRE_ERROR_CODES);
    expect(new Set(entries.map(([, c]) => c)).size).toBe(entries.length);
    for (const [name, code] of entries) {
      expect(code).toBeGreaterThan(0);
      expect(WIRE_ERROR_NAMES[code]).toBe(name);
      expect(wireErrorName(code)).toBe(name);
    }
    expect(Object.keys(WIRE_ERROR_NAMES).length).toBe(entries.length);
  });

  test('the codes are the stable numbers of the design (never renumber)', () => {
    expect(WIRE_ERROR_CODES).toEqual({
      MALFORMED_FRAME: 1, UNKNOWN_KIND: 2, VERSION_MISMATCH: 3, PROTOCOL_MISMATCH: 4, UNEXPECTED_MESSAGE: 5,
      FRAME_TOO_LARGE: 6, HANDSHAKE_TIMEOUT: 7, INTERNAL: 8, BUSY: 9, PEER_NOT_ALLOWED: 10,
      NO_STAGED_KEY: 16, STAGED_KEY_EXISTS: 17, NO_OPCERT: 18, OPCERT_WRONG_COLD_KEY: 19, OPCERT_BAD_SIGNATURE: 20,
      OPCERT_WRONG_KES_KEY: 21, OPCERT_EXPIRED: 22, OPCERT_COUNTER_TOO_LOW: 23, NO_ACTIVE_KEY: 24,
      CHAIN_NOT_STARTED: 25, KEY_EXHAUSTED: 26, OPCERT_NOT_YET_VALID: 27,
      NODE_KEY_INVALID: 40, NODE_OPCERT_INVALID: 41, NODE_KEY_EXPIRED: 42,
    });
  });

  test.each([0, 11, 43, 65535, -1, 1.5])('wireErrorName(%p) is undefined', (code) => {
    expect(wireErrorName(code)).toBeUndefined();
  });

  test('wireErrorName does not look up inherited properties', () => {
    expect(wireErrorName('constructor' as unknown as number)).toBeUndefined();
  });

  test('errorReply builds an encodable ERROR', () => {
    const m = errorReply('BUSY', 'too many connections (16)');
    expect(wire(m)).toEqual({ type: 'error', code: 9, message: 'too many connections (16)' });
  });
});
