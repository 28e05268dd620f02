/**
 * Property tests over every decoder that takes untrusted bytes: the wire codec
 * (FrameDecoder, decodeFrame for all message kinds, the handshake) and the cardano-cli readers
 * (CBOR, opcert, counter, text envelopes, hex).
 *
 * For each: round trips of arbitrary valid values, every truncation, random and mutated bytes,
 * trailing bytes and huge length fields. The oracle for random input is always the same: the
 * decoder either returns a value that re-encodes to exactly the input, or throws its documented
 * error type with a documented code. Anything else escaping (RangeError, TypeError, a borsh
 * Error) fails the test.
 *
 * Arbitrary messages are generated from the wire schema itself (MESSAGE_SCHEMAS), so a field
 * added to the schema is covered without touching this file.
 *
 * Runs are sized so the whole file takes a few seconds on a 2-core machine; fast-check prints
 * the seed of any failure, and FC_NUM_RUNS_SCALE=10 multiplies every run count for a longer soak.
 */
import fc from 'fast-check';
import { serialize } from 'borsh';
import { bytesEqual, concatBytes, toHex } from '../../src/crypto/bytes';
import { KesError, type ErrorCode } from '../../src/errors';
import { releaseSecret } from '../../src/crypto/secret-memory';
import {
  CONTROL_PROTOCOL,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  KES_SECRET_BYTES,
  KIND,
  MAX_FRAME_PAYLOAD_BYTES,
  MAX_WIRE_U64,
  MESSAGE_SCHEMAS,
  MESSAGE_TYPES,
  ProtocolError,
  SERVICE_PROTOCOL,
  SUPPORTED_PROTOCOL_VERSIONS,
  acceptWelcome,
  decodeFrame,
  encodeFrame,
  encodeMessage,
  errorReply,
  protocolVersions,
  type Message,
  type MessageType,
  type OutgoingMessage,
  type SocketRole,
  type WireErrorName,
} from '../../src/protocol';
import { encodedBytesRange, toBorshSchema, type FieldSpec } from '../../src/protocol/schema';
import { utf8Length } from '../../src/protocol/fields';
import { CBOR_MAX_DEPTH, decodeCbor, encodeCbor, type CborValue } from '../../src/cardano/cbor';
import { decodeOpcert, encodeOpcert, type Opcert } from '../../src/cardano/opcert';
import { decodeCounter, encodeCounter } from '../../src/cardano/counter';
import {
  ENVELOPE_TYPES,
  formatEnvelope,
  formatSecretEnvelope,
  isSecretEnvelopeType,
  parseEnvelope,
  type EnvelopeType,
  type PublicEnvelopeType,
} from '../../src/cardano/envelope';
import { hexDecodeInto } from '../../src/cardano/hex-bytes';

// ---------------------------------------------------------------------------------------------
// Run counts: enough to matter in CI time, small enough that the file stays a few seconds.

const SCALE = Math.max(1, Number(process.env['FC_NUM_RUNS_SCALE'] ?? '1') || 1);
/** Cheap properties (one encode/decode per run). */
const RUNS = 200 * SCALE;
/** Properties that decode a value many times per run (every truncation of it). */
const RUNS_HEAVY = 30 * SCALE;
/** Per message type, for properties repeated over all ~20 types. */
const RUNS_PER_TYPE = 40 * SCALE;
/**
 * The every-truncation property decodes each prefix, and borsh copies its input, so a run costs
 * about (payload bytes)²: runs per type are this budget over the largest payload², 2..RUNS_HEAVY.
 */
const TRUNCATION_BUDGET_BYTES_SQUARED = 2_000_000 * SCALE;

function truncationRuns(type: MessageType): number {
  const schema = MESSAGE_SCHEMAS[type];
  const largest = 1 + encodedBytesRange(schema.body).max + (schema.secret ? KES_SECRET_BYTES : 0);
  return Math.max(2, Math.min(RUNS_HEAVY, Math.floor(TRUNCATION_BUDGET_BYTES_SQUARED / largest ** 2)));
}
const opts = (numRuns: number): fc.Parameters<unknown> => ({ numRuns });

/** What decodeFrame may throw for bad bytes (spec/protocol.md "Error codes", framing group). */
const DECODE_ERRORS: ReadonlySet<WireErrorName> = new Set(['MALFORMED_FRAME', 'UNKNOWN_KIND', 'FRAME_TOO_LARGE']);
/** What the CBOR-based readers may throw for bad bytes. */
const CBOR_ERRORS: ReadonlySet<ErrorCode> = new Set(['CBOR_MALFORMED', 'OUT_OF_RANGE']);
/** What parseEnvelope may throw for bad bytes. */
const ENVELOPE_ERRORS: ReadonlySet<ErrorCode> = new Set(['FILE_NOT_ENVELOPE', 'ENVELOPE_WRONG_TYPE', 'ENVELOPE_BAD_HEX']);
/** A one-line error message: no control characters (so no newline), bounded. */
const MAX_ERROR_TEXT_CHARS = 400;

const ALL_KINDS: readonly number[] = Object.values(KIND);

// ---------------------------------------------------------------------------------------------
// Arbitraries generated from the wire schema

