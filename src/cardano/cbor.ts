/**
 * The strict subset of CBOR (RFC 8949) that cardano-cli key, opcert and counter files use:
 * unsigned integers, byte strings and definite-length arrays, all with canonical (shortest)
 * heads (docs/kes-construction.md §5.3, §6).
 *
 * The decoder accepts exactly what the encoder produces and nothing else: a file that decodes
 * re-encodes to the same bytes. Anything else (other major types, indefinite lengths,
 * non-shortest heads, trailing bytes) is CBOR_MALFORMED. Integers are Word64 on chain but JS
 * numbers here, so values above Number.MAX_SAFE_INTEGER are OUT_OF_RANGE rather than rounded.
 *
 * Decoded byte strings are VIEWS into the input (no copy): a caller decoding secret bytes
 * copies what it keeps into allocSecret() memory and wipes the input.
 */
import { KesError } from '../errors';

export type CborValue = number | Uint8Array | CborValue[];

/** Nesting deeper than our deepest file (the opcert: 2) plus margin is malformed. */
export const CBOR_MAX_DEPTH = 4;

const MAJOR_UINT = 0;
const MAJOR_BYTES = 2;
const MAJOR_ARRAY = 4;

/** Additional-info values 24..27 mean a 1-, 2-, 4- or 8-byte argument follows. */
const AI_1 = 24;
const AI_2 = 25;
const AI_4 = 26;
const AI_8 = 27;

const TWO_POW_32 = 2 ** 32;

// ---------------------------------------------------------------------------------------------
// Encoding

function headLength(n: number): number {
  if (n < AI_1) return 1;
  if (n < 0x100) return 2;
  if (n < 0x10000) return 3;
  if (n < TWO_POW_32) return 5;
  return 9;
}

function writeHead(out: Uint8Array, offset: number, major: number, n: number): number {
  const m = major << 5;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (n < AI_1) {
    out[offset] = m | n;
    return offset + 1;
  }
  if (n < 0x100) {
    out[offset] = m | AI_1;
    out[offset + 1] = n;
    return offset + 2;
  }
  if (n < 0x10000) {
    out[offset] = m | AI_2;
    view.setUint16(offset + 1, n);
    return offset + 3;
  }
  if (n < TWO_POW_32) {
    out[offset] = m | AI_4;
    view.setUint32(offset + 1, n);
    return offset + 5;
  }
  out[offset] = m | AI_8;
  view.setBigUint64(offset + 1, BigInt(n));
  return offset + 9;
}

function assertEncodable(v: CborValue, depth: number): void {
  if (depth > CBOR_MAX_DEPTH) throw new KesError('INVALID_ARGUMENT', `CBOR value nested deeper than ${CBOR_MAX_DEPTH}`);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new KesError('OUT_OF_RANGE', `CBOR integer: expected 0..${Number.MAX_SAFE_INTEGER}, got ${String(v)}`);
    }
  } else if (Array.isArray(v)) {
    for (const e of v) assertEncodable(e, depth + 1);
  } else if (!(v instanceof Uint8Array)) {
    throw new KesError('INVALID_ARGUMENT', 'CBOR value: expected a number, a Uint8Array or an array');
  }
}

function encodedLength(v: CborValue): number {
  if (typeof v === 'number') return headLength(v);
  if (Array.isArray(v)) return v.reduce<number>((n, e) => n + encodedLength(e), headLength(v.length));
  return headLength(v.length) + v.length;
}

function encodeInto(out: Uint8Array, offset: number, v: CborValue): number {
  if (typeof v === 'number') return writeHead(out, offset, MAJOR_UINT, v);
  if (Array.isArray(v)) {
    let o = writeHead(out, offset, MAJOR_ARRAY, v.length);
    for (const e of v) o = encodeInto(out, o, e);
    return o;
  }
  const o = writeHead(out, offset, MAJOR_BYTES, v.length);
  out.set(v, o);
  return o + v.length;
}

/**
 * Canonical CBOR of `value`. The result is a fresh buffer: if `value` contains secret bytes the
 * caller wipes the result after use.
 * @throws KesError OUT_OF_RANGE for a negative, fractional or unsafe integer; INVALID_ARGUMENT for other types.
 */
