/**
 * Typed messages and their codec (spec/protocol.md "Messages").
 *
 *     payload = kind:u8 body:borsh(schema of kind) [secret: KES_SECRET_BYTES raw bytes, KEY only]
 *
 * Decoding is strict: the body must be exactly what re-serialising the decoded value produces
 * (borsh alone ignores trailing bytes and reads any non-zero byte as true), and then every
 * string, vec and u64 limit is checked. Any failure is ProtocolError(MALFORMED_FRAME); an
 * unknown kind byte is UNKNOWN_KIND.
 */
import { deserialize, serialize, type Schema } from 'borsh';
import { KesError } from '../errors';
import { bytesEqual, wipe } from '../crypto/bytes';
import { allocSecret, releaseSecret } from '../crypto/secret-memory';
import { FRAME_HEADER_BYTES, KES_SECRET_BYTES, KIND_BYTES, MAX_FRAME_PAYLOAD_BYTES } from './constants';
import { ProtocolError } from './errors';
import { fromWireValue, toWireValue } from './fields';
import type { Opcert } from '../cardano/opcert';
import { writeFrameHeader, type DecodedFrame } from './frame';
import { MESSAGE_SCHEMAS, messageTypeOfKind, toBorshSchema, type MessageType } from './schema';
import { fixedLayout, type FixedLayout } from './fixed-layout';

/** An operational certificate as the agent holds it (docs/kes-construction.md §5.1; cold vk included). */
export type { Opcert };

export interface StagedKeyStatus {
  kesVk: Uint8Array;
  opcert: Opcert | null;
}

export interface ActiveKeyStatus {
  kesVk: Uint8Array;
  opcert: Opcert;
  evolution: number;
  periodsRemaining: number;
  expiresAtMs: number;
  installedAtMs: number;
}

export interface ExpiredKeyStatus {
  kesVk: Uint8Array;
  counter: number;
  startKesPeriod: number;
  expiredAtMs: number;
}

/** Status.protection: what the agent process has in force (spec/protocol.md §7.1 "Protection"). */
export interface Protection {
  /** Key bytes live in mlock'ed, no-dump buffers. */
  keyMemoryLocked: boolean;
  /** libsodium's WASM heap (where secrets pass through) is mlock'ed. */
  sodiumHeapLocked: boolean;
  /** RLIMIT_CORE 0 and PR_SET_DUMPABLE 0. */
  coreDumpsDisabled: boolean;
  /** Every accepted connection's SO_PEERCRED uid/gid is checked. */
  peerCredentialsChecked: boolean;
  /** Started with --allow-unlocked-memory: it runs even though locking failed. */
  unlockedMemoryAllowed: boolean;
}

/** Nothing in force: what an agent reports until the process hardening tells it otherwise. */
export const NO_PROTECTION: Readonly<Protection> = Object.freeze({
  keyMemoryLocked: false,
  sodiumHeapLocked: false,
  coreDumpsDisabled: false,
  peerCredentialsChecked: false,
  unlockedMemoryAllowed: false,
});

export interface Status {
  agentVersion: string;
  network: string;
  protocolVersion: number;
  chainStarted: boolean;
  currentKesPeriod: number;
  currentSlot: number;
  periodStartMs: number;
  nextPeriodMs: number;
  slotsPerKesPeriod: number;
  maxKesEvolutions: number;
  serviceClients: number;
  protection: Protection;
  staged: StagedKeyStatus | null;
  active: ActiveKeyStatus | null;
  expired: ExpiredKeyStatus | null;
  warnings: string[];
}

// Handshake (both sockets)
export interface HelloMessage { type: 'hello'; protocol: string; versions: number[] }
export interface WelcomeMessage { type: 'welcome'; protocol: string; version: number; agentVersion: string }
/** `code` is a WIRE_ERROR_CODES value (any non-zero u16 is accepted: a newer agent may add codes). */
export interface ErrorMessage { type: 'error'; code: number; message: string }

// Control requests (kes-ctl → agent)
export interface KeygenMessage { type: 'keygen'; force: boolean }
export interface ExportVerkeyMessage { type: 'export_verkey' }
export interface ImportOpcertMessage { type: 'import_opcert'; opcert: Opcert }
export interface UploadMessage { type: 'upload'; confirmTimeoutMs: number }
/** UPLOAD with `force`: replace a key that signs now even with one whose opcert starts later. */
export interface UploadV2Message { type: 'upload_v2'; confirmTimeoutMs: number; force: boolean }
export interface StatusMessage { type: 'status' }
export interface DropStagedMessage { type: 'drop_staged' }
export interface DropActiveMessage { type: 'drop_active'; confirmTimeoutMs: number }