/** Remove what textProblem refuses, then cut to `maxBytes` of UTF-8 at a code point boundary. */
function wireSafe(s: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '')) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // a lone surrogate
    const n = utf8Length(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function arbString(maxBytes: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: maxBytes }),
      fc.string({ unit: 'grapheme-ascii', minLength: maxBytes, maxLength: maxBytes }),
      fc.string({ unit: 'grapheme', maxLength: 8 }),
    )
    .map((s) => wireSafe(s, maxBytes));
}

function arbField(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.t) {
    case 'uint':
      return fc.integer({ min: spec.min, max: spec.bits === 64 ? MAX_WIRE_U64 : 2 ** spec.bits - 1 });
    case 'bool':
      return fc.boolean();
    case 'bytes':
      return fc.uint8Array({ minLength: spec.len, maxLength: spec.len });
    case 'string':
      return arbString(spec.maxBytes);
    case 'vec':
      return fc.array(arbField(spec.item), { minLength: spec.minCount, maxLength: spec.maxCount });
    case 'option':
      return fc.option(arbField(spec.inner), { nil: null });
    case 'struct':
      return fc.record(Object.fromEntries(Object.entries(spec.fields).map(([k, f]) => [k, arbField(f)])));
  }
}

const arbSecret = fc.uint8Array({ minLength: KES_SECRET_BYTES, maxLength: KES_SECRET_BYTES });

function arbMessageOf(type: MessageType): fc.Arbitrary<Message> {
  const schema = MESSAGE_SCHEMAS[type];
  const body = arbField(schema.body) as fc.Arbitrary<Record<string, unknown>>;
  if (!schema.secret) return body.map((b) => ({ type, ...b }) as Message);
  return fc.tuple(body, arbSecret).map(([b, secret]) => ({ type, ...b, secret }) as Message);
}

const arbAnyMessage: fc.Arbitrary<Message> = fc.oneof(...MESSAGE_TYPES.map(arbMessageOf));

// ---------------------------------------------------------------------------------------------
// Byte mutations: what a fuzzer does to a valid encoding

type Mutation = (b: Uint8Array) => Uint8Array;

const at = (i: number, n: number): number => (n === 0 ? 0 : i % n);

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  // bit flip
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, bit]): Mutation => (b) => {
    const c = b.slice();
    if (c.length > 0) c[at(i, c.length)]! ^= 1 << bit;
    return c;
  }),
  // byte set (boundary values are likelier than random ones to hit an edge)
  fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(0, 1, 2, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 }))).map(
    ([i, v]): Mutation => (b) => {
      const c = b.slice();
      if (c.length > 0) c[at(i, c.length)] = v;
      return c;
    },
  ),
  // delete a range
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 16 })).map(([i, n]): Mutation => (b) => {
    const s = at(i, b.length);
    return concatBytes(b.subarray(0, s), b.subarray(s + n));
  }),
  // insert random bytes
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, ins]): Mutation => (b) => {
    const s = at(i, b.length + 1);
    return concatBytes(b.subarray(0, s), ins, b.subarray(s));
  }),
  // duplicate a slice in place
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 32 })).map(([i, n]): Mutation => (b) => {
    const s = at(i, b.length);
    return concatBytes(b.subarray(0, s + n), b.subarray(s));
  }),
  // overwrite 4 bytes with a boundary u32 (length prefixes, counts), either byte order
  fc
    .tuple(fc.nat(), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, MAX_FRAME_PAYLOAD_BYTES + 1), fc.boolean())
    .map(([i, v, little]): Mutation => (b) => {
      const c = b.slice();
      if (c.length >= 4) new DataView(c.buffer).setUint32(at(i, c.length - 3), v, little);
      return c;
    }),
);

const arbMutations = fc.array(arbMutation, { minLength: 1, maxLength: 3 });
const mutate = (b: Uint8Array, ms: Mutation[]): Uint8Array => ms.reduce((x, m) => m(x), b);

// ---------------------------------------------------------------------------------------------
// Oracles

function payloadOf(frame: Uint8Array): Uint8Array {
  return frame.slice(FRAME_HEADER_BYTES);
}

function assertOneLine(message: string, what: string): void {
  if (/[\u0000-\u001f\u007f-\u009f]/.test(message) || message.length > MAX_ERROR_TEXT_CHARS) {
    throw new Error(`${what}: error message is not one bounded line: ${JSON.stringify(message.slice(0, 200))}`);
  }
}

/**
 * Decode one payload (a copy: decodeFrame wipes a KEY's secret segment). Returns the message, or
 * the ProtocolError; anything else thrown propagates and fails the property.
 */
