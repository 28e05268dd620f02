/**
 * Field-level checks and conversions between plain JS values and the values borsh handles,
 * driven by the FieldSpec of each field (schema.ts).
 *
 * Encoding checks are for our own code's mistakes and throw KesError naming the field path.
 * Decoding checks are for peer input and throw ProtocolError(MALFORMED_FRAME); their messages
 * carry the field path and small public numbers, never the peer's bytes or text.
 */
import { KesError } from '../errors';
import { assertBytes } from '../crypto/bytes';
import { MAX_WIRE_U64 } from './constants';
import { ProtocolError } from './errors';
import type { FieldSpec } from './schema';

// C0 controls, DEL and C1 controls. Strings on the wire end up in terminals and log lines;
// none of our strings needs them, and rejecting them stops escape-sequence and log-line injection.
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `s` may not go on the wire, or undefined when it may. */
export function textProblem(s: string): string | undefined {
  if (LONE_SURROGATE.test(s)) return 'is not well-formed Unicode (lone surrogate)';
  if (CONTROL_CHAR.test(s)) return 'contains a control character';
  return undefined;
}

/** UTF-8 length of a well-formed string. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function uintMax(bits: 8 | 16 | 32 | 64): number {
  return bits === 64 ? MAX_WIRE_U64 : 2 ** bits - 1;
}

/**
 * Check a JS value against its field spec and return the value borsh should encode.
 * @throws KesError INVALID_ARGUMENT (wrong type, bad text), OUT_OF_RANGE (integer), INVALID_LENGTH
 *   (byte array, string or vec size).
 */
export function toWireValue(value: unknown, spec: FieldSpec, path: string): unknown {
  switch (spec.t) {
    case 'uint': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new KesError('INVALID_ARGUMENT', `${path}: expected an integer (u${spec.bits})`);
      }
      const max = uintMax(spec.bits);
      if (value < spec.min || value > max) {
        throw new KesError('OUT_OF_RANGE', `${path}: expected ${spec.min}..${max} (u${spec.bits}), got ${value}`);
      }
      return value;
    }
    case 'bool':
      if (typeof value !== 'boolean') throw new KesError('INVALID_ARGUMENT', `${path}: expected a boolean`);
      return value;
    case 'bytes':
      assertBytes(value, path, spec.len);
      return value;
    case 'string': {
      if (typeof value !== 'string') throw new KesError('INVALID_ARGUMENT', `${path}: expected a string`);
      const problem = textProblem(value);
      if (problem !== undefined) throw new KesError('INVALID_ARGUMENT', `${path}: ${problem}`);
      const n = utf8Length(value);
      if (n > spec.maxBytes) {
        throw new KesError('INVALID_LENGTH', `${path}: expected at most ${spec.maxBytes} UTF-8 bytes, got ${n}`);
      }
      return value;
    }
    case 'vec': {
      if (!Array.isArray(value)) throw new KesError('INVALID_ARGUMENT', `${path}: expected an array`);
      if (value.length < spec.minCount || value.length > spec.maxCount) {
        throw new KesError(
          'INVALID_LENGTH',
          `${path}: expected ${spec.minCount}..${spec.maxCount} entries, got ${value.length}`,
        );
      }
      return value.map((v, i) => toWireValue(v, spec.item, `${path}[${i}]`));
    }
    case 'option':
      // undefined is refused on purpose: borsh would encode a misspelled field as None.
      if (value === null) return null;
      if (value === undefined) throw new KesError('INVALID_ARGUMENT', `${path}: expected a value or null`);
      return toWireValue(value, spec.inner, path);
    case 'struct': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new KesError('INVALID_ARGUMENT', `${path}: expected an object`);
      }
      const out: Record<string, unknown> = {};
      for (const [name, f] of Object.entries(spec.fields)) {
        out[name] = toWireValue((value as Record<string, unknown>)[name], f, `${path}.${name}`);
      }
      return out;
    }
  }
}

function malformed(path: string, what: string): ProtocolError {
  return new ProtocolError('MALFORMED_FRAME', `${path}: ${what}`);
}

/**
 * Convert what borsh decoded (bigint, number[]) to plain JS values and apply the limits borsh
 * does not know (string bytes, vec counts, u64 ≤ 2^53 - 1, minimum values).
 * @throws ProtocolError(MALFORMED_FRAME)
 */
export function fromWireValue(value: unknown, spec: FieldSpec, path: string): unknown {
  switch (spec.t) {
    case 'uint': {
      let n: number;
      if (spec.bits === 64) {
        if (typeof value !== 'bigint') throw malformed(path, 'expected a u64');
        if (value > BigInt(MAX_WIRE_U64)) throw malformed(path, 'u64 above 2^53 - 1');
        n = Number(value);
      } else {
        if (typeof value !== 'number' || !Number.isInteger(value)) throw malformed(path, `expected a u${spec.bits}`);
        n = value;
      }
      if (n < spec.min) throw malformed(path, `${n} is below the minimum ${spec.min}`);
      return n;
    }
    case 'bool':
      if (typeof value !== 'boolean') throw malformed(path, 'expected a bool');
      return value;
    case 'bytes':
      if (!Array.isArray(value) || value.length !== spec.len) throw malformed(path, `expected ${spec.len} bytes`);
      return Uint8Array.from(value as number[]);
    case 'string': {
      if (typeof value !== 'string') throw malformed(path, 'expected a string');
      const problem = textProblem(value);
      if (problem !== undefined) throw malformed(path, `string ${problem}`);
      const n = utf8Length(value);
      if (n > spec.maxBytes) throw malformed(path, `string of ${n} bytes exceeds the limit of ${spec.maxBytes}`);
      return value;
    }
    case 'vec':
      if (!Array.isArray(value)) throw malformed(path, 'expected a vec');
      if (value.length < spec.minCount || value.length > spec.maxCount) {
        throw malformed(path, `${value.length} entries, expected ${spec.minCount}..${spec.maxCount}`);
      }
      return value.map((v, i) => fromWireValue(v, spec.item, `${path}[${i}]`));
    case 'option':
      return value === null ? null : fromWireValue(value, spec.inner, path);
    case 'struct': {
      if (typeof value !== 'object' || value === null) throw malformed(path, 'expected a struct');
      const out: Record<string, unknown> = {};
      for (const [name, f] of Object.entries(spec.fields)) {
        out[name] = fromWireValue((value as Record<string, unknown>)[name], f, `${path}.${name}`);
      }
      return out;
    }
  }
}
