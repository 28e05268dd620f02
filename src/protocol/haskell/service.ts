/**
 * The Service protocol (agent = pusher, node or bootstrapping agent = receiver), after the
 * version handshake. No framing; EOF is the end message.
 *
 *   agent → VersionMessage: the 32-byte version id again (RawUtil.hs `sendVersion`);
 *   agent → KeyMessage: V0/V1 `Bundle` (724) = signKey(608) ‖ evolution u32be ‖ OCert(112)
 *           (Service/V0/Driver.hs, Service/V1/Driver.hs);
 *           V2 `0x00 ‖ timestamp u64be µs ‖ Bundle` = 733 (Service/V2/Driver.hs: tag, timestamp,
 *           then bundle);
 *   agent → DropKeyMessage (V2 only): `0x01 ‖ timestamp u64be µs` = 9;
 *   client → RecvResult: Word32 BE (RawUtil.hs `sendRecvResult`/`encodeRecvResult`).
 */
import { allocSecret, releaseSecret } from '../../crypto/secret-memory';
import type { ByteReader, ReadOptions } from './byte-reader';
import {
  DROP_KEY_MESSAGE_ID,
  HS_BUNDLE_BYTES,
  HS_EVOLUTION_BYTES,
  HS_OCERT_BYTES,
  HS_SERVICE_V2_DROP_MESSAGE_BYTES,
  HS_SERVICE_V2_KEY_MESSAGE_BYTES,
  HS_SIGN_KEY_BYTES,
  KEY_MESSAGE_ID,
  RECV_RESULTS,
  SERVICE_RECV_RESULT_CODES,
  VERSION_ID_BYTES,
  type RecvResult,
  type ServiceVersion,
} from './constants';
import { HaskellProtocolError } from './errors';
import { decodeOCert, encodeOCert, type WireOCert, type WireOCertInput } from './ocert';
import { ByteWriter, enumAt } from './primitives';
import { serviceVersionId } from './version-handshake';

// ---------------------------------------------------------------------------------------------
// Agent side

/** VersionMessage: the negotiated version id, 32 bytes (RawUtil.hs `sendVersion`). */
export function encodeServiceVersionMessage(version: ServiceVersion): Uint8Array {
  return serviceVersionId(version);
}

export interface ServiceKeyInput {
  /** The raw 608-byte Sum6KES sign key at its current evolution. Copied; the caller keeps it. */
  signKey: Uint8Array;
  /** The key's current evolution (`periodKES`, Word32). */
  evolution: number;
  ocert: WireOCertInput;
  /** V2 only: the bundle timestamp, microseconds since the epoch (`Timestamp`, Word64). */
  timestampUs?: bigint | number;
}

/**
 * KeyMessage for `version`, in ONE allocSecret() buffer: the sign key is copied straight in and
 * never passes through any other buffer. The caller releases it with releaseSecret() once the
 * socket has written it (writeSecret in socket-write.ts does both). V2 needs `timestampUs`.
 * (Service/V0/Driver.hs, V1/Driver.hs: `sendItem s bundle`; V2/Driver.hs: `sendItem s KeyMessageID;
 * sendItem s timestamp; sendItem s bundle`; Bundle layout: DirectCodec.hs.)
 */
export function encodeServiceKeyMessage(version: ServiceVersion, key: ServiceKeyInput): Uint8Array {
  if (key.signKey.length !== HS_SIGN_KEY_BYTES) throw new RangeError(`a sign key is ${HS_SIGN_KEY_BYTES} bytes`);
  if (!Number.isInteger(key.evolution) || key.evolution < 0 || key.evolution > 0xffffffff) throw new RangeError('evolution out of range');
  // Everything public is encoded first, so that a bad argument throws before any locked memory is taken.
  const ocert = encodeOCert(key.ocert);
  let header: Uint8Array = new Uint8Array(0);
  if (version === 2) {
    if (key.timestampUs === undefined) throw new RangeError('a Service V2 KeyMessage needs a timestamp');
    header = new ByteWriter().u8(KEY_MESSAGE_ID).u64(key.timestampUs, 'timestamp').finish();
  }
  const out = allocSecret(header.length + HS_BUNDLE_BYTES);
  let off = 0;
  out.set(header, off);
  off += header.length;
  out.set(key.signKey, off);
  off += HS_SIGN_KEY_BYTES;
  new DataView(out.buffer, out.byteOffset, out.length).setUint32(off, key.evolution, false);
  off += HS_EVOLUTION_BYTES;
  out.set(ocert, off);
  return out;
}

/** DropKeyMessage, V2 only: 01 ‖ timestamp u64be µs (Service/V2/Driver.hs). */
export function encodeServiceDropMessage(timestampUs: bigint | number): Uint8Array {
  return new ByteWriter().u8(DROP_KEY_MESSAGE_ID).u64(timestampUs, 'timestamp').finish();
}