// Control replies (agent → kes-ctl)
export interface KeygenOkMessage { type: 'keygen_ok'; kesVk: Uint8Array; replacedStaged: boolean }
export interface VerkeyMessage { type: 'verkey'; kesVk: Uint8Array; hasOpcert: boolean }
export interface ImportOkMessage {
  type: 'import_ok';
  kesVk: Uint8Array;
  counter: number;
  startKesPeriod: number;
  currentKesPeriod: number;
  startsInFuture: boolean;
}
export interface UploadOkMessage {
  type: 'upload_ok';
  kesVk: Uint8Array;
  counter: number;
  startKesPeriod: number;
  evolution: number;
  replacedActive: boolean;
  nodesConnected: number;
  nodesConfirmed: number;
}
export interface StatusOkMessage { type: 'status_ok'; status: Status }
export interface DroppedMessage { type: 'dropped'; hadKey: boolean; nodesConnected: number; nodesConfirmed: number }
// Control version 2 replies (spec/protocol.md §4)
/**
 * STATUS on a control version 2 connection. `counterFloor`: the highest opcert counter of any key
 * the agent has had active since it started (it refuses a lower one), or null while it has had none.
 */
export interface StatusOkV2Message { type: 'status_ok_v2'; counterFloor: number | null; status: Status }
/** A bootstrap peer as STATUS_OK_V3 reports it (PEER_STATUS_SPEC). */
export interface PeerStatus {
  path: string;
  /** 0 connecting, 1 up, 2 down (PEER_LINK_STATES). */
  state: number;
  sinceMs: number;
  lastKey: { kesVk: Uint8Array; counter: number; evolution: number; timestampUs: number; receivedAtMs: number } | null;
  lastDrop: { timestampUs: number; receivedAtMs: number } | null;
  lastRefusal: { code: string; message: string; atMs: number } | null;
  received: number;
  accepted: number;
}
export const PEER_LINK_STATES = Object.freeze(['connecting', 'up', 'down'] as const);
/** STATUS as this agent answers it: STATUS_OK_V2's fields and the bootstrap peers. */
export interface StatusOkV3Message { type: 'status_ok_v3'; counterFloor: number | null; status: Status; peers: PeerStatus[] }
/** IMPORT_OPCERT on a control version 2 connection: `counterFloor` is the floor the counter was checked against. */
export interface ImportOkV2Message extends Omit<ImportOkMessage, 'type'> { type: 'import_ok_v2'; counterFloor: number | null }

/**
 * A STATUS reply of either control version as one value. `counterFloor` is undefined when the
 * connection speaks version 1 (the agent did not say), null when the agent has no floor.
 */
export interface StatusReport extends Status {
  counterFloor?: number | null;
  /** The bootstrap peers (STATUS_OK_V3); undefined from an agent that sent STATUS_OK_V2. */
  peers?: PeerStatus[];
}

/** An IMPORT_OPCERT reply of either control version; `counterFloor` as in StatusReport. */
export interface ImportReport extends Omit<ImportOkMessage, 'type'> {
  counterFloor?: number | null;
}

export function statusReport(reply: StatusOkMessage | StatusOkV2Message | StatusOkV3Message): StatusReport {
  if (reply.type === 'status_ok_v3') return { ...reply.status, counterFloor: reply.counterFloor, peers: reply.peers };
  return reply.type === 'status_ok_v2' ? { ...reply.status, counterFloor: reply.counterFloor } : { ...reply.status };
}

export function importReport(reply: ImportOkMessage | ImportOkV2Message): ImportReport {
  const { type: _type, ...fields } = reply;
  return fields;
}

// Service (agent → node)
/**
 * A decoded KEY. `secret` is the 608-byte Sum6KES sign key at `evolution`, in allocSecret()
 * memory owned by the receiver: hand it to the key type and releaseSecret() it.
 */
export interface KeyMessage { type: 'key'; seq: number; opcert: Opcert; evolution: number; secret: Uint8Array }
export interface NoKeyMessage { type: 'no_key'; seq: number }
export interface KeyDroppedMessage { type: 'key_dropped'; seq: number }
// Service (node → agent)
/** `result` is 0 when the node took the key, otherwise a WIRE_ERROR_CODES value. */
export interface ConfirmMessage { type: 'confirm'; seq: number; result: number }

