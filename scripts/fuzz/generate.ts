/**
 * What the fuzzer sends: valid frames of every message kind (random field values drawn from the
 * wire schema), the same frames mutated the ways a broken or hostile client breaks them, random
 * frames and loose bytes, arranged into one batch per connection.
 *
 * Every unit of a batch counts as one frame. The KEY frames generated here carry random bytes,
 * never a real key.
 */
import { serialize } from 'borsh';
import { concatBytes } from '../../src/crypto/bytes';
import {
  CONTROL_PROTOCOL,
  FRAME_HEADER_BYTES,
  KES_SECRET_BYTES,
  KIND,
  MAX_FRAME_PAYLOAD_BYTES,
  MAX_WIRE_U64,
  MESSAGE_SCHEMAS,
  MESSAGE_TYPES,
  PROTOCOL_VERSION,
  SERVICE_PROTOCOL,
  encodeFrame,
  encodeMessage,
  type MessageType,
  type OutgoingMessage,
  type SocketRole,
  WIRE_ERROR_CODES,
} from '../../src/protocol';
import { toBorshSchema, type FieldSpec } from '../../src/protocol/schema';
import type { Rng } from './rng';

/** Most units in one connection's batch. @default 400 */
export const MAX_UNITS_PER_CONNECTION = 400;
/** Most units in a batch that is mostly hostile (garbage before or after HELLO). @default 40 */
export const MAX_UNITS_HOSTILE_BATCH = 40;
/**
 * Most bytes in one connection's batch: well under the kernel's Unix socket buffer (~208 KiB),
 * so the whole batch is accepted by one write even when the agent closes early. @default 65536
 */
export const MAX_BATCH_BYTES = 64 * 1024;
/** Longest run of loose random bytes. @default 64 */
const MAX_LOOSE_BYTES = 64;
/** Longest random payload. @default 512 */
const MAX_RANDOM_PAYLOAD_BYTES = 512;
/** Longest KEY-kind payload in largeKeyKindFrame (half a batch). @default 32768 */
const MAX_KEY_KIND_PAYLOAD_BYTES = 32 * 1024;

const ALL_KINDS: readonly number[] = Object.values(KIND);
const TEXT_POOL = ['a', 'Z', '0', ' ', '-', '/', 'é', 'ß', '✓', '漢', '😀', 'kes-agent', 'kes-agent/control', 'kes-agent/service'];
const BOUNDARY_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

// ---------------------------------------------------------------------------------------------
// Valid messages

function randomText(rng: Rng, maxBytes: number): string {
  let s = '';
  const target = rng.chance(0.2) ? maxBytes : rng.below(Math.min(maxBytes, 40) + 1);
  while (Buffer.byteLength(s) < target) {
    const piece = rng.pick(TEXT_POOL);
    if (Buffer.byteLength(s + piece) > maxBytes) break;
    s += piece;
  }
  return s;
}

function randomValue(rng: Rng, spec: FieldSpec): unknown {
  switch (spec.t) {
    case 'uint': {
      const max = spec.bits === 64 ? MAX_WIRE_U64 : 2 ** spec.bits - 1;
      if (rng.chance(0.2)) return rng.pick([spec.min, max]);
      return spec.min + Math.floor((rng.u32() / 0x1_0000_0000) * (Math.min(max, 2 ** 32) - spec.min));
    }
    case 'bool':
      return rng.chance(0.5);
    case 'bytes':
      return rng.bytes(spec.len);
    case 'string':
      return randomText(rng, spec.maxBytes);
    case 'vec': {
      const n = rng.range(spec.minCount, Math.min(spec.maxCount, spec.minCount + 4));
      return Array.from({ length: n }, () => randomValue(rng, spec.item));
    }
    case 'option':
      return rng.chance(0.5) ? null : randomValue(rng, spec.inner);
    case 'struct':
      return Object.fromEntries(Object.entries(spec.fields).map(([k, f]) => [k, randomValue(rng, f)]));
  }
}