/**
 * A service RecvResult as the agent reads it: a known result, or Unknown with the raw Word32
 * (RawUtil.hs `decodeRecvResult` maps every other value to RecvErrorUnknown; `raw` is for logs).
 */
export interface ServiceRecvResult {
  result: RecvResult;
  raw: number;
}

/** Read the client's RecvResult (Word32 BE). Never an error for an unknown value: it is Unknown. */
export async function readServiceRecvResult(r: ByteReader, opts: ReadOptions = {}): Promise<ServiceRecvResult> {
  r.beginMessage();
  const raw = await r.readU32(opts);
  const known = (Object.entries(SERVICE_RECV_RESULT_CODES) as [RecvResult, number][]).find(([, code]) => code === raw);
  return { result: known !== undefined ? known[0] : 'RecvErrorUnknown', raw };
}

// ---------------------------------------------------------------------------------------------
// Client side (agent-to-agent bootstrap, test tools)

/**
 * Read the agent's VersionMessage and check it is `version` (RawUtil.hs `checkVersion`; a mismatch
 * is `ReadVersionMismatch`, the client aborts): VERSION_MISMATCH.
 */
export async function readServiceVersionMessage(r: ByteReader, version: ServiceVersion, opts: ReadOptions = {}): Promise<void> {
  r.beginMessage();
  const got = await r.readExact(VERSION_ID_BYTES, opts);
  const want = serviceVersionId(version);
  if (!got.every((b, i) => b === want[i])) throw new HaskellProtocolError('VERSION_MISMATCH', 'the VersionMessage is not the negotiated version');
}

export interface ReceivedKey {
  type: 'key';
  /** 608 bytes in allocSecret() memory: the caller releases it with releaseSecret(). */
  signKey: Uint8Array;
  evolution: number;
  ocert: WireOCert;
  /** µs; 0n on V0/V1, as the Haskell service client tags them (Processes/ServiceClient.hs). */
  timestampUs: bigint;
}

export interface ReceivedDrop {
  type: 'drop';
  timestampUs: bigint;
}

export type ServiceMessage = ReceivedKey | ReceivedDrop;

export interface ServiceReadOptions extends ReadOptions {
  /**
   * V2: wait for the message's first byte (its tag) without a timeout, and apply `timeoutMs` to
   * the rest. A pusher may stay idle for days between messages, but once a message has begun it
   * must arrive whole: a peer that stops mid-message is then a timeout, not a stuck reader.
   */
  untimedFirstByte?: boolean;
}

/**
 * Read one KeyMessage or (V2) DropKeyMessage. The sign key lands in allocSecret() memory. An
 * out-of-range V2 tag is ENUM_OUT_OF_RANGE (`decodeEnum` / `toEnum`); an EOF before the first
 * byte is a clean close (PeerClosedError clean), within the message a short read.
 * (Service/V0/Driver.hs, V1/Driver.hs, V2/Driver.hs `recvMessage` in SIdleState.)
 */
export async function readServiceMessage(r: ByteReader, version: ServiceVersion, opts: ServiceReadOptions = {}): Promise<ServiceMessage> {
  r.beginMessage();
  let timestampUs = 0n;
  if (version === 2) {
    const first = opts.untimedFirstByte === true ? { ...opts, timeoutMs: undefined } : opts;
    const tag = enumAt(['key', 'drop'] as const, await r.readU8(first), 'KeyMessageTypeID');
    timestampUs = await r.readU64(opts);
    if (tag === 'drop') return { type: 'drop', timestampUs };
  }
  const signKey = await r.readExact(HS_SIGN_KEY_BYTES, { ...opts, secret: true });
  try {
    const evolution = await r.readU32(opts);
    const ocert = decodeOCert(await r.readExact(HS_OCERT_BYTES, opts));
    return { type: 'key', signKey, evolution, ocert, timestampUs };
  } catch (e) {
    releaseSecret(signKey);
    throw e;
  }
}

/** RecvResult, Word32 BE (RawUtil.hs `encodeRecvResult`; Unknown is 0xFFFF). */
export function encodeServiceRecvResult(result: RecvResult): Uint8Array {
  if (!RECV_RESULTS.includes(result)) throw new RangeError('not a RecvResult');
  return new ByteWriter().u32(SERVICE_RECV_RESULT_CODES[result]).finish();
}

/** Bytes of each agent → client service message, for callers that size writes or checks. */
export const SERVICE_MESSAGE_BYTES = Object.freeze({
  versionMessage: VERSION_ID_BYTES,
  keyV0V1: HS_BUNDLE_BYTES,
  keyV2: HS_SERVICE_V2_KEY_MESSAGE_BYTES,
  dropV2: HS_SERVICE_V2_DROP_MESSAGE_BYTES,
});