export type Message =
  | HelloMessage
  | WelcomeMessage
  | ErrorMessage
  | KeygenMessage
  | ExportVerkeyMessage
  | ImportOpcertMessage
  | UploadMessage
  | UploadV2Message
  | StatusMessage
  | DropStagedMessage
  | DropActiveMessage
  | KeygenOkMessage
  | VerkeyMessage
  | ImportOkMessage
  | UploadOkMessage
  | StatusOkMessage
  | DroppedMessage
  | StatusOkV2Message
  | ImportOkV2Message
  | StatusOkV3Message
  | KeyMessage
  | NoKeyMessage
  | KeyDroppedMessage
  | ConfirmMessage;

/** Anything that can write a raw 608-byte KES sign key (KesSignKey from src/crypto/kes does). */
export interface RawKeyWriter {
  writeRaw(target: Uint8Array, offset?: number): void;
}

/** KEY as the agent sends it: the key is written straight into the frame, never copied elsewhere. */
export interface OutgoingKeyMessage extends Omit<KeyMessage, 'secret'> {
  secret: RawKeyWriter | Uint8Array;
}

export type OutgoingMessage = Exclude<Message, KeyMessage> | OutgoingKeyMessage;

/**
 * Each type's borsh schema and fixed layout (bodies of integers, bools and fixed byte arrays skip
 * borsh when decoded), made at the type's first use: making all of them when this module loads
 * cost every short command ~1.5 ms of its start (kes-ctl status needs three types).
 */
const borshSchemas = new Map<MessageType, Schema>();
const fixedLayouts = new Map<MessageType, FixedLayout | undefined>();

function borshSchemaOf(type: MessageType): Schema {
  let schema = borshSchemas.get(type);
  if (schema === undefined) {
    schema = toBorshSchema(MESSAGE_SCHEMAS[type].body);
    borshSchemas.set(type, schema);
  }
  return schema;
}

function fixedLayoutOf(type: MessageType): FixedLayout | undefined {
  if (!fixedLayouts.has(type)) fixedLayouts.set(type, fixedLayout(MESSAGE_SCHEMAS[type].body, type, MESSAGE_SCHEMAS[type].wireName));
  return fixedLayouts.get(type);
}

function isMessageType(t: unknown): t is MessageType {
  return typeof t === 'string' && Object.prototype.hasOwnProperty.call(MESSAGE_SCHEMAS, t);
}

/**
 * Encode a message into a whole frame (length field included), after checking every field
 * against its wire type and limit (borsh would silently wrap out-of-range integers).
 *
 * For KEY the secret (a RawKeyWriter such as KesSignKey, or 608 bytes) is written straight into
 * the frame, which is then allocSecret() memory holding the key: the caller must wipe it
 * (releaseSecret) once the socket write has completed (in the write callback, not before:
 * the socket keeps a reference to the buffer until then).
 *
 * @throws KesError INVALID_ARGUMENT / OUT_OF_RANGE / INVALID_LENGTH naming the bad field.
 */
export function encodeMessage(msg: OutgoingMessage): Uint8Array {
  if (typeof msg !== 'object' || msg === null || !isMessageType((msg as { type?: unknown }).type)) {
    throw new KesError('INVALID_ARGUMENT', 'message: expected an object with a known `type`');
  }
  const schema = MESSAGE_SCHEMAS[msg.type];
  const secret = schema.secret ? (msg as OutgoingKeyMessage).secret : undefined;
  if (schema.secret) assertSecretSource(secret, `${msg.type}.secret`);

  const body = serialize(borshSchemaOf(msg.type), toWireValue(msg, schema.body, msg.type));
  const payloadLength = KIND_BYTES + body.length + (schema.secret ? KES_SECRET_BYTES : 0);
  if (payloadLength > MAX_FRAME_PAYLOAD_BYTES) {
    throw new KesError('OUT_OF_RANGE', `${msg.type}: payload of ${payloadLength} bytes exceeds ${MAX_FRAME_PAYLOAD_BYTES}`);
  }
  const frameLength = FRAME_HEADER_BYTES + payloadLength;
  const frame = schema.secret ? allocSecret(frameLength) : new Uint8Array(frameLength);
  writeFrameHeader(frame, payloadLength);
  frame[FRAME_HEADER_BYTES] = schema.kind;
  frame.set(body, FRAME_HEADER_BYTES + KIND_BYTES);
  if (secret !== undefined) {
    const at = FRAME_HEADER_BYTES + KIND_BYTES + body.length;
    try {
      if (secret instanceof Uint8Array) frame.set(secret, at);
      else secret.writeRaw(frame, at);
    } catch (e) {
      releaseSecret(frame);
      throw e;
    }
  }
  return frame;
}

