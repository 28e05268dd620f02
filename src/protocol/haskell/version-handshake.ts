/**
 * The VersionHandshake protocol that opens every connection
 * (kes-agent/src/Cardano/KESAgent/Protocols/VersionHandshake/Driver.hs, Peers.hs). The listening
 * agent is the server on both sockets and speaks first:
 *   server → VersionOfferMessage [VersionIdentifier]: u32be count ‖ 32 × count bytes;
 *   client → Maybe VersionIdentifier: 01 ‖ id (accept) or 00 (reject).
 * The client picks the first entry of ITS OWN preference list that is in the offer. Then the
 * chosen protocol starts on the same connection (no framing in between).
 */
import type { ByteReader, ReadOptions } from './byte-reader';
import {
  CONTROL_VERSION_IDS,
  MAX_OFFER_ENTRIES,
  SERVICE_VERSION_IDS,
  VERSION_ID_BYTES,
  type ControlVersion,
  type ServiceVersion,
} from './constants';
import { HaskellProtocolError } from './errors';
import { ByteWriter } from './primitives';

/**
 * `mkVersionIdentifier`: the ASCII bytes of `s`, NUL-padded or truncated to 32
 * (kes-agent-crypto/src/Cardano/KESAgent/Protocols/VersionedProtocol.hs).
 */
export function versionId(s: string): Uint8Array {
  const out = new Uint8Array(VERSION_ID_BYTES);
  for (let i = 0; i < s.length && i < VERSION_ID_BYTES; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) throw new RangeError('a version identifier is ASCII');
    out[i] = c;
  }
  return out;
}

export function serviceVersionId(v: ServiceVersion): Uint8Array {
  return versionId(SERVICE_VERSION_IDS[v]);
}

export function controlVersionId(v: ControlVersion): Uint8Array {
  return versionId(CONTROL_VERSION_IDS[v]);
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Which known protocol version a 32-byte id names, if any. */
export type KnownVersion = { protocol: 'service'; version: ServiceVersion } | { protocol: 'control'; version: ControlVersion };

export function knownVersion(id: Uint8Array): KnownVersion | undefined {
  for (const v of [0, 1, 2] as ServiceVersion[]) if (sameId(id, serviceVersionId(v))) return { protocol: 'service', version: v };
  for (const v of [0, 1, 2, 3] as ControlVersion[]) if (sameId(id, controlVersionId(v))) return { protocol: 'control', version: v };
  return undefined;
}

/** The service version `id` names, or undefined. */
export function serviceVersionOf(id: Uint8Array): ServiceVersion | undefined {
  const k = knownVersion(id);
  return k?.protocol === 'service' ? k.version : undefined;
}

/** The control version `id` names, or undefined. */
export function controlVersionOf(id: Uint8Array): ControlVersion | undefined {
  const k = knownVersion(id);
  return k?.protocol === 'control' ? k.version : undefined;
}

/** The printable name of a known id (e.g. "Service:2.0") for logs; undefined for any other bytes. */
export function versionName(id: Uint8Array): string | undefined {
  const k = knownVersion(id);
  if (k === undefined) return undefined;
  return k.protocol === 'service' ? SERVICE_VERSION_IDS[k.version] : CONTROL_VERSION_IDS[k.version];
}

/** VersionOfferMessage (Driver.hs `sendItem s versions`: a `[VersionIdentifier]`). */
export function encodeOffer(ids: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  w.list(ids, MAX_OFFER_ENTRIES, (w2, id) => void w2.bytes(id, VERSION_ID_BYTES, 'version identifier'), 'version offer');
  return w.finish();
}

/** The agent's service offer: [Service:2.0, Service:1.0, Service:StandardCrypto:0.4]. */
export function encodeServiceOffer(versions: readonly ServiceVersion[]): Uint8Array {
  return encodeOffer(versions.map(serviceVersionId));
}

/** The agent's control offer: [Control:3.0, 2.0, 1.0, Control:StandardCrypto:0.5]. */
export function encodeControlOffer(versions: readonly ControlVersion[]): Uint8Array {
  return encodeOffer(versions.map(controlVersionId));
}

/** VersionAcceptMessage: `Just id` = 01 ‖ id. */
export function encodeAccept(id: Uint8Array): Uint8Array {
  return new ByteWriter().bool(true).bytes(id, VERSION_ID_BYTES, 'version identifier').finish();
}

/** VersionRejectedMessage: `Nothing` = 00. */
export function encodeReject(): Uint8Array {
  return Uint8Array.of(0);
}

/** The offer's count field (u32 BE), in bytes. */
const OFFER_COUNT_BYTES = 4;

/**
 * Client side, for bytes already in hand (a blocking reader): the offer at the start of `bytes`
 * and where it ends, or undefined when more bytes are needed. A count above MAX_OFFER_ENTRIES is
 * TOO_LARGE as soon as the count is in, as in readOffer. The ids are views into `bytes`.
 */
export function splitOffer(bytes: Uint8Array): { ids: Uint8Array[]; end: number } | undefined {
  if (bytes.length < OFFER_COUNT_BYTES) return undefined;
  const n = new DataView(bytes.buffer, bytes.byteOffset, OFFER_COUNT_BYTES).getUint32(0);
  if (n > MAX_OFFER_ENTRIES) throw new HaskellProtocolError('TOO_LARGE', `a version offer of ${n} entries exceeds the cap of ${MAX_OFFER_ENTRIES}`);
  const end = OFFER_COUNT_BYTES + n * VERSION_ID_BYTES;
  if (bytes.length < end) return undefined;
  const ids: Uint8Array[] = [];
  for (let at = OFFER_COUNT_BYTES; at < end; at += VERSION_ID_BYTES) ids.push(bytes.subarray(at, at + VERSION_ID_BYTES));
  return { ids, end };
}

/** Client side: read the offer; a count above `maxEntries` is TOO_LARGE before any id is read. */
export async function readOffer(r: ByteReader, opts: ReadOptions & { maxEntries?: number } = {}): Promise<Uint8Array[]> {
  r.beginMessage();
  const max = opts.maxEntries ?? MAX_OFFER_ENTRIES;
  const n = await r.readU32({ timeoutMs: opts.timeoutMs });
  if (n > max) throw new HaskellProtocolError('TOO_LARGE', `a version offer of ${n} entries exceeds the cap of ${max}`);
  const ids: Uint8Array[] = [];
  for (let i = 0; i < n; i++) ids.push(await r.readExact(VERSION_ID_BYTES, { timeoutMs: opts.timeoutMs }));
  return ids;
}

export type HandshakeAnswer = { accepted: true; id: Uint8Array } | { accepted: false };

/**
 * Server side: the client's `Maybe VersionIdentifier`. A bad Bool is MALFORMED; an EOF (the
 * client closed instead of answering) rejects with PeerClosedError: a socket error in the
 * Haskell agent, not a refusal. Whether an accepted id was offered is the caller's check.
 */
export async function readAnswer(r: ByteReader, opts: ReadOptions = {}): Promise<HandshakeAnswer> {
  r.beginMessage();
  const id = await r.readMaybe(() => r.readExact(VERSION_ID_BYTES, { timeoutMs: opts.timeoutMs }), { timeoutMs: opts.timeoutMs });
  return id === undefined ? { accepted: false } : { accepted: true, id };
}

/** Client side (`versionHandshakeClient`): the first of `preferences` present in `offer`, if any. */
export function chooseVersion(offer: readonly Uint8Array[], preferences: readonly Uint8Array[]): Uint8Array | undefined {
  return preferences.find((p) => offer.some((o) => sameId(o, p)));
}
