/**
 * FrameDecoder / encodeFrame: reassembly at every split point, limits enforced before buffering,
 * chunk wiping, and the "need more bytes is a value" contract.
 */
import * as secretMemory from '../../src/crypto/secret-memory';
import { concatBytes, toHex } from '../../src/crypto/bytes';
import { isKesError } from '../../src/errors';
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  KIND,
  MAX_FRAME_PAYLOAD_BYTES,
  ProtocolError,
  encodeFrame,
  type DecodedFrame,
} from '../../src/protocol';
import { readSpecExamples } from './spec-parse';

const examples = readSpecExamples();
const stream = concatBytes(...examples.map((e) => e.frame));
const payloadsHex = examples.map((e) => toHex(e.frame.subarray(FRAME_HEADER_BYTES)));

function drain(d: FrameDecoder): DecodedFrame[] {
  const out: DecodedFrame[] = [];
  for (let f = d.next(); f !== undefined; f = d.next()) out.push(f);
  return out;
}

function header(length: number): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, length, false);
  return h;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return 'no error';
}

afterEach(() => jest.restoreAllMocks());

describe('reassembly', () => {
  test('one frame in one chunk: kind and payload, nothing left over', () => {
    const d = new FrameDecoder();
    d.push(examples[0]!.frame.slice());
    const f = d.next()!;
    expect(f.kind).toBe(f.payload[0]);
    expect(toHex(f.payload)).toBe(payloadsHex[0]);
    expect(d.next()).toBeUndefined();
    expect(d.atFrameBoundary).toBe(true);
    expect(d.bufferedBytes).toBe(0);
  });

  test(`all ${examples.length} example frames in one chunk come out in order`, () => {
    const d = new FrameDecoder();
    d.push(stream.slice());
    expect(d.pendingFrames).toBe(examples.length);
    expect(drain(d).map((f) => toHex(f.payload))).toEqual(payloadsHex);
  });

  test(`the example stream split in two at every one of its ${stream.length + 1} split points`, () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const got: DecodedFrame[] = [];
      d.push(stream.slice(0, cut));
      got.push(...drain(d));
      d.push(stream.slice(cut));
      got.push(...drain(d));
      expect(got.length).toBe(examples.length);
      expect(got.map((f) => toHex(f.payload))).toEqual(payloadsHex);
      expect(d.atFrameBoundary).toBe(true);
    }
  });

  test('the example stream one byte at a time', () => {
    const d = new FrameDecoder();
    const got: DecodedFrame[] = [];
    for (let i = 0; i < stream.length; i++) {
      d.push(stream.slice(i, i + 1));
      got.push(...drain(d));
    }
    expect(got.map((f) => toHex(f.payload))).toEqual(payloadsHex);
  });

  test('the example stream in chunks of 2..17 bytes', () => {
    for (let size = 2; size <= 17; size++) {
      const d = new FrameDecoder();
      const got: DecodedFrame[] = [];
      for (let i = 0; i < stream.length; i += size) {
        d.push(stream.slice(i, i + size));
        got.push(...drain(d));
      }
      expect(got.map((f) => toHex(f.payload))).toEqual(payloadsHex);
    }
  });

  test.each(examples.map((e) => ({ id: e.type, frame: e.frame })))(
    '$id: every strict prefix is "need more bytes" (undefined), never an error',
    ({ frame }) => {
      for (let n = 0; n < frame.length; n++) {
        const d = new FrameDecoder();
        d.push(frame.slice(0, n));
        expect(d.next()).toBeUndefined();
        expect(d.atFrameBoundary).toBe(n === 0);
      }
    },
  );

  test('a maximum-size frame (65536-byte payload) is accepted; the buffer never exceeds one frame + header', () => {
    const payload = new Uint8Array(MAX_FRAME_PAYLOAD_BYTES).fill(0x11);
    const frame = encodeFrame(payload);
    const d = new FrameDecoder();
    let maxBuffered = 0;
    for (let i = 0; i < frame.length; i += 4096) {
      d.push(frame.slice(i, i + 4096));
      maxBuffered = Math.max(maxBuffered, d.bufferedBytes);
    }
    expect(maxBuffered).toBeLessThanOrEqual(FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES);
    const f = d.next()!;
    expect(f.payload.length).toBe(MAX_FRAME_PAYLOAD_BYTES);
    expect(f.payload.every((b) => b === 0x11)).toBe(true);
  });
});

