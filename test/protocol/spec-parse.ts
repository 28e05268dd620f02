/**
 * Reads the worked examples out of spec/protocol.md, so tests check the codec against the
 * document operators read (and the document cannot drift from the code).
 *
 * An example is a ```hex example=<type>``` block (hex digits; whitespace and `#` comments
 * ignored) paired with a ```json example=<type>``` block holding the message, byte fields as hex.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hex } from '../helpers/vectors';
import { toHex } from '../../src/crypto/bytes';
import { FrameDecoder, decodeFrame, type Message, type OutgoingMessage } from '../../src/protocol';
import { MESSAGE_SCHEMAS, type FieldSpec, type MessageType } from '../../src/protocol/schema';

export const SPEC_PATH = path.join(__dirname, '..', '..', 'spec', 'protocol.md');

export interface SpecExample {
  type: string;
  frame: Uint8Array;
  json: Record<string, unknown>;
}

export function readSpecExamples(text = fs.readFileSync(SPEC_PATH, 'utf8')): SpecExample[] {
  const hexBlocks = new Map<string, string[]>();
  const jsonBlocks = new Map<string, string[]>();
  const re = /^```(hex|json) example=([a-z0-9_]+)[^\n]*\n([\s\S]*?)^```/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const [, lang, type, body] = m as unknown as [string, 'hex' | 'json', string, string];
    const into = lang === 'hex' ? hexBlocks : jsonBlocks;
    into.set(type, [...(into.get(type) ?? []), body]);
  }
  const out: SpecExample[] = [];
  for (const [type, hexes] of hexBlocks) {
    const jsons = jsonBlocks.get(type) ?? [];
    if (jsons.length !== hexes.length) throw new Error(`spec: example ${type} has ${hexes.length} hex and ${jsons.length} json blocks`);
    hexes.forEach((h, i) => {
      const digits = h.replace(/#.*$/gm, '').replace(/\s+/g, '');
      out.push({ type, frame: hex(digits), json: JSON.parse(jsons[i]!) as Record<string, unknown> });
    });
  }
  for (const type of jsonBlocks.keys()) {
    if (!hexBlocks.has(type)) throw new Error(`spec: example ${type} has json but no hex`);
  }
  return out;
}

function fromJsonField(v: unknown, spec: FieldSpec): unknown {
  switch (spec.t) {
    case 'bytes':
      return hex(v as string);
    case 'vec':
      return (v as unknown[]).map((x) => fromJsonField(x, spec.item));
    case 'option':
      return v === null ? null : fromJsonField(v, spec.inner);
    case 'struct':
      return Object.fromEntries(
        Object.entries(spec.fields).map(([k, f]) => [k, fromJsonField((v as Record<string, unknown>)[k], f)]),
      );
    default:
      return v;
  }
}

/** JSON example (byte fields as hex) → message object. */
export function messageFromJson(json: Record<string, unknown>): Message & OutgoingMessage {
  const type = json['type'] as MessageType;
  const schema = MESSAGE_SCHEMAS[type];
  if (schema === undefined) throw new Error(`spec: unknown example type ${String(type)}`);
  const body = fromJsonField(json, schema.body) as Record<string, unknown>;
  const msg: Record<string, unknown> = { type, ...body };
  if (schema.secret) msg['secret'] = hex(json['secret'] as string);
  return msg as unknown as Message & OutgoingMessage;
}

/** Message → the JSON form the spec uses (byte fields as hex). */
export function messageToJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(messageToJson);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, messageToJson(x)]));
  }
  return v;
}

/**
 * Decode bytes that must hold exactly one whole frame. Pushes a copy (push wipes its input).
 * Throws whatever the decoder throws; fails if the bytes are not exactly one frame.
 */
export function decodeOne(bytes: Uint8Array): Message {
  const d = new FrameDecoder();
  d.push(bytes.slice());
  const f = d.next();
  if (f === undefined) throw new Error('test: not a whole frame');
  if (d.next() !== undefined || !d.atFrameBoundary) throw new Error('test: more than one frame');
  return decodeFrame(f);
}
