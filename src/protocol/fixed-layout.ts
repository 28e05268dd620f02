/**
 * A direct decoder for message bodies of fixed layout: only integers, bools and fixed-length
 * byte arrays, in structs of such (CONFIRM, UPLOAD, KEYGEN, NO_KEY, IMPORT_OPCERT...). Such a
 * body has exactly one valid length and every field sits at a known offset, so it is read with
 * a DataView instead of borsh's deserialise-then-re-serialise canonical check: a node's CONFIRM
 * is the agent's most frequent message (one per node per push).
 *
 * It refuses exactly what the generic path refuses (messages.ts), with the same error code and
 * message: a body of the wrong length (short: "does not match its schema"; long: trailing bytes,
 * "not canonical"), a bool byte other than 0/1 ("not canonical"), a u64 above 2^53 - 1 and a
 * value below the field's minimum (fields.ts wording).
 */
import { MAX_WIRE_U64 } from './constants';
import { ProtocolError } from './errors';
import type { FieldSpec, StructSpec } from './schema';

/** The high 32 bits of MAX_WIRE_U64 (2^53 - 1): a u64 whose high word is above this does not fit. */
const MAX_WIRE_U64_HIGH = Math.floor(MAX_WIRE_U64 / 2 ** 32);
const TWO_POW_32 = 2 ** 32;

type Op =
  | { readonly t: 'uint'; readonly name: string; readonly path: string; readonly at: number; readonly bits: 8 | 16 | 32 | 64; readonly min: number }
  | { readonly t: 'bool'; readonly name: string; readonly at: number }
  | { readonly t: 'bytes'; readonly name: string; readonly at: number; readonly len: number }
  | { readonly t: 'struct'; readonly name: string; readonly ops: readonly Op[] };

export interface FixedLayout {
  /** The one valid body length. */
  readonly bytes: number;
  /**
   * Decode `body` into the same plain value fromWireValue gives, its fields added to `into` (a
   * message's `{ type }`, so no second object is made). @throws ProtocolError(MALFORMED_FRAME)
   */
  decode(body: Uint8Array, into?: Record<string, unknown>): Record<string, unknown>;
}

function isFixed(spec: FieldSpec): boolean {
  switch (spec.t) {
    case 'uint':
    case 'bool':
    case 'bytes':
      return true;
    case 'struct':
      return Object.values(spec.fields).every(isFixed);
    default:
      return false;
  }
}

/** Lay out the fields of `spec` from offset `at`; returns the ops and the offset after them. */
function layout(spec: StructSpec, at: number, path: string): { ops: Op[]; end: number } {
  const ops: Op[] = [];
  for (const [name, f] of Object.entries(spec.fields)) {
    const p = `${path}.${name}`;
    switch (f.t) {
      case 'uint':
        ops.push({ t: 'uint', name, path: p, at, bits: f.bits, min: f.min });
        at += f.bits / 8;
        break;
      case 'bool':
        ops.push({ t: 'bool', name, at });
        at += 1;
        break;
      case 'bytes':
        ops.push({ t: 'bytes', name, at, len: f.len });
        at += f.len;
        break;
      case 'struct': {
        const inner = layout(f, at, p);
        ops.push({ t: 'struct', name, ops: inner.ops });
        at = inner.end;
        break;
      }
      default:
        throw new Error(`schema bug: ${p} is not of fixed size`);
    }
  }
  return { ops, end: at };
}

/**
 * The fixed-layout decoder for `body`, or undefined when the body has a string, vec or option
 * (those go through borsh). `type` and `wireName` name the message in errors, as messages.ts does.
 */
export function fixedLayout(body: StructSpec, type: string, wireName: string): FixedLayout | undefined {
  if (!isFixed(body)) return undefined;
  const { ops, end } = layout(body, 0, type);
  const bytes = end;
  const boolOffsets: number[] = [];
  const collect = (list: readonly Op[]): void => {
    for (const op of list) {
      if (op.t === 'bool') boolOffsets.push(op.at);
      else if (op.t === 'struct') collect(op.ops);
    }
  };
  collect(ops);
  const nonCanonical = (): ProtocolError =>
    new ProtocolError('MALFORMED_FRAME', `${wireName} body is not canonical (trailing bytes, a bool other than 0/1, or bad UTF-8)`);
  const run = (view: DataView, src: Uint8Array, list: readonly Op[], out: Record<string, unknown>): Record<string, unknown> => {
    for (const op of list) {
      switch (op.t) {
        case 'uint': {
          let n: number;
          if (op.bits === 8) n = view.getUint8(op.at);
          else if (op.bits === 16) n = view.getUint16(op.at, true);
          else if (op.bits === 32) n = view.getUint32(op.at, true);
          else {
            const high = view.getUint32(op.at + 4, true);
            if (high > MAX_WIRE_U64_HIGH) throw new ProtocolError('MALFORMED_FRAME', `${op.path}: u64 above 2^53 - 1`);
            n = high * TWO_POW_32 + view.getUint32(op.at, true);
          }
          if (n < op.min) throw new ProtocolError('MALFORMED_FRAME', `${op.path}: ${n} is below the minimum ${op.min}`);
          out[op.name] = n;
          break;
        }
        case 'bool':
          out[op.name] = src[op.at] === 1;
          break;
        case 'bytes':
          out[op.name] = src.slice(op.at, op.at + op.len);
          break;
        case 'struct':
          out[op.name] = run(view, src, op.ops, {});
          break;
      }
    }
    return out;
  };
  return {
    bytes,
    decode(body: Uint8Array, into: Record<string, unknown> = {}): Record<string, unknown> {
      if (body.length < bytes) throw new ProtocolError('MALFORMED_FRAME', `${wireName} body does not match its schema`);
      // Checked before any field, like the generic path's canonical comparison, which sees trailing bytes first.
      if (body.length > bytes) throw nonCanonical();
      // Every bool before any integer: the generic path's canonical check comes before its limits.
      for (const at of boolOffsets) if (body[at]! > 1) throw nonCanonical();
      return run(new DataView(body.buffer, body.byteOffset, body.length), body, ops, into);
    },
  };
}
