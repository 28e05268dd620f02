/**
 * The primitive encodings of the Haskell kes-agent's DirectCodec
 * (kes-agent/src/Cardano/KESAgent/Serialization/DirectCodec.hs, RawUtil.hs): big-endian integers,
 * Bool as one byte 0/1, `Maybe a` as a Bool then `a`, lists and Text as a Word32 BE count or
 * length then the items or UTF-8 bytes. Writers build plain (non-secret) messages only; readers
 * take a ByteReader and enforce our caps before allocating.
 */
import { type ByteReader } from './byte-reader';
import { HaskellProtocolError } from './errors';

const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function toBig(v: bigint | number, what: string): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`${what}: not a safe integer`);
  return BigInt(v);
}

/** Appends fields; `finish()` returns one contiguous buffer. */
export class ByteWriter {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  bytes(b: Uint8Array, expectedLength?: number, what = 'bytes'): this {
    if (expectedLength !== undefined && b.length !== expectedLength) throw new RangeError(`${what}: expected ${expectedLength} bytes, got ${b.length}`);
    this.#parts.push(b);
    this.#length += b.length;
    return this;
  }

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError('u8 out of range');
    return this.bytes(Uint8Array.of(v));
  }

  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError('u16 out of range');
    return this.bytes(Uint8Array.of(v >>> 8, v & 0xff));
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError('u32 out of range');
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, false);
    return this.bytes(b);
  }

  u64(v: bigint | number, what = 'u64'): this {
    const x = toBig(v, what);
    if (x < 0n || x > U64_MAX) throw new RangeError(`${what} out of range`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, x, false);
    return this.bytes(b);
  }

  i64(v: bigint | number, what = 'i64'): this {
    const x = toBig(v, what);
    if (x < I64_MIN || x > I64_MAX) throw new RangeError(`${what} out of range`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, x, false);
    return this.bytes(b);
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  /** `Maybe a`: 00, or 01 then the value written by `write`. */
  maybe<T>(v: T | undefined, write: (w: this, x: T) => void): this {
    if (v === undefined) return this.bool(false);
    this.bool(true);
    write(this, v);
    return this;
  }

  /** `Text`: u32 length of the UTF-8 bytes, then the bytes. `maxBytes` is the cap a reader applies. */
  text(s: string, maxBytes: number, what = 'text'): this {
    const b = new TextEncoder().encode(s);
    if (b.length > maxBytes) throw new RangeError(`${what}: ${b.length} bytes exceeds the ${maxBytes}-byte cap`);
    return this.u32(b.length).bytes(b);
  }

  /** `[a]`: u32 count, then each item. */
  list<T>(items: readonly T[], maxItems: number, write: (w: this, x: T) => void, what = 'list'): this {
    if (items.length > maxItems) throw new RangeError(`${what}: ${items.length} entries exceeds the cap of ${maxItems}`);
    this.u32(items.length);
    for (const x of items) write(this, x);
    return this;
  }

  get length(): number {
    return this.#length;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let off = 0;
    for (const p of this.#parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

/** `Text` (DirectCodec.hs): u32 length ≤ maxBytes (else TOO_LARGE, before allocation), strict UTF-8 (else MALFORMED). */
export async function readText(r: ByteReader, maxBytes: number, what: string): Promise<string> {
  const len = await r.readU32();
  if (len > maxBytes) throw new HaskellProtocolError('TOO_LARGE', `${what}: a length of ${len} bytes exceeds the cap of ${maxBytes}`);
  const b = await r.readExact(len);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    throw new HaskellProtocolError('MALFORMED', `${what}: ${len} bytes that are not UTF-8`);
  }
}

/** `[a]` (DirectCodec.hs): u32 count ≤ maxItems (else TOO_LARGE, before allocation), then each item. */
export async function readList<T>(r: ByteReader, maxItems: number, what: string, readItem: () => Promise<T>): Promise<T[]> {
  const n = await r.readU32();
  if (n > maxItems) throw new HaskellProtocolError('TOO_LARGE', `${what}: a count of ${n} exceeds the cap of ${maxItems}`);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await readItem());
  return out;
}

/** An enum value `v` read from the wire, checked against its table (Haskell's `toEnum` throws beyond it). */
export function enumAt<T>(table: readonly T[], v: number, what: string): T {
  const x = table[v];
  if (x === undefined) throw new HaskellProtocolError('ENUM_OUT_OF_RANGE', `${what}: value ${v} is beyond the ${table.length} known values`);
  return x;
}
