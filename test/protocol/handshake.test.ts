/**
 * Handshake helpers: version negotiation, the agent's answer to the first frame, and the client's
 * check of the reply, including a full exchange through real frames.
 */
import { isKesError } from '../../src/errors';
import {
  CONTROL_PROTOCOL,
  MAX_HELLO_VERSIONS,
  PROTOCOL_VERSION,
  ProtocolError,
  SERVICE_PROTOCOL,
  WIRE_ERROR_CODES,
  WIRE_ERROR_NAMES,
  acceptWelcome,
  answerHello,
  buildHello,
  CONTROL_PROTOCOL_VERSIONS,
  encodeMessage,
  errorReply,
  negotiateVersion,
  protocolVersions,
  SERVICE_PROTOCOL_VERSIONS,
  wireErrorName,
  type Message,
  type OutgoingMessage,
  type SocketRole,
} from '../../src/protocol';
import { decodeOne } from './spec-parse';

/** Through real bytes both ways, as the socket would carry it. */
const wire = <M extends Message>(m: M): Message => decodeOne(encodeMessage(m as OutgoingMessage));

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('negotiateVersion', () => {
  test.each([
    { id: 'same single version', offered: [1], supported: [1], want: 1 },
    { id: 'highest common', offered: [1, 2, 3], supported: [2, 3, 4], want: 3 },
    { id: 'order does not matter', offered: [3, 1, 2], supported: [2, 1], want: 2 },
    { id: 'nothing offered', offered: [], supported: [1], want: undefined },
    { id: 'nothing in common', offered: [2, 3], supported: [1], want: undefined },
    { id: 'non-integers ignored', offered: [1.5, NaN, 1], supported: [1, 1.5], want: 1 },
  ])('$id', ({ offered, supported, want }) => {
    expect(negotiateVersion(offered, supported)).toBe(want);
  });
});

describe('buildHello', () => {
  test.each([
    { role: 'control' as const, protocol: CONTROL_PROTOCOL },
    { role: 'service' as const, protocol: SERVICE_PROTOCOL },
  ])('$role socket: protocol $protocol, version PROTOCOL_VERSION, survives the wire', ({ role, protocol }) => {
    const hello = buildHello(role);
    expect(hello).toEqual({ type: 'hello', protocol, versions: [PROTOCOL_VERSION] });
    expect(wire(hello)).toEqual(hello);
  });

  test('an unknown role is a KesError INVALID_ARGUMENT', () => {
    let err: unknown;
    try {
      buildHello('admin' as SocketRole);
    } catch (e) {
      err = e;
    }
    expect(isKesError(err, 'INVALID_ARGUMENT')).toBe(true);
  });
});