function decodePayload(payload: Uint8Array): Message | ProtocolError {
  try {
    return decodeFrame({ kind: payload[0] ?? 0, payload: payload.slice() });
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
}

/**
 * The decoder oracle for arbitrary payload bytes: a valid message re-encodes to exactly those
 * bytes; a refusal is a documented wire code whose message the agent can send back in ERROR.
 */
function checkPayload(payload: Uint8Array): Message | ProtocolError {
  const r = decodePayload(payload);
  if (r instanceof ProtocolError) {
    if (!DECODE_ERRORS.has(r.code)) throw new Error(`decodeFrame refused with undocumented code ${r.code}`);
    // The agent echoes this message in ERROR: it must be encodable (one line, within the limit).
    encodeMessage(errorReply(r.code, r.message));
    assertOneLine(r.message, 'decodeFrame');
    return r;
  }
  const again = encodeMessage(r as OutgoingMessage);
  if (!bytesEqual(payloadOf(again), payload)) {
    throw new Error(`decoded ${r.type} re-encodes to other bytes:\n in  ${toHex(payload)}\n out ${toHex(payloadOf(again))}`);
  }
  if (r.type === 'key') releaseSecret(r.secret);
  return r;
}

/** The code a KesError-throwing reader fails with, or 'ok'. Other errors propagate. */
function kesCode(f: () => unknown, allowed: ReadonlySet<ErrorCode>, what: string): ErrorCode | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof KesError)) throw e;
    if (!allowed.has(e.code)) throw new Error(`${what} refused with undocumented code ${e.code}: ${e.message}`);
    assertOneLine(e.message, what);
    return e.code;
  }
}

/** Plain-JSON view of a decoded value (bytes as hex), for deep equality. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

// ---------------------------------------------------------------------------------------------
// Frames and messages

describe('messages: round trip', () => {
  test.each(MESSAGE_TYPES.map((t) => [t]))('%s: encode → FrameDecoder → decodeFrame gives the same message and bytes', (type) => {
    fc.assert(
      fc.property(arbMessageOf(type), (m) => {
        const frame = encodeMessage(m as OutgoingMessage);
        const d = new FrameDecoder();
        d.push(frame.slice());
        const f = d.next();
        expect(f).toBeDefined();
        expect(d.next()).toBeUndefined();
        expect(d.atFrameBoundary).toBe(true);
        const back = decodeFrame(f!);
        expect(plain(back)).toEqual(plain(m));
        expect(toHex(encodeMessage(back as OutgoingMessage))).toBe(toHex(frame));
      }),
      opts(RUNS_PER_TYPE),
    );
  });
});

describe('messages: truncation', () => {
  test.each(MESSAGE_TYPES.map((t) => [t]))('%s: every payload prefix is MALFORMED_FRAME, every frame prefix is held back', (type) => {
    fc.assert(
      fc.property(arbMessageOf(type), (m) => {
        const frame = encodeMessage(m as OutgoingMessage);
        const payload = payloadOf(frame);
        // A prefix with a length field that matches the cut: the decoder sees a short body.
        for (let n = 0; n < payload.length; n++) {
          const r = checkPayload(payload.subarray(0, n));
          if (!(r instanceof ProtocolError) || r.code !== 'MALFORMED_FRAME') {
            throw new Error(`${type}: payload cut to ${n} of ${payload.length} bytes was not refused as MALFORMED_FRAME`);
          }
        }
        // A prefix of the frame itself: the stream decoder waits, it never returns a frame.
        for (let n = 1; n < frame.length; n++) {
          const d = new FrameDecoder();
          d.push(frame.slice(0, n));
          if (d.next() !== undefined || d.atFrameBoundary) throw new Error(`${type}: frame cut to ${n} bytes produced a frame`);
        }
      }),
      opts(truncationRuns(type)),
    );
  });
});

describe('messages: trailing bytes', () => {
  test.each(MESSAGE_TYPES.map((t) => [t]))('%s: any bytes after a valid payload are MALFORMED_FRAME', (type) => {
    fc.assert(
      fc.property(arbMessageOf(type), fc.uint8Array({ minLength: 1, maxLength: 64 }), (m, extra) => {
        const payload = concatBytes(payloadOf(encodeMessage(m as OutgoingMessage)), extra);
        const r = checkPayload(payload);
        return r instanceof ProtocolError && r.code === 'MALFORMED_FRAME';
      }),
      opts(RUNS_PER_TYPE),
    );
  });
});

describe('messages: random and mutated bytes', () => {
  test('random payloads after every kind byte: a message that re-encodes to the same bytes, or a documented wire code', () => {
    const kind = fc.oneof(fc.constantFrom(...ALL_KINDS), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(kind, fc.uint8Array({ maxLength: 2 * KES_SECRET_BYTES }), (k, body) => {
        checkPayload(concatBytes(Uint8Array.of(k), body));
      }),
      opts(RUNS * 4),
    );
  });

  test.each(MESSAGE_TYPES.map((t) => [t]))('%s: mutated valid payloads obey the same oracle', (type) => {
    fc.assert(
      fc.property(arbMessageOf(type), arbMutations, (m, ms) => {
        checkPayload(mutate(payloadOf(encodeMessage(m as OutgoingMessage)), ms));
      }),
      opts(RUNS_PER_TYPE * 2),
    );
  });

  test('the oracle is not vacuous: some mutations decode, some are refused with each code', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbAnyMessage, arbMutations, (m, ms) => {
        const r = checkPayload(mutate(payloadOf(encodeMessage(m as OutgoingMessage)), ms));
        seen.add(r instanceof ProtocolError ? r.code : 'decoded');
      }),
      opts(RUNS * 2),
    );
    expect([...seen].sort()).toEqual(['MALFORMED_FRAME', 'UNKNOWN_KIND', 'decoded']);
  });
});

/** Byte offsets (in the body) of every u32 length prefix (strings, vecs) of `value` under `spec`. */
function lengthPrefixes(spec: FieldSpec, value: unknown, offset: number, out: number[]): number {
  switch (spec.t) {
    case 'uint':
      return offset + spec.bits / 8;
    case 'bool':
      return offset + 1;
    case 'bytes':
      return offset + spec.len;
    case 'string':
      out.push(offset);
      return offset + 4 + utf8Length(value as string);
    case 'vec': {
      out.push(offset);
      let o = offset + 4;
      for (const item of value as unknown[]) o = lengthPrefixes(spec.item, item, o, out);
      return o;
    }
    case 'option':
      return value === null ? offset + 1 : lengthPrefixes(spec.inner, value, offset + 1, out);
    case 'struct': {
      let o = offset;
      for (const [k, f] of Object.entries(spec.fields)) o = lengthPrefixes(f, (value as Record<string, unknown>)[k], o, out);
      return o;
    }
  }
}

