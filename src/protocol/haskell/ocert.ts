/**
 * The wire `OCert`: vkHot(32) ‖ ocertN u64be ‖ kesPeriod u64be ‖ sigma(64) = 112 bytes
 * (kes-agent/src/Cardano/KESAgent/Serialization/DirectCodec.hs, `Serializable (DirectCodec m)
 * (OCert c)`: fields in declaration order). Raw fixed-size fields, not the ledger CBOR.
 */
import type { ByteReader } from './byte-reader';
import { HS_OCERT_BYTES, HS_SIGMA_BYTES, HS_VK_BYTES } from './constants';
import { ByteWriter } from './primitives';

export interface WireOCert {
  /** The hot KES verification key (32 bytes). */
  hotVk: Uint8Array;
  /** `ocertN`, the issue counter (Word64). */
  counter: bigint;
  /** `ocertKESPeriod`, the first KES period (Word64). */
  kesPeriod: bigint;
  /** The cold key's Ed25519 signature (64 bytes). */
  sigma: Uint8Array;
}

/** A WireOCert given with plain numbers, as src/cardano/opcert.ts keeps them. */
export interface WireOCertInput {
  hotVk: Uint8Array;
  counter: bigint | number;
  kesPeriod: bigint | number;
  sigma: Uint8Array;
}

export function writeOCert(w: ByteWriter, o: WireOCertInput): void {
  w.bytes(o.hotVk, HS_VK_BYTES, 'ocert hot vk').u64(o.counter, 'ocert counter').u64(o.kesPeriod, 'ocert KES period').bytes(o.sigma, HS_SIGMA_BYTES, 'ocert sigma');
}

/** 112 bytes. */
export function encodeOCert(o: WireOCertInput): Uint8Array {
  const w = new ByteWriter();
  writeOCert(w, o);
  return w.finish();
}

/** Parse 112 bytes (copies: the result shares nothing with `b`). */
export function decodeOCert(b: Uint8Array): WireOCert {
  if (b.length !== HS_OCERT_BYTES) throw new RangeError(`an OCert is ${HS_OCERT_BYTES} bytes, got ${b.length}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  return {
    hotVk: b.slice(0, HS_VK_BYTES),
    counter: dv.getBigUint64(HS_VK_BYTES, false),
    kesPeriod: dv.getBigUint64(HS_VK_BYTES + 8, false),
    sigma: b.slice(HS_VK_BYTES + 16, HS_OCERT_BYTES),
  };
}

export async function readOCert(r: ByteReader): Promise<WireOCert> {
  return decodeOCert(await r.readExact(HS_OCERT_BYTES));
}
