/**
 * Byte helpers shared by every layer.
 *
 * Hex is for public data only (verification keys, signatures, opcert fields). Secret bytes
 * never become strings: a JS string cannot be wiped.
 */
import { KesError } from '../errors';

/** Overwrite with zeros in place. Best effort: JS cannot stop the engine from having copied it. */
export function wipe(...buffers: (Uint8Array | undefined | null)[]): void {
  for (const b of buffers) if (b) b.fill(0);
}

export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}

/**
 * Assert `x` is a Uint8Array (of `length`, when given). Names the argument in the error.
 * Wrong type → KES_INVALID_ARGUMENT; the caller's data is never echoed.
 */
export function assertBytes(x: unknown, what: string, length?: number): asserts x is Uint8Array {
  if (!isBytes(x)) {
    throw new KesError('INVALID_ARGUMENT', `${what}: expected a Uint8Array, got ${describeType(x)}`);
  }
  if (length !== undefined && x.length !== length) {
    throw new KesError('INVALID_LENGTH', `${what}: expected ${length} bytes, got ${x.length}`);
  }
}

export function assertInteger(x: unknown, what: string, min: number, max: number): asserts x is number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x)) {
    throw new KesError('INVALID_ARGUMENT', `${what}: expected an integer, got ${describeType(x)}`);
  }
  if (x < min || x > max) {
    throw new KesError('OUT_OF_RANGE', `${what}: expected ${min}..${max}, got ${x}`);
  }
}

function describeType(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'an object';
  return typeof x;
}

/** Constant-time equality for equal-length inputs (length itself is not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const HEX = '0123456789abcdef';

/** Lowercase hex of PUBLIC bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** Parse lowercase or uppercase hex; returns undefined when it is not well-formed hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** u64 big-endian, as the opcert signable needs it. */
export function u64be(n: bigint | number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}
