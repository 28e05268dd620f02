/**
 * The wire schema: every message body as data (spec/protocol.md "Messages").
 *
 * One description per field drives three things, so they cannot disagree: the borsh schema,
 * the encoder's range checks (borsh itself wraps u8 300 to 0x2c), and the decoder's limit checks
 * and conversions (bigint → number, number[] → Uint8Array).
 */
import type { Schema } from 'borsh';
import {
  COLD_VK_BYTES,
  KES_VK_BYTES,
  KIND,
  MAX_AGENT_VERSION_BYTES,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_HELLO_VERSIONS,
  MAX_NETWORK_NAME_BYTES,
  MAX_PROTOCOL_NAME_BYTES,
  MAX_STATUS_WARNINGS,
  MAX_STATUS_PEERS,
  MAX_PEER_PATH_BYTES,
  MAX_REFUSAL_CODE_BYTES,
  MAX_WARNING_BYTES,
  OPCERT_SIGMA_BYTES,
} from './constants';

/** Unsigned little-endian integer; u64 is limited to MAX_WIRE_U64 (JS numbers). */
export interface UintSpec {
  readonly t: 'uint';
  readonly bits: 8 | 16 | 32 | 64;
  /** Smallest value allowed (0 unless a field says otherwise). */
  readonly min: number;
}
/** One byte, 0 or 1 (borsh alone would accept any non-zero byte as true). */
export interface BoolSpec {
  readonly t: 'bool';
}
/** Fixed-length byte array, no length prefix. */
export interface BytesSpec {
  readonly t: 'bytes';
  readonly len: number;
}
/** u32 byte length + UTF-8, at most `maxBytes`, no control characters. */
export interface StringSpec {
  readonly t: 'string';
  readonly maxBytes: number;
}
/** u32 count + items, `minCount..maxCount` items. */
export interface VecSpec<I extends FieldSpec = FieldSpec> {
  readonly t: 'vec';
  readonly item: I;
  readonly minCount: number;
  readonly maxCount: number;
}
/** u8 tag 0 (None, JS null) or 1 (Some) + the value. */
export interface OptionSpec<I extends FieldSpec = FieldSpec> {
  readonly t: 'option';
  readonly inner: I;
}
/** Fields in declaration order, nothing between them. */
export interface StructSpec<F extends Readonly<Record<string, FieldSpec>> = Readonly<Record<string, FieldSpec>>> {
  readonly t: 'struct';
  readonly fields: F;
}
export type FieldSpec = UintSpec | BoolSpec | BytesSpec | StringSpec | VecSpec | OptionSpec | StructSpec;

/** The JS type a field decodes to and encodes from. */
export type Infer<S> = S extends UintSpec
  ? number
  : S extends BoolSpec
    ? boolean
    : S extends BytesSpec
      ? Uint8Array
      : S extends StringSpec
        ? string
        : S extends VecSpec<infer I>
          ? Infer<I>[]
          : S extends OptionSpec<infer I>
            ? Infer<I> | null
            : S extends StructSpec<infer F>
              ? { -readonly [K in keyof F]: Infer<F[K]> }
              : never;

const uint = (bits: UintSpec['bits'], min = 0): UintSpec => ({ t: 'uint', bits, min });
const U8 = uint(8);
const U16 = uint(16);
const U32 = uint(32);
const U64 = uint(64);
const BOOL: BoolSpec = { t: 'bool' };
const bytes = (len: number): BytesSpec => ({ t: 'bytes', len });
const str = (maxBytes: number): StringSpec => ({ t: 'string', maxBytes });
const vec = <I extends FieldSpec>(item: I, minCount: number, maxCount: number): VecSpec<I> => ({
  t: 'vec',
  item,
  minCount,
  maxCount,
});
const option = <I extends FieldSpec>(inner: I): OptionSpec<I> => ({ t: 'option', inner });
const struct = <F extends Record<string, FieldSpec>>(fields: F): StructSpec<F> => ({ t: 'struct', fields });

