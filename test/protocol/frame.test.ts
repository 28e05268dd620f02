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
import { MAX_FRAMES_SPLIT_AHEAD } from '../../src/protocol/frame';
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

describe('the agent side splits lazily (MAX_FRAMES_SPLIT_AHEAD)', () => {
  /** A deterministic stream of valid frames of random kinds and sizes. */
  function stream(seed: number, frames: number): Uint8Array {
    let x = seed;
    const rand = (n: number): number => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x % n;
    };
    const parts: Uint8Array[] = [];
    for (let i = 0; i < frames; i++) {
      const payload = new Uint8Array(1 + rand(300));
      payload[0] = 0x20 + rand(16); // never a key kind
      for (let j = 1; j < payload.length; j++) payload[j] = rand(256);
      const frame = new Uint8Array(4 + payload.length);
      new DataView(frame.buffer).setUint32(0, payload.length, false);
      frame.set(payload, 4);
      parts.push(frame);
    }
    return Buffer.concat(parts);
  }

  test.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: any chunking (socket Buffers, wiped after push) and any pace of next() give the frames the eager decoder gives', (seed) => {
    const bytes = stream(seed, 500);
    const eager = new FrameDecoder({ receivesSecrets: true });
    eager.push(new Uint8Array(bytes)); // a copy: push wipes what it is given
    const want: string[] = [];
    for (let f = eager.next(); f !== undefined; f = eager.next()) want.push(Buffer.from(f.payload).toString('hex'));
    expect(want).toHaveLength(500);

    const lazy = new FrameDecoder({ receivesSecrets: false });
    const got: string[] = [];
    let x = seed * 7919;
    let off = 0;
    while (off < bytes.length || got.length < want.length) {
      x = (x * 1103515245 + 12345) >>> 0;
      if (off < bytes.length && x % 3 !== 0) {
        const n = 1 + (x % 9000);
        lazy.push(Buffer.from(bytes.subarray(off, off + n))); // wiped by push: its frames must not be
        off += n;
        expect(lazy.pendingFrames).toBeLessThanOrEqual(MAX_FRAMES_SPLIT_AHEAD + 1);
      } else {
        const f = lazy.next();
        if (f !== undefined) got.push(Buffer.from(f.payload).toString('hex'));
        else if (off >= bytes.length) break;
      }
    }
    for (let f = lazy.next(); f !== undefined; f = lazy.next()) got.push(Buffer.from(f.payload).toString('hex'));
    expect(got).toEqual(want);
    expect(lazy.atFrameBoundary).toBe(true);
  });

  test('a bad length field behind unsplit frames is reported after them, and destroy() wipes the unsplit bytes', () => {
    const good = stream(99, 40);
    const bad = Buffer.concat([good, Buffer.from([0, 0, 0, 0])]);
    const d = new FrameDecoder({ receivesSecrets: false });
    d.push(Buffer.from(bad));
    expect(d.pendingFrames).toBe(MAX_FRAMES_SPLIT_AHEAD);
    expect(d.unsplitBytes).toBeGreaterThan(0);
    let n = 0;
    expect(() => {
      for (let f = d.next(); f !== undefined; f = d.next()) n++;
    }).toThrow(/frame length is 0/);
    expect(n).toBe(40);
    const e = new FrameDecoder({ receivesSecrets: false });
    e.push(Buffer.from(good));
    e.destroy();
    expect(e.unsplitBytes).toBe(0);
    expect(e.next()).toBeUndefined();
  });
});
