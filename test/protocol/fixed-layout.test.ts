/**
 * The fixed-layout decoder (src/protocol/fixed-layout.ts) against the generic borsh path it
 * replaces for bodies of integers, bools and fixed byte arrays: on every body, valid or not, the
 * same value or the same ProtocolError (code and message).
 */
import fc from 'fast-check';
import { deserialize, serialize } from 'borsh';
import { bytesEqual } from '../../src/crypto/bytes';
import { encodeMessage, type OutgoingMessage } from '../../src/protocol';
import { ProtocolError } from '../../src/protocol/errors';
import { fromWireValue } from '../../src/protocol/fields';
import { fixedLayout } from '../../src/protocol/fixed-layout';
import { FRAME_HEADER_BYTES, KIND_BYTES, MAX_WIRE_U64 } from '../../src/protocol/constants';
import { MESSAGE_SCHEMAS, MESSAGE_TYPES, toBorshSchema, type MessageType } from '../../src/protocol/schema';

const RUNS = 300;

/** The generic path of messages.ts: borsh, the canonical re-serialisation check, the field limits. */
function viaBorsh(type: MessageType, body: Uint8Array): unknown {
  const schema = MESSAGE_SCHEMAS[type];
  const borsh = toBorshSchema(schema.body);
  let decoded: unknown;
  let canonical: Uint8Array;
  try {
    decoded = deserialize(borsh, body);
    canonical = serialize(borsh, decoded);
  } catch {
    return new ProtocolError('MALFORMED_FRAME', `${schema.wireName} body does not match its schema`);
  }
  if (!bytesEqual(canonical, body)) {
    return new ProtocolError('MALFORMED_FRAME', `${schema.wireName} body is not canonical (trailing bytes, a bool other than 0/1, or bad UTF-8)`);
  }
  try {
    return fromWireValue(decoded, schema.body, type);
  } catch (e) {
    return e;
  }
}

function viaFixed(type: MessageType, body: Uint8Array): unknown {
  const f = fixedLayout(MESSAGE_SCHEMAS[type].body, type, MESSAGE_SCHEMAS[type].wireName);
  if (f === undefined) throw new Error(`${type} has no fixed layout`);
  try {
    return f.decode(body);
  } catch (e) {
    return e;
  }
}

function same(a: unknown, b: unknown): void {
  if (a instanceof Error || b instanceof Error) {
    expect(a).toBeInstanceOf(ProtocolError);
    expect(b).toBeInstanceOf(ProtocolError);
    expect({ code: (a as ProtocolError).code, message: (a as Error).message }).toEqual({ code: (b as ProtocolError).code, message: (b as Error).message });
  } else {
    expect(a).toEqual(b);
  }
}

const FIXED_TYPES = MESSAGE_TYPES.filter((t) => fixedLayout(MESSAGE_SCHEMAS[t].body, t, MESSAGE_SCHEMAS[t].wireName) !== undefined);

test('the messages a node and kes-ctl send most have a fixed layout; those with text or options do not', () => {
  expect(FIXED_TYPES).toEqual(expect.arrayContaining(['confirm', 'upload', 'keygen', 'no_key', 'key_dropped', 'import_opcert', 'drop_active', 'status']));
  expect(FIXED_TYPES).not.toEqual(expect.arrayContaining(['hello']));
  expect(FIXED_TYPES).not.toContain('error');
  expect(FIXED_TYPES).not.toContain('status_ok');
});

describe.each(FIXED_TYPES.map((t) => [t]))('%s', (type) => {
  const size = fixedLayout(MESSAGE_SCHEMAS[type].body, type, MESSAGE_SCHEMAS[type].wireName)!.bytes;

  test('random bodies of around its size: the same value or the same refusal as borsh', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: Math.max(0, size - 2), maxLength: size + 2 }), (body) => {
        same(viaFixed(type, body), viaBorsh(type, body));
      }),
      { numRuns: RUNS },
    );
  });

  test('bodies of exactly its size with the high bytes of every field set: u64 limits and bools agree', () => {
    const byte = fc.constantFrom(0, 1, 2, 0x1f, 0x20, 0x7f, 0xff);
    fc.assert(
      fc.property(fc.array(byte, { minLength: size, maxLength: size }), (bytes) => {
        const body = Uint8Array.from(bytes);
        same(viaFixed(type, body), viaBorsh(type, body));
      }),
      { numRuns: RUNS },
    );
  });
});

test('CONFIRM: seq 2^53 - 1 decodes, 2^53 is refused naming the field', () => {
  const body = (seq: bigint): Uint8Array => serialize(toBorshSchema(MESSAGE_SCHEMAS.confirm.body), { seq, result: 7 });
  expect(viaFixed('confirm', body(BigInt(MAX_WIRE_U64)))).toEqual({ seq: MAX_WIRE_U64, result: 7 });
  const refused = viaFixed('confirm', body(BigInt(MAX_WIRE_U64) + 1n));
  expect(refused).toBeInstanceOf(ProtocolError);
  expect((refused as ProtocolError).message).toBe('confirm.seq: u64 above 2^53 - 1');
});

test('a valid encoding decodes to the message it was made from', () => {
  const m: OutgoingMessage = { type: 'import_opcert', opcert: { hotVk: new Uint8Array(32).fill(3), counter: 9, kesPeriod: 400, sigma: new Uint8Array(64).fill(5), coldVk: new Uint8Array(32).fill(7) } };
  const body = encodeMessage(m).subarray(FRAME_HEADER_BYTES + KIND_BYTES);
  const { type: _t, ...fields } = m;
  expect(viaFixed('import_opcert', body)).toEqual(fields);
});