/**
 * Opcert = { hotVk: [u8;32], counter: u64, kesPeriod: u64, sigma: [u8;64], coldVk: [u8;32] }
 * (docs/kes-construction.md §5.1).
 */
export const OPCERT_SPEC = struct({
  hotVk: bytes(KES_VK_BYTES),
  counter: U64,
  kesPeriod: U64,
  sigma: bytes(OPCERT_SIGMA_BYTES),
  coldVk: bytes(COLD_VK_BYTES),
});

/**
 * The memory and access protections in force in the agent process (what `kes-ctl status --json` reports as
 * `protection`). Five bools, in this order; `unlockedMemoryAllowed` is true when the operator chose to run
 * without locked key memory.
 */
export const PROTECTION_SPEC = struct({
  keyMemoryLocked: BOOL,
  sodiumHeapLocked: BOOL,
  coreDumpsDisabled: BOOL,
  peerCredentialsChecked: BOOL,
  unlockedMemoryAllowed: BOOL,
});

export const STATUS_SPEC = struct({
  agentVersion: str(MAX_AGENT_VERSION_BYTES),
  network: str(MAX_NETWORK_NAME_BYTES),
  protocolVersion: U16,
  chainStarted: BOOL,
  currentKesPeriod: U64,
  currentSlot: U64,
  periodStartMs: U64,
  nextPeriodMs: U64,
  slotsPerKesPeriod: U64,
  maxKesEvolutions: U8,
  serviceClients: U32,
  protection: PROTECTION_SPEC,
  staged: option(struct({ kesVk: bytes(KES_VK_BYTES), opcert: option(OPCERT_SPEC) })),
  active: option(
    struct({
      kesVk: bytes(KES_VK_BYTES),
      opcert: OPCERT_SPEC,
      evolution: U32,
      periodsRemaining: U32,
      expiresAtMs: U64,
      installedAtMs: U64,
    }),
  ),
  expired: option(
    struct({ kesVk: bytes(KES_VK_BYTES), counter: U64, startKesPeriod: U64, expiredAtMs: U64 }),
  ),
  warnings: vec(str(MAX_WARNING_BYTES), 0, MAX_STATUS_WARNINGS),
});

/**
 * One bootstrap peer in STATUS_OK_V3: its service socket path, the link state (0 connecting,
 * 1 up, 2 down) and since when, the last key and the last tombstone it sent, the last refusal,
 * and how many bundles it sent and how many were installed. Timestamps are µs, saturated at
 * MAX_WIRE_U64 (a peer may send any u64).
 */
export const PEER_STATUS_SPEC = struct({
  path: str(MAX_PEER_PATH_BYTES),
  state: U8,
  sinceMs: U64,
  lastKey: option(struct({ kesVk: bytes(KES_VK_BYTES), counter: U64, evolution: U32, timestampUs: U64, receivedAtMs: U64 })),
  lastDrop: option(struct({ timestampUs: U64, receivedAtMs: U64 })),
  lastRefusal: option(struct({ code: str(MAX_REFUSAL_CODE_BYTES), message: str(MAX_WARNING_BYTES), atMs: U64 })),
  received: U32,
  accepted: U32,
});

/** Which socket a message travels on and who sends it (the server rejects everything else). */
export type Socket = 'control' | 'service' | 'both';
export type Sender = 'client' | 'agent';

export interface MessageSchema<B extends StructSpec = StructSpec> {
  readonly kind: number;
  /** The name used in spec/protocol.md and in log lines. */
  readonly wireName: keyof typeof KIND;
  readonly socket: Socket;
  readonly from: Sender;
  readonly body: B;
  /** The payload ends with a KES_SECRET_BYTES secret segment that borsh never sees. */
  readonly secret: boolean;
}