describe('answerHello (agent side)', () => {
  test.each(['control', 'service'] as const)('%s: a matching HELLO gets WELCOME with the highest common version', (role) => {
    const reply = answerHello(wire(buildHello(role, [1, 7])), role, 'kes-agent 0.1.0');
    expect(reply).toEqual({ type: 'welcome', protocol: buildHello(role).protocol, version: 1, agentVersion: 'kes-agent 0.1.0' });
    expect(answerHello(buildHello(role, [1, 2, 3]), role, 'x', [2, 3])).toMatchObject({ type: 'welcome', version: 3 });
  });

  test('each protocol has its own versions: control 1 and 2 (the counter floor), service 1 only', () => {
    expect(protocolVersions('control')).toEqual([1, 2]);
    expect(protocolVersions('service')).toEqual([1]);
    expect(CONTROL_PROTOCOL_VERSIONS).toEqual([1, 2]);
    expect(SERVICE_PROTOCOL_VERSIONS).toEqual([1]);
    expect(answerHello(wire(buildHello('control', [1, 2])), 'control', 'x')).toMatchObject({ type: 'welcome', version: 2 });
    expect(answerHello(wire(buildHello('control', [2])), 'control', 'x')).toMatchObject({ type: 'welcome', version: 2 });
    expect(answerHello(wire(buildHello('control', [1])), 'control', 'x')).toMatchObject({ type: 'welcome', version: 1 });
    expect(answerHello(wire(buildHello('service', [1, 2])), 'service', 'x')).toMatchObject({ type: 'welcome', version: 1 });
    // Until a client asks for a protocol's own list, it offers what both protocols speak.
    expect(buildHello('control').versions).toEqual([PROTOCOL_VERSION]);
  });

  test.each([
    {
      id: 'a node on the control socket',
      first: buildHello('service'),
      role: 'control' as const,
      code: 'PROTOCOL_MISMATCH',
      message: 'this is the kes-agent/control socket, but a kes-agent/service client connected to it',
    },
    {
      id: 'kes-ctl on the service socket',
      first: buildHello('control'),
      role: 'service' as const,
      code: 'PROTOCOL_MISMATCH',
      message: 'this is the kes-agent/service socket, but a kes-agent/control client connected to it',
    },
    {
      id: 'an unknown protocol (its name is not echoed)',
      first: { type: 'hello', protocol: 'evil <script>', versions: [1] } as Message,
      role: 'control' as const,
      code: 'PROTOCOL_MISMATCH',
      message: 'this is the kes-agent/control socket, but a client of an unknown protocol connected to it',
    },
    {
      id: 'no common version',
      first: buildHello('control', [3, 4]),
      role: 'control' as const,
      code: 'VERSION_MISMATCH',
      message: 'no common protocol version: the client offered 3, 4; this agent speaks 1, 2',
    },
    {
      id: 'no common version (service: control version 2 is not a service version)',
      first: buildHello('service', [2, 3]),
      role: 'service' as const,
      code: 'VERSION_MISMATCH',
      message: 'no common protocol version: the client offered 2, 3; this agent speaks 1',
    },
    {
      id: 'a request before HELLO',
      first: { type: 'status' } as Message,
      role: 'control' as const,
      code: 'UNEXPECTED_MESSAGE',
      message: 'expected HELLO (kind 0x01) as the first message, got kind 0x14',
    },
    {
      id: 'a CONFIRM before HELLO',
      first: { type: 'confirm', seq: 1, result: 0 } as Message,
      role: 'service' as const,
      code: 'UNEXPECTED_MESSAGE',
      message: 'expected HELLO (kind 0x01) as the first message, got kind 0x58',
    },
  ])('$id → ERROR $code', ({ first, role, code, message }) => {
    const reply = answerHello(first, role, 'kes-agent 0.1.0');
    expect(reply).toEqual({ type: 'error', code: WIRE_ERROR_CODES[code as keyof typeof WIRE_ERROR_CODES], message });
    expect(wire(reply)).toEqual(reply); // the reply is within every wire limit
  });

  test('the VERSION_MISMATCH reply for the largest possible offer still fits ERROR.message', () => {
    const reply = answerHello(buildHello('control', Array(MAX_HELLO_VERSIONS).fill(65535)), 'control', 'x');
    expect(reply.type).toBe('error');
    expect(wire(reply)).toEqual(reply);
  });
});

describe('acceptWelcome (client side)', () => {
  test('a WELCOME for our protocol and an offered version gives that version', () => {
    const welcome = answerHello(buildHello('service'), 'service', 'kes-agent 0.1.0');
    expect(acceptWelcome(wire(welcome), 'service')).toBe(1);
  });

  test('an ERROR reply becomes a ProtocolError with its code; the agent text is kept apart', () => {
    const reply = answerHello(buildHello('service', [2]), 'service', 'x');
    const e = thrown(() => acceptWelcome(wire(reply), 'service', [2]));
    expect(e.code).toBe('VERSION_MISMATCH');
    expect(e.wireCode).toBe(3);
    expect(e.message).toBe('the agent refused the kes-agent/service handshake: VERSION_MISMATCH');
    expect(e.peerMessage).toBe('no common protocol version: the client offered 2; this agent speaks 1');
  });

  test.each([
    { id: 'ERROR with a code this client does not know', reply: { type: 'error', code: 999, message: 'new' } as Message, code: 'UNEXPECTED_MESSAGE' },
    { id: 'WELCOME for the other protocol', reply: { type: 'welcome', protocol: SERVICE_PROTOCOL, version: 1, agentVersion: 'a' } as Message, code: 'PROTOCOL_MISMATCH' },
    { id: 'WELCOME with a version we did not offer', reply: { type: 'welcome', protocol: CONTROL_PROTOCOL, version: 2, agentVersion: 'a' } as Message, code: 'VERSION_MISMATCH' },
    { id: 'something other than WELCOME', reply: { type: 'no_key', seq: 1 } as Message, code: 'UNEXPECTED_MESSAGE' },
  ])('$id → ProtocolError $code', ({ reply, code }) => {
    expect(thrown(() => acceptWelcome(wire(reply), 'control')).code).toBe(code);
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
      CHAIN_NOT_STARTED: 25, KEY_EXHAUSTED: 26,
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