/** A valid message of `type` with random fields (a KEY carries random bytes, not a key). */
export function randomMessage(rng: Rng, type: MessageType): OutgoingMessage {
  const schema = MESSAGE_SCHEMAS[type];
  const body = randomValue(rng, schema.body) as Record<string, unknown>;
  const msg: Record<string, unknown> = { type, ...body };
  if (schema.secret) msg['secret'] = rng.bytes(KES_SECRET_BYTES);
  if (type === 'confirm') msg['seq'] = neverPushedSeq(rng);
  return msg as unknown as OutgoingMessage;
}

export function validFrame(rng: Rng, type: MessageType = rng.pick(MESSAGE_TYPES)): Uint8Array {
  return encodeMessage(randomMessage(rng, type));
}

export function helloFrame(role: SocketRole): Uint8Array {
  return encodeMessage({ type: 'hello', protocol: role === 'control' ? CONTROL_PROTOCOL : SERVICE_PROTOCOL, versions: [PROTOCOL_VERSION] });
}

/**
 * A seq no push of a fuzz run can have: 0 (seqs start at 1) or one above 2^40. The fuzzer cannot
 * know the seq of the push its connection got, and a CONFIRM for any other is a protocol error
 * (spec/protocol.md §6), so its CONFIRMs are all of that kind, and the model can say so.
 */
function neverPushedSeq(rng: Rng): number {
  return rng.chance(0.3) ? 0 : 2 ** 40 + rng.u32();
}

/**
 * The commonest well-formed frame of a socket: STATUS (now and then EXPORT_VERKEY) on the control
 * socket, which the agent answers and keeps the connection open for; CONFIRM on the service
 * socket, which ends the connection, since the fuzzer's CONFIRMs never name the push its
 * connection got (neverPushedSeq).
 */
export function harmlessFrame(rng: Rng, role: SocketRole): Uint8Array {
  if (role === 'service') {
    const result = rng.weighted<number>([
      [6, 0],
      [3, rng.pick(Object.values(WIRE_ERROR_CODES))],
      [1, rng.below(0x10000)],
    ]);
    return encodeMessage({ type: 'confirm', seq: neverPushedSeq(rng), result });
  }
  return encodeMessage(rng.chance(0.95) ? { type: 'status' } : { type: 'export_verkey' });
}

// ---------------------------------------------------------------------------------------------
// Broken frames

/** A body borsh-encoded without our limit checks (a forged, out-of-limit message). */
function forged(type: MessageType, body: unknown): Uint8Array {
  return encodeFrame(concatBytes(Uint8Array.of(MESSAGE_SCHEMAS[type].kind), serialize(toBorshSchema(MESSAGE_SCHEMAS[type].body), body)));
}

/** HELLOs that must be refused: the other socket's protocol, unknown versions, out-of-limit fields. */
export function badHello(rng: Rng, role: SocketRole): Uint8Array {
  const other = role === 'control' ? SERVICE_PROTOCOL : CONTROL_PROTOCOL;
  const ours = role === 'control' ? CONTROL_PROTOCOL : SERVICE_PROTOCOL;
  switch (rng.below(7)) {
    case 0:
      return encodeMessage({ type: 'hello', protocol: other, versions: [PROTOCOL_VERSION] });
    case 1:
      return encodeMessage({ type: 'hello', protocol: ours, versions: [PROTOCOL_VERSION + 1 + rng.below(100)] });
    case 2:
      return encodeMessage({ type: 'hello', protocol: randomText(rng, 64), versions: [PROTOCOL_VERSION] });
    case 3:
      return forged('hello', { protocol: ours, versions: [] });
    case 4:
      return forged('hello', { protocol: ours, versions: Array.from({ length: 9 + rng.below(50) }, () => PROTOCOL_VERSION) });
    case 5:
      return forged('hello', { protocol: 'p'.repeat(65 + rng.below(1000)), versions: [PROTOCOL_VERSION] });
    default:
      return forged('hello', { protocol: `kes\u0000agent\u001b[2J${ours}`, versions: [PROTOCOL_VERSION] });
  }
}