const msg = <B extends StructSpec>(
  wireName: keyof typeof KIND,
  socket: Socket,
  from: Sender,
  body: B,
  secret = false,
): MessageSchema<B> => ({ kind: KIND[wireName], wireName, socket, from, body, secret });

const EMPTY = struct({});

/** IMPORT_OK's body; IMPORT_OK_V2 is the same with the counter floor appended. */
const IMPORT_OK_FIELDS = {
  kesVk: bytes(KES_VK_BYTES),
  counter: U64,
  startKesPeriod: U64,
  currentKesPeriod: U64,
  startsInFuture: BOOL,
};

/** Every message, by its `type` string. Kinds and field order are the wire contract. */
export const MESSAGE_SCHEMAS = {
  hello: msg('HELLO', 'both', 'client', struct({ protocol: str(MAX_PROTOCOL_NAME_BYTES), versions: vec(U16, 1, MAX_HELLO_VERSIONS) })),
  welcome: msg(
    'WELCOME',
    'both',
    'agent',
    struct({ protocol: str(MAX_PROTOCOL_NAME_BYTES), version: U16, agentVersion: str(MAX_AGENT_VERSION_BYTES) }),
  ),
  // code 0 means "no error" (CONFIRM.result), so an ERROR never carries it.
  error: msg('ERROR', 'both', 'agent', struct({ code: uint(16, 1), message: str(MAX_ERROR_MESSAGE_BYTES) })),

  keygen: msg('KEYGEN', 'control', 'client', struct({ force: BOOL })),
  export_verkey: msg('EXPORT_VERKEY', 'control', 'client', EMPTY),
  import_opcert: msg('IMPORT_OPCERT', 'control', 'client', struct({ opcert: OPCERT_SPEC })),
  upload: msg('UPLOAD', 'control', 'client', struct({ confirmTimeoutMs: U32 })),
  status: msg('STATUS', 'control', 'client', EMPTY),
  drop_staged: msg('DROP_STAGED', 'control', 'client', EMPTY),
  drop_active: msg('DROP_ACTIVE', 'control', 'client', struct({ confirmTimeoutMs: U32 })),
  // UPLOAD with `force` (spec/protocol.md §7.25): a new kind, since a kind never gains a field.
  upload_v2: msg('UPLOAD_V2', 'control', 'client', struct({ confirmTimeoutMs: U32, force: BOOL })),

  keygen_ok: msg('KEYGEN_OK', 'control', 'agent', struct({ kesVk: bytes(KES_VK_BYTES), replacedStaged: BOOL })),
  verkey: msg('VERKEY', 'control', 'agent', struct({ kesVk: bytes(KES_VK_BYTES), hasOpcert: BOOL })),
  import_ok: msg('IMPORT_OK', 'control', 'agent', struct(IMPORT_OK_FIELDS)),
  upload_ok: msg(
    'UPLOAD_OK',
    'control',
    'agent',
    struct({
      kesVk: bytes(KES_VK_BYTES),
      counter: U64,
      startKesPeriod: U64,
      evolution: U32,
      replacedActive: BOOL,
      nodesConnected: U32,
      nodesConfirmed: U32,
    }),
  ),
  status_ok: msg('STATUS_OK', 'control', 'agent', struct({ status: STATUS_SPEC })),
  dropped: msg('DROPPED', 'control', 'agent', struct({ hadKey: BOOL, nodesConnected: U32, nodesConfirmed: U32 })),
  // Control version 2 (spec/protocol.md §4): the version 1 reply and the counter floor. New kinds,
  // not new fields, so a version 1 peer never sees a layout it does not know.
  status_ok_v2: msg('STATUS_OK_V2', 'control', 'agent', struct({ counterFloor: option(U64), status: STATUS_SPEC })),
  // STATUS_OK_V2 and the bootstrap peers (spec/protocol.md §7.24): what this agent sends.
  status_ok_v3: msg(
    'STATUS_OK_V3',
    'control',
    'agent',
    struct({ counterFloor: option(U64), status: STATUS_SPEC, peers: vec(PEER_STATUS_SPEC, 0, MAX_STATUS_PEERS) }),
  ),
  import_ok_v2: msg(
    'IMPORT_OK_V2',
    'control',
    'agent',
    // IMPORT_OK's fields, then the counter floor: field order is the wire layout.
    struct({ ...IMPORT_OK_FIELDS, counterFloor: option(U64) }),
  ),

  key: msg('KEY', 'service', 'agent', struct({ seq: U64, opcert: OPCERT_SPEC, evolution: U32 }), true),
  no_key: msg('NO_KEY', 'service', 'agent', struct({ seq: U64 })),
  key_dropped: msg('KEY_DROPPED', 'service', 'agent', struct({ seq: U64 })),
  confirm: msg('CONFIRM', 'service', 'client', struct({ seq: U64, result: U16 })),
} as const;