function hasPrefix(spec: FieldSpec): boolean {
  if (spec.t === 'string' || spec.t === 'vec') return true;
  if (spec.t === 'option') return hasPrefix(spec.inner);
  if (spec.t === 'struct') return Object.values(spec.fields).some(hasPrefix);
  return false;
}

const TYPES_WITH_LENGTH_PREFIXES = MESSAGE_TYPES.filter((t) => hasPrefix(MESSAGE_SCHEMAS[t].body));

describe('huge length fields', () => {
  test('a frame length field above MAX_FRAME_PAYLOAD_BYTES (up to u32 max) is FRAME_TOO_LARGE as soon as the 4 bytes are in, with nothing buffered', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(MAX_FRAME_PAYLOAD_BYTES + 1, 0xffffffff, 0x80000000), fc.integer({ min: MAX_FRAME_PAYLOAD_BYTES + 1, max: 0xffffffff })),
        fc.uint8Array({ maxLength: 256 }),
        (length, more) => {
          const d = new FrameDecoder();
          const header = new Uint8Array(FRAME_HEADER_BYTES);
          new DataView(header.buffer).setUint32(0, length, false);
          d.push(header);
          expect(() => d.next()).toThrow(ProtocolError);
          try {
            d.next();
          } catch (e) {
            expect((e as ProtocolError).code).toBe('FRAME_TOO_LARGE');
          }
          // Later bytes are ignored: no payload buffer was ever made for the huge length.
          d.push(more);
          expect(d.bufferedBytes).toBe(0);
          expect(d.pendingFrames).toBe(0);
        },
      ),
      opts(RUNS),
    );
  });

  test('the limit itself is inclusive: a payload of exactly MAX_FRAME_PAYLOAD_BYTES is framed (and its body refused, not its length)', () => {
    const payload = new Uint8Array(MAX_FRAME_PAYLOAD_BYTES);
    payload[0] = KIND.STATUS;
    const d = new FrameDecoder();
    d.push(encodeFrame(payload));
    const f = d.next();
    expect(f?.payload.length).toBe(MAX_FRAME_PAYLOAD_BYTES);
    expect((checkPayload(f!.payload) as ProtocolError).code).toBe('MALFORMED_FRAME');
  });

  test('a zero length field is MALFORMED_FRAME', () => {
    const d = new FrameDecoder();
    d.push(new Uint8Array(FRAME_HEADER_BYTES));
    expect(() => d.next()).toThrow(expect.objectContaining({ code: 'MALFORMED_FRAME' }) as unknown as Error);
  });

  test.each(TYPES_WITH_LENGTH_PREFIXES.map((t) => [t]))(
    '%s: a string or vec length prefix raised to a huge u32 is MALFORMED_FRAME',
    (type) => {
      const schema = MESSAGE_SCHEMAS[type];
      fc.assert(
        fc.property(
          arbMessageOf(type),
          fc.nat(),
          fc.oneof(fc.constantFrom(0xffffffff, 0x80000000, MAX_FRAME_PAYLOAD_BYTES), fc.integer({ min: MAX_FRAME_PAYLOAD_BYTES, max: 0xffffffff })),
          (m, pick, huge) => {
            const payload = payloadOf(encodeMessage(m as OutgoingMessage));
            const offsets: number[] = [];
            lengthPrefixes(schema.body, m, 0, offsets);
            const at1 = 1 + offsets[pick % offsets.length]!; // + the kind byte
            new DataView(payload.buffer).setUint32(at1, huge, true);
            const r = checkPayload(payload);
            return r instanceof ProtocolError && r.code === 'MALFORMED_FRAME';
          },
        ),
        opts(RUNS_PER_TYPE),
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The stream decoder

type RefResult = { payloads: string[]; error: WireErrorName | undefined; atBoundary: boolean };

/** The framing rule written out plainly (spec/protocol.md "Framing"), to check FrameDecoder against. */
function referenceFrames(stream: Uint8Array): RefResult {
  const payloads: string[] = [];
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let off = 0;
  for (;;) {
    const left = stream.length - off;
    if (left < FRAME_HEADER_BYTES) return { payloads, error: undefined, atBoundary: left === 0 };
    const len = view.getUint32(off, false);
    if (len === 0) return { payloads, error: 'MALFORMED_FRAME', atBoundary: true };
    if (len > MAX_FRAME_PAYLOAD_BYTES) return { payloads, error: 'FRAME_TOO_LARGE', atBoundary: true };
    if (left - FRAME_HEADER_BYTES < len) return { payloads, error: undefined, atBoundary: false };
    payloads.push(toHex(stream.subarray(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + len)));
    off += FRAME_HEADER_BYTES + len;
  }
}

/** Push `stream` split at `cuts` (copies: push wipes), draining next() after every push. */
function decodeChunked(stream: Uint8Array, cuts: number[]): RefResult {
  const d = new FrameDecoder();
  const payloads: string[] = [];
  let error: WireErrorName | undefined;
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const p of [...points, stream.length]) {
    d.push(stream.slice(prev, p));
    prev = p;
    try {
      for (let f = d.next(); f !== undefined; f = d.next()) {
        if (f.kind !== f.payload[0]) throw new Error('frame kind is not its first payload byte');
        payloads.push(toHex(f.payload));
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      if (error !== undefined && error !== e.code) throw new Error('the decoder changed its error');
      error = e.code;
    }
  }
  return { payloads, error, atBoundary: error !== undefined || d.atFrameBoundary };
}

/** A frame-ish stream: valid frames, random frames, boundary length fields and loose bytes. */
const arbSegment: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: arbAnyMessage.map((m) => encodeMessage(m as OutgoingMessage)) },
  { weight: 3, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((p) => encodeFrame(p)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, 1, MAX_FRAME_PAYLOAD_BYTES, MAX_FRAME_PAYLOAD_BYTES + 1, 0xffffffff).map((len) => {
      const h = new Uint8Array(FRAME_HEADER_BYTES);
      new DataView(h.buffer).setUint32(0, len, false);
      return h;
    }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }) },
);