export const MUTATIONS = [
  'bit-flip',
  'truncate',
  'length-field',
  'kind-swap',
  'trailing-in-payload',
  'trailing-after-frame',
  'insert-delete',
  'u32-overwrite',
  'payload-swap',
] as const;
export type MutationName = (typeof MUTATIONS)[number];

function withLength(frame: Uint8Array, length: number): Uint8Array {
  const c = frame.slice();
  new DataView(c.buffer).setUint32(0, length >>> 0, false);
  return c;
}

/** `frame` broken one way: the names are what a client with a bug, or an attacker, does. */
export function mutate(rng: Rng, frame: Uint8Array, how: MutationName = rng.pick(MUTATIONS)): Uint8Array {
  const payloadLength = frame.length - FRAME_HEADER_BYTES;
  switch (how) {
    case 'bit-flip': {
      const c = frame.slice();
      for (let n = rng.range(1, 3); n > 0; n--) c[rng.below(c.length)]! ^= 1 << rng.below(8);
      return c;
    }
    case 'truncate':
      // The length field still promises the whole payload: the next units become its tail.
      return frame.slice(0, rng.range(1, frame.length - 1));
    case 'length-field':
      return withLength(
        frame,
        rng.pick([0, 1, payloadLength - 1, payloadLength + 1, rng.below(256), MAX_FRAME_PAYLOAD_BYTES, MAX_FRAME_PAYLOAD_BYTES + 1, 0xffffffff, rng.u32()]),
      );
    case 'kind-swap': {
      const c = frame.slice();
      c[FRAME_HEADER_BYTES] = rng.chance(0.8) ? rng.pick(ALL_KINDS) : rng.below(256);
      return c;
    }
    case 'trailing-in-payload': {
      const c = concatBytes(frame, rng.bytes(rng.range(1, 16)));
      return withLength(c, c.length - FRAME_HEADER_BYTES);
    }
    case 'trailing-after-frame':
      return concatBytes(frame, rng.bytes(rng.range(1, 8)));
    case 'insert-delete': {
      const at = rng.range(FRAME_HEADER_BYTES + 1, frame.length);
      const c = rng.chance(0.5)
        ? concatBytes(frame.subarray(0, at), rng.bytes(rng.range(1, 8)), frame.subarray(at))
        : concatBytes(frame.subarray(0, Math.min(at, frame.length - 1)), frame.subarray(Math.min(at, frame.length - 1) + 1));
      return withLength(c, c.length - FRAME_HEADER_BYTES);
    }
    case 'u32-overwrite': {
      const c = frame.slice();
      if (payloadLength > 4) new DataView(c.buffer).setUint32(rng.range(FRAME_HEADER_BYTES + 1, c.length - 4), rng.pick(BOUNDARY_U32), rng.chance(0.7));
      return c;
    }
    case 'payload-swap': {
      // Another message's body under this frame's kind byte.
      const other = validFrame(rng);
      const c = concatBytes(frame.subarray(0, FRAME_HEADER_BYTES + 1), other.subarray(FRAME_HEADER_BYTES + 1));
      return withLength(c, c.length - FRAME_HEADER_BYTES);
    }
  }
}

/** A frame with a correct length field around random bytes (half of them under a known kind). */
export function randomFrame(rng: Rng): Uint8Array {
  const payload = rng.bytes(rng.range(1, rng.chance(0.9) ? 64 : MAX_RANDOM_PAYLOAD_BYTES));
  if (rng.chance(0.5)) payload[0] = rng.pick(ALL_KINDS);
  return encodeFrame(payload);
}

/** Loose bytes with no framing at all. */
export function looseBytes(rng: Rng): Uint8Array {
  return rng.bytes(rng.range(1, MAX_LOOSE_BYTES));
}