function assertSecretSource(x: unknown, what: string): asserts x is RawKeyWriter | Uint8Array {
  if (x instanceof Uint8Array) {
    if (x.length !== KES_SECRET_BYTES) {
      throw new KesError('INVALID_LENGTH', `${what}: expected ${KES_SECRET_BYTES} bytes, got ${x.length}`);
    }
    return;
  }
  if (typeof x !== 'object' || x === null || typeof (x as RawKeyWriter).writeRaw !== 'function') {
    throw new KesError('INVALID_ARGUMENT', `${what}: expected a key with writeRaw(target, offset) or ${KES_SECRET_BYTES} bytes`);
  }
}

/**
 * Decode one frame's payload into a typed message.
 *
 * For KEY, the secret segment (the last KES_SECRET_BYTES of the payload) is copied into
 * allocSecret() memory before anything else is looked at, and the frame's copy is wiped at once,
 * whether or not the rest of the frame turns out valid.
 *
 * @throws ProtocolError UNKNOWN_KIND for a kind this build does not know; MALFORMED_FRAME for a
 *   payload that is empty, too short for its secret segment, not exactly the canonical encoding
 *   of its body, or over a field limit; FRAME_TOO_LARGE for a payload above the frame limit.
 */
export function decodeFrame(frame: DecodedFrame): Message {
  const payload = frame.payload;
  if (!(payload instanceof Uint8Array) || payload.length < KIND_BYTES) {
    throw new ProtocolError('MALFORMED_FRAME', 'frame payload is empty');
  }
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) {
    throw new ProtocolError('FRAME_TOO_LARGE', `frame payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD_BYTES}`);
  }
  const kind = payload[0]!;
  if (frame.kind !== kind) throw new ProtocolError('MALFORMED_FRAME', 'frame kind does not match its first payload byte');
  const type = messageTypeOfKind(kind);
  if (type === undefined) {
    throw new ProtocolError('UNKNOWN_KIND', `unknown message kind 0x${kind.toString(16).padStart(2, '0')}`);
  }
  const schema = MESSAGE_SCHEMAS[type];

  let secret: Uint8Array | undefined;
  let bodyEnd = payload.length;
  if (schema.secret) {
    if (payload.length < KIND_BYTES + KES_SECRET_BYTES) {
      wipe(payload);
      throw new ProtocolError(
        'MALFORMED_FRAME',
        `${schema.wireName} payload of ${payload.length} bytes cannot hold its ${KES_SECRET_BYTES}-byte key`,
      );
    }
    bodyEnd = payload.length - KES_SECRET_BYTES;
    secret = allocSecret(KES_SECRET_BYTES);
    secret.set(payload.subarray(bodyEnd));
    wipe(payload.subarray(bodyEnd));
  }
  try {
    const m = decodeBody(type, payload.subarray(KIND_BYTES, bodyEnd));
    if (secret !== undefined) m['secret'] = secret;
    return m as unknown as Message;
  } catch (e) {
    releaseSecret(secret);
    throw e;
  }
}

/** The message `{ type, ...fields }` of one body. */
function decodeBody(type: MessageType, body: Uint8Array): Record<string, unknown> {
  const fixed = fixedLayoutOf(type);
  if (fixed !== undefined) return fixed.decode(body, { type });
  const schema = MESSAGE_SCHEMAS[type];
  let decoded: unknown;
  let canonical: Uint8Array;
  try {
    decoded = deserialize(borshSchemaOf(type), body);
    canonical = serialize(borshSchemaOf(type), decoded);
  } catch {
    // borsh's own message is not passed on: it is free text about the peer's bytes.
    throw new ProtocolError('MALFORMED_FRAME', `${schema.wireName} body does not match its schema`);
  }
  if (!bytesEqual(canonical, body)) {
    throw new ProtocolError(
      'MALFORMED_FRAME',
      `${schema.wireName} body is not canonical (trailing bytes, a bool other than 0/1, or bad UTF-8)`,
    );
  }
  return { type, ...(fromWireValue(decoded, schema.body, type) as Record<string, unknown>) };
}