describe('FrameDecoder', () => {
  test('valid frames fed in random chunkings yield the same frames as one push, and decode to the same messages', () => {
    fc.assert(
      fc.property(fc.array(arbAnyMessage, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 40 }), (msgs, cuts) => {
        const frames = msgs.map((m) => encodeMessage(m as OutgoingMessage));
        const stream = concatBytes(...frames);
        const r = decodeChunked(stream, cuts);
        expect(r.error).toBeUndefined();
        expect(r.atBoundary).toBe(true);
        expect(r.payloads).toEqual(frames.map((f) => toHex(payloadOf(f))));
      }),
      opts(RUNS),
    );
  });

  test('chunkings of one byte each give the same frames', () => {
    fc.assert(
      fc.property(fc.array(arbAnyMessage, { minLength: 1, maxLength: 3 }), (msgs) => {
        const stream = concatBytes(...msgs.map((m) => encodeMessage(m as OutgoingMessage)));
        const cuts = Array.from({ length: stream.length }, (_, i) => i);
        expect(decodeChunked(stream, cuts)).toEqual(referenceFrames(stream));
      }),
      opts(RUNS_HEAVY),
    );
  });

  test('random frame-ish streams in random chunkings: exactly the frames and the error the framing rule gives', () => {
    fc.assert(
      fc.property(fc.array(arbSegment, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 20 }), (segments, cuts) => {
        const stream = concatBytes(...segments);
        expect(decodeChunked(stream, cuts)).toEqual(referenceFrames(stream));
      }),
      opts(RUNS),
    );
  });

  test('pure random bytes: the same answer as the framing rule, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.array(fc.nat(), { maxLength: 10 }), (stream, cuts) => {
        expect(decodeChunked(stream, cuts)).toEqual(referenceFrames(stream));
      }),
      opts(RUNS),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The handshake

const ROLES: SocketRole[] = ['control', 'service'];
const OUR_PROTOCOLS = [CONTROL_PROTOCOL, SERVICE_PROTOCOL];

/** HELLOs near the interesting cases: our protocols, a foreign one, versions around ours. */
const arbHello: fc.Arbitrary<Message> = fc
  .record({
    protocol: fc.oneof(fc.constantFrom(...OUR_PROTOCOLS), arbString(64)),
    versions: fc.array(fc.oneof(fc.constantFrom(0, ...protocolVersions('control'), ...protocolVersions('service'), 3, 0xffff), fc.integer({ min: 0, max: 0xffff })), {
      minLength: 1,
      maxLength: 8,
    }),
  })
  .map((b) => ({ type: 'hello', ...b }) as Message);