export type MessageType = keyof typeof MESSAGE_SCHEMAS;

/** All message type strings, in kind order. */
export const MESSAGE_TYPES: readonly MessageType[] = Object.freeze(
  (Object.keys(MESSAGE_SCHEMAS) as MessageType[]).sort((a, b) => MESSAGE_SCHEMAS[a].kind - MESSAGE_SCHEMAS[b].kind),
);

const BY_KIND: ReadonlyMap<number, MessageType> = new Map(MESSAGE_TYPES.map((t) => [MESSAGE_SCHEMAS[t].kind, t]));

/** The message type of a kind byte, or undefined for a kind this build does not know. */
export function messageTypeOfKind(kind: number): MessageType | undefined {
  return BY_KIND.get(kind);
}

/**
 * The borsh schema for a field. Asserts the schema invariants borsh does not: no zero-length
 * fixed arrays (borsh reads `len: 0` as "dynamic") and no zero-sized vec items (a lying count
 * would make borsh loop without consuming input: with borsh 2.0.0 a 4-byte input claiming 10^7 items took 3 s
 * and ~0.9 GB).
 */
export function toBorshSchema(spec: FieldSpec): Schema {
  switch (spec.t) {
    case 'uint':
      return `u${spec.bits}`;
    case 'bool':
      return 'bool';
    case 'bytes':
      if (!(spec.len > 0)) throw new Error('schema bug: fixed byte array of length 0');
      return { array: { type: 'u8', len: spec.len } };
    case 'string':
      return 'string';
    case 'vec':
      if (encodedBytesRange(spec.item).min === 0) throw new Error('schema bug: vec of zero-sized items');
      return { array: { type: toBorshSchema(spec.item) } };
    case 'option':
      return { option: toBorshSchema(spec.inner) };
    case 'struct': {
      const fields: Record<string, Schema> = {};
      for (const [name, f] of Object.entries(spec.fields)) fields[name] = toBorshSchema(f);
      return { struct: fields };
    }
  }
}

/**
 * Fewest and most bytes a value of this field can encode to (the most: every string and vec at
 * its limit).
 */
export function encodedBytesRange(spec: FieldSpec): { readonly min: number; readonly max: number } {
  switch (spec.t) {
    case 'uint':
      return exactly(spec.bits / 8);
    case 'bool':
      return exactly(1);
    case 'bytes':
      return exactly(spec.len);
    case 'string':
      return { min: 4, max: 4 + spec.maxBytes };
    case 'vec': {
      const item = encodedBytesRange(spec.item);
      return { min: 4 + spec.minCount * item.min, max: 4 + spec.maxCount * item.max };
    }
    case 'option':
      return { min: 1, max: 1 + encodedBytesRange(spec.inner).max };
    case 'struct':
      return Object.values(spec.fields)
        .map(encodedBytesRange)
        .reduce((sum, f) => ({ min: sum.min + f.min, max: sum.max + f.max }), exactly(0));
  }
}

function exactly(n: number): { readonly min: number; readonly max: number } {
  return { min: n, max: n };
}