export function encodeCbor(value: CborValue): Uint8Array {
  assertEncodable(value, 0);
  const out = new Uint8Array(encodedLength(value));
  encodeInto(out, 0, value);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  /** Messages name offsets, never values read from the input: the input may be a secret key file. */
  fail(message: string): never {
    throw new KesError('CBOR_MALFORMED', `${this.what}: ${message}`);
  }

  need(n: number): void {
    if (n > this.bytes.length - this.offset) {
      // No `n` here: it was read from the input, which may be a damaged secret key file.
      this.fail(`truncated: an item at offset ${this.offset} runs past the end (${this.bytes.length - this.offset} byte(s) left)`);
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }

  /** Reads a head; returns [major, argument]. */
  head(): [number, number] {
    const start = this.offset;
    const initial = this.u8();
    const major = initial >> 5;
    const ai = initial & 0x1f;
    if (major !== MAJOR_UINT && major !== MAJOR_BYTES && major !== MAJOR_ARRAY) {
      this.fail(`unsupported CBOR item at offset ${start} (only unsigned integers, byte strings and arrays)`);
    }
    if (ai < AI_1) return [major, ai];
    if (ai > AI_8) {
      this.fail(ai === 31 ? `indefinite length at offset ${start}` : `reserved additional info at offset ${start}`);
    }
    const size = 1 << (ai - AI_1);
    this.need(size);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, size);
    let n: number;
    if (size === 1) n = view.getUint8(0);
    else if (size === 2) n = view.getUint16(0);
    else if (size === 4) n = view.getUint32(0);
    else {
      const big = view.getBigUint64(0);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new KesError(
          'OUT_OF_RANGE',
          `${this.what}: integer at offset ${start} is above the supported maximum ${Number.MAX_SAFE_INTEGER}`,
        );
      }
      n = Number(big);
    }
    this.offset += size;
    // Canonical = shortest: the argument must not fit in a shorter head.
    if (headLength(n) !== 1 + size) this.fail(`non-canonical integer head at offset ${start}`);
    return [major, n];
  }

  value(depth: number): CborValue {
    if (depth > CBOR_MAX_DEPTH) this.fail(`nested deeper than ${CBOR_MAX_DEPTH}`);
    const [major, n] = this.head();
    if (major === MAJOR_UINT) return n;
    if (major === MAJOR_BYTES) {
      this.need(n);
      const out = this.bytes.subarray(this.offset, this.offset + n);
      this.offset += n;
      return out;
    }
    // Each element takes at least one byte: reject absurd lengths before allocating.
    this.need(n);
    const out: CborValue[] = [];
    for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
    return out;
  }
}

/**
 * Decode exactly one canonical CBOR value occupying all of `bytes`.
 * `what` names the input in error messages (e.g. "opcert.cert: cborHex").
 * @throws KesError CBOR_MALFORMED (with the offset), OUT_OF_RANGE for integers above 2^53-1.
 */
export function decodeCbor(bytes: Uint8Array, what = 'CBOR'): CborValue {
  const r = new Reader(bytes, what);
  if (bytes.length === 0) r.fail('empty');
  const v = r.value(0);
  if (r.offset !== bytes.length) r.fail(`${bytes.length - r.offset} trailing byte(s) after the value at offset ${r.offset}`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Shape checks for decoded values: each names the field and what was expected.

function describe(v: CborValue): string {
  if (typeof v === 'number') return 'an integer';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return `a byte string of ${v.length} bytes`;
}

export function expectArray(v: CborValue, length: number, what: string): CborValue[] {
  if (!Array.isArray(v) || v.length !== length) {
    throw new KesError('CBOR_MALFORMED', `${what}: expected an array of ${length}, got ${describe(v)}`);
  }
  return v;
}

export function expectBytes(v: CborValue, length: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) {
    throw new KesError('CBOR_MALFORMED', `${what}: expected a byte string of ${length} bytes, got ${describe(v)}`);
  }
  return v;
}

export function expectUint(v: CborValue, what: string): number {
  if (typeof v !== 'number') throw new KesError('CBOR_MALFORMED', `${what}: expected an unsigned integer, got ${describe(v)}`);
  return v;
}