describe('handshake', () => {
  test.each(ROLES.map((r) => [r]))('%s: acceptWelcome takes any reply and returns an offered version or throws ProtocolError', (role) => {
    const arbReply = fc.oneof(
      arbAnyMessage,
      fc
        .record({ protocol: fc.constantFrom(...OUR_PROTOCOLS), version: fc.integer({ min: 0, max: 3 }), agentVersion: arbString(64) })
        .map((b) => ({ type: 'welcome', ...b }) as Message),
    );
    fc.assert(
      fc.property(arbReply, (reply) => {
        try {
          const v = acceptWelcome(reply, role);
          expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(v);
          expect(reply.type).toBe('welcome');
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          assertOneLine(e.message, 'acceptWelcome');
        }
        if (reply.type === 'key') releaseSecret(reply.secret);
      }),
      opts(RUNS),
    );
  });

  test('mutated HELLO bytes (a retired kind a version-1 client may still send): decoded or refused with a wire code', () => {
    fc.assert(
      fc.property(arbHello, arbMutations, (hello, ms) => {
        const r = checkPayload(mutate(payloadOf(encodeMessage(hello as OutgoingMessage)), ms));
        if (!(r instanceof ProtocolError)) expect(typeof r.type).toBe('string');
      }),
      opts(RUNS),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// cardano-cli files: CBOR, opcert, counter, text envelopes, hex

const arbCborUint = fc.oneof(
  fc.integer({ min: 0, max: 30 }),
  fc.integer({ min: 0, max: 0x1_0000_0010 }),
  fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);
// Mostly short, sometimes past 255 bytes (a 2-byte length head).
const arbCborBytes = fc.oneof({ weight: 9, arbitrary: fc.uint8Array({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 250, maxLength: 300 }) });

function arbCbor(depth: number): fc.Arbitrary<CborValue> {
  const leaf: fc.Arbitrary<CborValue> = fc.oneof(arbCborUint, arbCborBytes);
  if (depth >= CBOR_MAX_DEPTH) return leaf;
  return fc.oneof({ weight: 2, arbitrary: leaf }, { weight: 1, arbitrary: fc.array(arbCbor(depth + 1), { maxLength: 4 }) });
}
const arbCborValue = arbCbor(0);

const arbOpcert: fc.Arbitrary<Opcert> = fc.record({
  hotVk: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  counter: arbCborUint,
  kesPeriod: arbCborUint,
  sigma: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  coldVk: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});
const arbCounter = fc.record({ next: arbCborUint, coldVk: fc.uint8Array({ minLength: 32, maxLength: 32 }) });

/** The CBOR oracle: decoded values re-encode to exactly the input. */
function checkCbor(bytes: Uint8Array): void {
  let v: CborValue | undefined;
  const code = kesCode(() => (v = decodeCbor(bytes, 'test.cbor')), CBOR_ERRORS, 'decodeCbor');
  if (code === 'ok' && !bytesEqual(encodeCbor(v!), bytes)) throw new Error(`decodeCbor accepted non-canonical ${toHex(bytes)}`);
}

describe('CBOR', () => {
  test('round trip: encode → decode → same value and bytes', () => {
    fc.assert(
      fc.property(arbCborValue, (v) => {
        const enc = encodeCbor(v);
        const back = decodeCbor(enc);
        expect(plain(back)).toEqual(plain(v));
        expect(toHex(encodeCbor(back))).toBe(toHex(enc));
      }),
      opts(RUNS),
    );
  });

  test('every truncation is CBOR_MALFORMED; any trailing bytes are CBOR_MALFORMED', () => {
    fc.assert(
      fc.property(arbCborValue, fc.uint8Array({ minLength: 1, maxLength: 16 }), (v, extra) => {
        const enc = encodeCbor(v);
        for (let n = 0; n < enc.length; n++) {
          if (kesCode(() => decodeCbor(enc.subarray(0, n)), CBOR_ERRORS, 'decodeCbor') !== 'CBOR_MALFORMED') throw new Error(`prefix of ${n} bytes not refused`);
        }
        expect(kesCode(() => decodeCbor(concatBytes(enc, extra)), CBOR_ERRORS, 'decodeCbor')).toBe('CBOR_MALFORMED');
      }),
      opts(RUNS_HEAVY),
    );
  });

  test('random and mutated bytes: a canonical value or CBOR_MALFORMED / OUT_OF_RANGE', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), checkCbor), opts(RUNS * 2));
    fc.assert(
      fc.property(arbCborValue, arbMutations, (v, ms) => checkCbor(mutate(encodeCbor(v), ms))),
      opts(RUNS * 2),
    );
  });

  test('huge byte-string and array lengths are refused before anything is allocated', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2, 4), // byte string, array
        fc.constantFrom<[number, number]>([26, 4], [27, 8]),
        fc.oneof(fc.constantFrom(2 ** 32 - 1, 2 ** 53 - 1), fc.integer({ min: 2 ** 16, max: 2 ** 53 - 1 })),
        fc.uint8Array({ maxLength: 32 }),
        (major, [ai, size], n, rest) => {
          if (size === 4 && n > 2 ** 32 - 1) n = 2 ** 32 - 1;
          if (size === 8 && n < 2 ** 32) n += 2 ** 32; // canonical: an 8-byte head only for n ≥ 2^32
          const head = new Uint8Array(1 + size);
          head[0] = (major << 5) | ai;
          const view = new DataView(head.buffer);
          if (size === 4) view.setUint32(1, n);
          else view.setBigUint64(1, BigInt(n));
          expect(kesCode(() => decodeCbor(concatBytes(head, rest)), CBOR_ERRORS, 'decodeCbor')).toBe('CBOR_MALFORMED');
        },
      ),
      opts(RUNS),
    );
    // Above 2^53 - 1 the head itself is refused: integers are JS numbers here.
    expect(kesCode(() => decodeCbor(Uint8Array.of(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), CBOR_ERRORS, 'decodeCbor')).toBe('OUT_OF_RANGE');
  });
});