/**
 * A large frame of the kind that carries a key (KEY is agent → node only): the agent assembles
 * its payload in locked memory before it can tell the frame is misdirected or malformed, so these
 * are what would show a secret buffer that is not released (VmLck).
 */
export function largeKeyKindFrame(rng: Rng): Uint8Array {
  const payload = rng.bytes(rng.range(KES_SECRET_BYTES, MAX_KEY_KIND_PAYLOAD_BYTES));
  payload[0] = KIND.KEY;
  return encodeFrame(payload);
}

/** One unit that is probably not a valid frame for this socket. */
export function hostileUnit(rng: Rng, role: SocketRole): Uint8Array {
  return rng.weighted<() => Uint8Array>([
    [5, () => mutate(rng, rng.chance(0.5) ? validFrame(rng) : harmlessFrame(rng, role))],
    [2, () => validFrame(rng)],
    [2, () => randomFrame(rng)],
    [1, () => looseBytes(rng)],
    [2, () => largeKeyKindFrame(rng)],
  ])();
}

// ---------------------------------------------------------------------------------------------
// One connection's batch

/**
 * Every batch follows the version-handshake answer that picks our protocol (the driver sends it).
 * garbage-first: a hostile unit at once; hello-retired: a HELLO, valid or broken (a version-1
 * client's first frame, now unexpected); valid-then-garbage: requests mixed with hostile units;
 * long-valid-run: long runs of frames the agent accepts, a few broken ones mixed in.
 */
export const SCENARIOS = ['garbage-first', 'hello-retired', 'valid-then-garbage', 'long-valid-run'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Plan {
  scenario: Scenario;
  units: Uint8Array[];
}

/**
 * A batch for one connection. Most batches are long runs of frames the agent accepts with a few
 * broken ones mixed in, so most frames are really decoded by the agent (a connection ends at the
 * first bad frame); the rest break the handshake or follow it with garbage.
 */
export function buildPlan(rng: Rng, role: SocketRole, maxUnits: number): Plan {
  const scenario = rng.weighted<Scenario>([
    [1, 'garbage-first'],
    [1, 'hello-retired'],
    [2, 'valid-then-garbage'],
    [6, 'long-valid-run'],
  ]);
  // A connection usually ends at its first hostile unit: batches that are mostly hostile are kept
  // short, so most frames sent are frames the agent really decodes.
  const longest = scenario === 'long-valid-run' ? MAX_UNITS_PER_CONNECTION : MAX_UNITS_HOSTILE_BATCH;
  const want = Math.max(1, Math.min(maxUnits, rng.chance(0.2) ? rng.range(1, 10) : rng.range(1, longest)));
  const units: Uint8Array[] = [];
  let bytes = 0;
  const add = (u: Uint8Array): boolean => {
    if (units.length >= want || bytes + u.length > MAX_BATCH_BYTES) return false;
    units.push(u);
    bytes += u.length;
    return true;
  };
  if (scenario === 'garbage-first') add(hostileUnit(rng, role));
  else if (scenario === 'hello-retired') add(rng.chance(0.3) ? helloFrame(role) : rng.chance(0.5) ? badHello(rng, role) : mutate(rng, helloFrame(role)));
  if (scenario !== 'long-valid-run') {
    while (add(rng.chance(0.3) ? hostileUnit(rng, role) : harmlessFrame(rng, role)));
    return { scenario, units };
  }
  // Mostly frames the agent handles, now and then one broken the mild way (a bit flip, a kind
  // swap) that often still decodes, and usually one hostile unit at the end.
  const end = rng.chance(0.7) ? hostileUnit(rng, role) : undefined;
  if (end !== undefined) bytes += end.length;
  while (units.length < want - (end === undefined ? 0 : 1)) {
    const unit = rng.chance(0.001) ? mutate(rng, harmlessFrame(rng, role), rng.pick(['bit-flip', 'kind-swap', 'u32-overwrite'] as const)) : harmlessFrame(rng, role);
    if (!add(unit)) break;
  }
  if (end !== undefined) {
    units.push(end);
  }
  return { scenario, units };
}