describe('length field limits', () => {
  test.each([
    { id: 'length 0', length: 0, code: 'MALFORMED_FRAME' },
    { id: 'length 65537', length: MAX_FRAME_PAYLOAD_BYTES + 1, code: 'FRAME_TOO_LARGE' },
    { id: 'length 0xffffffff', length: 0xffffffff, code: 'FRAME_TOO_LARGE' },
  ])('$id → $code, found from the 4 length bytes alone, before buffering any payload', ({ length, code }) => {
    const d = new FrameDecoder();
    d.push(header(length));
    expect(d.bufferedBytes).toBe(0);
    expect(codeOf(() => d.next())).toBe(code);
    // The decoder stays failed: what follows is wiped and never buffered, and next() keeps throwing.
    const more = new Uint8Array(100_000).fill(0xab);
    d.push(more);
    expect(more.every((b) => b === 0)).toBe(true);
    expect(d.bufferedBytes).toBe(0);
    expect(d.pendingFrames).toBe(0);
    expect(codeOf(() => d.next())).toBe(code);
  });

  test('length 65536 is accepted and waits for its payload', () => {
    const d = new FrameDecoder();
    d.push(header(MAX_FRAME_PAYLOAD_BYTES));
    expect(d.next()).toBeUndefined();
    expect(d.atFrameBoundary).toBe(false);
  });

  test('frames before an oversized one are still delivered, then the error', () => {
    const d = new FrameDecoder();
    d.push(concatBytes(examples[0]!.frame, examples[1]!.frame, header(0xffffffff), examples[2]!.frame));
    expect(toHex(d.next()!.payload)).toBe(payloadsHex[0]);
    expect(toHex(d.next()!.payload)).toBe(payloadsHex[1]);
    expect(codeOf(() => d.next())).toBe('FRAME_TOO_LARGE');
  });

  test('the error carries the wire code and a message with public numbers only', () => {
    const d = new FrameDecoder();
    d.push(header(MAX_FRAME_PAYLOAD_BYTES + 1));
    try {
      d.next();
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
      const pe = e as ProtocolError;
      expect(pe.name).toBe('ProtocolError');
      expect(pe.wireCode).toBe(6);
      expect(pe.message).toBe('frame length 65537 exceeds the limit of 65536 bytes');
    }
  });
});

describe('wiping', () => {
  const key = examples.find((e) => e.type === 'key')!;

  test('push() wipes the chunk it was given (a whole KEY frame)', () => {
    const chunk = key.frame.slice();
    const d = new FrameDecoder();
    d.push(chunk);
    expect(chunk.every((b) => b === 0)).toBe(true);
    expect(toHex(d.next()!.payload)).toBe(toHex(key.frame.subarray(4)));
  });

  test('push() wipes every chunk of a KEY frame split in three', () => {
    const parts = [key.frame.slice(0, 3), key.frame.slice(3, 400), key.frame.slice(400)];
    const d = new FrameDecoder();
    for (const p of parts) d.push(p);
    for (const p of parts) expect(p.every((b) => b === 0)).toBe(true);
    expect(toHex(d.next()!.payload)).toBe(toHex(key.frame.subarray(4)));
  });

  test('a KEY payload is assembled in allocSecret() memory; other payloads are not', () => {
    const spy = jest.spyOn(secretMemory, 'allocSecret');
    const d = new FrameDecoder();
    d.push(examples.find((e) => e.type === 'status_ok')!.frame.slice());
    expect(spy).not.toHaveBeenCalled();
    expect(d.next()!.kind).toBe(KIND.STATUS_OK);
    d.push(key.frame.slice());
    expect(spy).toHaveBeenCalledTimes(1);
    expect(d.next()!.payload).toBe(spy.mock.results[0]!.value);
  });

  test('destroy() wipes a partial KEY payload and frames not yet handed out', () => {
    const spy = jest.spyOn(secretMemory, 'allocSecret');
    const d = new FrameDecoder();
    d.push(key.frame.slice()); // complete, pending
    d.push(key.frame.slice(0, 500)); // partial
    const buffers = spy.mock.results.map((r) => r.value as Uint8Array);
    expect(buffers.length).toBe(2);
    expect(buffers.every((b) => b.some((x) => x !== 0))).toBe(true);
    d.destroy();
    expect(buffers.every((b) => b.every((x) => x === 0))).toBe(true);
    expect(d.next()).toBeUndefined();
    expect(d.bufferedBytes).toBe(0);
    const late = key.frame.slice();
    d.push(late);
    expect(late.every((b) => b === 0)).toBe(true);
    expect(d.pendingFrames).toBe(0);
  });
});

describe('argument checks', () => {
  test.each([
    { id: 'string', v: 'abc' },
    { id: 'number[]', v: [1, 2, 3] },
    { id: 'null', v: null },
    { id: 'ArrayBuffer', v: new ArrayBuffer(4) },
  ])('push($id) → KesError INVALID_ARGUMENT', ({ v }) => {
    expect(() => new FrameDecoder().push(v as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  test('encodeFrame prefixes the big-endian length', () => {
    expect(toHex(encodeFrame(Uint8Array.of(KIND.STATUS)))).toBe('0000000114');
  });

  test.each([
    { id: 'empty payload', n: 0 },
    { id: '65537-byte payload', n: MAX_FRAME_PAYLOAD_BYTES + 1 },
  ])('encodeFrame($id) → KesError OUT_OF_RANGE', ({ n }) => {
    let err: unknown;
    try {
      encodeFrame(new Uint8Array(n));
    } catch (e) {
      err = e;
    }
    expect(isKesError(err, 'OUT_OF_RANGE')).toBe(true);
  });
});