describe('opcert and counter CBOR', () => {
  test('round trips', () => {
    fc.assert(
      fc.property(arbOpcert, arbCounter, (oc, c) => {
        expect(plain(decodeOpcert(encodeOpcert(oc)))).toEqual(plain(oc));
        expect(plain(decodeCounter(encodeCounter(c)))).toEqual(plain(c));
      }),
      opts(RUNS),
    );
  });

  test('every truncation and any trailing bytes are CBOR_MALFORMED', () => {
    fc.assert(
      fc.property(arbOpcert, arbCounter, fc.uint8Array({ minLength: 1, maxLength: 8 }), (oc, c, extra) => {
        for (const [enc, decode] of [
          [encodeOpcert(oc), decodeOpcert],
          [encodeCounter(c), decodeCounter],
        ] as const) {
          for (let n = 0; n < enc.length; n++) {
            if (kesCode(() => decode(enc.subarray(0, n)), CBOR_ERRORS, 'decode') !== 'CBOR_MALFORMED') throw new Error(`prefix of ${n} bytes not refused`);
          }
          expect(kesCode(() => decode(concatBytes(enc, extra)), CBOR_ERRORS, 'decode')).toBe('CBOR_MALFORMED');
        }
      }),
      opts(RUNS_HEAVY),
    );
  });

  test('mutated bytes: a value that re-encodes to the same bytes, or CBOR_MALFORMED / OUT_OF_RANGE', () => {
    fc.assert(
      fc.property(arbOpcert, arbCounter, arbMutations, (oc, c, ms) => {
        const a = mutate(encodeOpcert(oc), ms);
        let o: Opcert | undefined;
        if (kesCode(() => (o = decodeOpcert(a)), CBOR_ERRORS, 'decodeOpcert') === 'ok') expect(toHex(encodeOpcert(o!))).toBe(toHex(a));
        const b = mutate(encodeCounter(c), ms);
        let k: ReturnType<typeof decodeCounter> | undefined;
        if (kesCode(() => (k = decodeCounter(b)), CBOR_ERRORS, 'decodeCounter') === 'ok') expect(toHex(encodeCounter(k!))).toBe(toHex(b));
      }),
      opts(RUNS * 2),
    );
  });
});

const PUBLIC_TYPES = (Object.values(ENVELOPE_TYPES) as EnvelopeType[]).filter((t): t is PublicEnvelopeType => !isSecretEnvelopeType(t));
const ALL_ENVELOPE_TYPES = Object.values(ENVELOPE_TYPES) as EnvelopeType[];

const arbEnvelope = fc.record({
  type: fc.constantFrom(...ALL_ENVELOPE_TYPES),
  description: fc.oneof(fc.constantFrom('', 'KES Signing Key'), fc.string({ unit: 'binary', maxLength: 40 })),
  cbor: fc.uint8Array({ maxLength: 700 }),
});

function envelopeBytes(env: { type: EnvelopeType; description: string; cbor: Uint8Array }): Uint8Array {
  if (isSecretEnvelopeType(env.type)) return new Uint8Array(formatSecretEnvelope(env));
  return new Uint8Array(Buffer.from(formatEnvelope({ ...env, type: env.type }), 'utf8'));
}

/**
 * The envelope oracle, against JSON.parse (test data only, never secret): whatever the scanner
 * accepts is a JSON object with exactly the three string members, whose cborHex is the decoded
 * bytes; whatever it refuses carries a documented code.
 */
function checkEnvelope(bytes: Uint8Array): void {
  let env: ReturnType<typeof parseEnvelope> | undefined;
  const code = kesCode(() => (env = parseEnvelope(bytes, 'test.envelope', ALL_ENVELOPE_TYPES)), ENVELOPE_ERRORS, 'parseEnvelope');
  if (code !== 'ok') return;
  const json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
  expect(Object.keys(json).sort()).toEqual(['cborHex', 'description', 'type']);
  expect(json['type']).toBe(env!.type);
  expect(json['description']).toBe(env!.description);
  expect(typeof json['cborHex']).toBe('string');
  expect((json['cborHex'] as string).toLowerCase()).toBe(toHex(env!.cbor));
  releaseSecret(env!.cbor);
}

describe('text envelopes', () => {
  test('round trip: formatted public and secret envelopes parse back to the same type, description and bytes', () => {
    fc.assert(
      fc.property(arbEnvelope, (env) => {
        const back = parseEnvelope(envelopeBytes(env), 'test.envelope', [env.type]);
        expect(back.type).toBe(env.type);
        expect(back.description).toBe(env.description);
        expect(toHex(back.cbor)).toBe(toHex(env.cbor));
        expect(PUBLIC_TYPES.length + 2).toBe(ALL_ENVELOPE_TYPES.length);
      }),
      opts(RUNS),
    );
  });

  test('every truncation is refused with a documented code (except dropping the final whitespace)', () => {
    fc.assert(
      fc.property(arbEnvelope, (env) => {
        const bytes = envelopeBytes(env);
        const text = Buffer.from(bytes).toString('utf8');
        const whole = Buffer.byteLength(text.trimEnd(), 'utf8');
        for (let n = 0; n < bytes.length; n++) {
          const code = kesCode(() => parseEnvelope(bytes.subarray(0, n), 'test.envelope', ALL_ENVELOPE_TYPES), ENVELOPE_ERRORS, 'parseEnvelope');
          if ((code === 'ok') !== n >= whole) throw new Error(`prefix of ${n} of ${bytes.length} bytes: ${code}`);
        }
      }),
      opts(RUNS_HEAVY),
    );
  });

  test('trailing non-whitespace bytes are FILE_NOT_ENVELOPE', () => {
    fc.assert(
      fc.property(arbEnvelope, fc.uint8Array({ minLength: 1, maxLength: 8 }).filter((x) => x.some((c) => ![0x20, 0x0a, 0x0d, 0x09].includes(c))), (env, extra) => {
        const bytes = concatBytes(envelopeBytes(env), extra);
        expect(kesCode(() => parseEnvelope(bytes, 'test.envelope', ALL_ENVELOPE_TYPES), ENVELOPE_ERRORS, 'parseEnvelope')).toBe('FILE_NOT_ENVELOPE');
      }),
      opts(RUNS),
    );
  });

  test('random and mutated bytes: accepted only when JSON.parse agrees, otherwise a documented code', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), checkEnvelope), opts(RUNS));
    fc.assert(fc.property(arbEnvelope, arbMutations, (env, ms) => checkEnvelope(mutate(envelopeBytes(env), ms))), opts(RUNS * 2));
  });

  test('refusals of a secret envelope never echo its hex', () => {
    fc.assert(
      fc.property(arbMutations, fc.uint8Array({ minLength: 16, maxLength: 64 }), (ms, secret) => {
        const bytes = mutate(envelopeBytes({ type: ENVELOPE_TYPES.kesSigningKey, description: 'KES Signing Key', cbor: secret }), ms);
        try {
          releaseSecret(parseEnvelope(bytes, 'kes.skey', ALL_ENVELOPE_TYPES).cbor);
        } catch (e) {
          if (!(e instanceof KesError)) throw e;
          const hex = toHex(secret);
          for (let i = 0; i + 16 <= hex.length; i += 8) expect(e.message.toLowerCase()).not.toContain(hex.slice(i, i + 16));
        }
      }),
      opts(RUNS),
    );
  });
});

describe('text envelopes: what an error may echo (found by the properties above)', () => {
  const seedHex = '5820' + '9f'.repeat(32);
  test.each([
    ['a cold.skey whose cborHex lost its member name', `{"type": "StakePoolSigningKey_ed25519", "description": "", "${seedHex}": "00"}`, '9f9f9f9f'],
    ['a member name with a C1 control (U+009B, CSI)', '{"type": "x", "description": "", "a\u009b2J": "00"}', '\u009b'],
    ['a type that is a hex run', `{"type": "${seedHex}", "description": "", "cborHex": "00"}`, '9f9f9f9f'],
    ['a type with DEL', '{"type": "Stake\u007fPool", "description": "", "cborHex": "00"}', '\u007f'],
  ])('%s: refused, and the message does not show it', (_, text, hidden) => {
    let e: unknown;
    try {
      parseEnvelope(Buffer.from(text, 'utf8'), 'cold.skey', ALL_ENVELOPE_TYPES);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(KesError);
    expect((e as KesError).message).not.toContain(hidden);
    assertOneLine((e as KesError).message, 'parseEnvelope');
  });
});

describe('hex decoding of cborHex', () => {
  test('hexDecodeInto agrees with Buffer hex decoding on valid digits and says false on anything else', () => {
    const arbChar = fc.oneof(fc.constantFrom(...'0123456789abcdefABCDEF'.split('').map((c) => c.charCodeAt(0))), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(arbChar, arbChar), { maxLength: 64 }), (pairs) => {
        const src = Uint8Array.from(pairs.flat());
        const dst = new Uint8Array(pairs.length);
        const ok = hexDecodeInto(src, 0, src.length, dst);
        const text = String.fromCharCode(...src);
        expect(ok).toBe(/^[0-9a-fA-F]*$/.test(text));
        if (ok) expect(toHex(dst)).toBe(Buffer.from(text, 'hex').toString('hex'));
      }),
      opts(RUNS),
    );
  });
});

test('the oracle refuses what borsh alone accepts: a u64 above 2^53 - 1 is MALFORMED_FRAME, not rounded', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: BigInt(MAX_WIRE_U64) + 1n, max: 2n ** 64n - 1n }), (seq) => {
      const body = serialize(toBorshSchema(MESSAGE_SCHEMAS.no_key.body), { seq });
      const r = checkPayload(concatBytes(Uint8Array.of(KIND.NO_KEY), body));
      return r instanceof ProtocolError && r.code === 'MALFORMED_FRAME';
    }),
    opts(RUNS),
  );
});
