/**
 * Operational certificates (docs/kes-construction.md §5).
 *
 * An opcert binds a KES verification key (the hot key) to a pool's cold key for KES periods
 * starting at `kesPeriod`, with a counter that lets the chain reject older certificates.
 */
import { KesError } from '../errors';
import { assertBytes, assertInteger, bytesEqual, concatBytes, u64be } from '../crypto/bytes';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SEED_BYTES, ED25519_SIGNATURE_BYTES, ed25519PublicKey, ed25519Sign, ed25519Verify } from '../crypto/ed25519';
import { KES_VK_BYTES } from '../crypto/kes/params';
import { decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from './cbor';
import { ENVELOPE_TYPES, ENVELOPE_DESCRIPTIONS, readEnvelopeFile, writeEnvelopeFile, type Envelope } from './envelope';
import type { WriteOutcome } from './file-io';

export { KES_VK_BYTES };
/** hot_vk (32) || u64be(counter) || u64be(kes_period) (docs/kes-construction.md §5.2). */
export const OPCERT_SIGNABLE_BYTES = 48;
/**
 * Counter and KES period are Word64 on chain; we carry them as JS numbers and refuse anything
 * that would lose precision.
 */
export const MAX_OPCERT_INTEGER = Number.MAX_SAFE_INTEGER;

export interface Opcert {
  /** The KES verification key this certificate authorises (32 bytes). */
  hotVk: Uint8Array;
  /** Issue counter n. */
  counter: number;
  /** First absolute KES period c0 at which the hot key may sign. */
  kesPeriod: number;
  /** Ed25519 signature of the cold key over opcertSignable (64 bytes). */
  sigma: Uint8Array;
  /** The cold verification key (32 bytes); part of the cardano-cli file, not of the on-chain opcert. */
  coldVk: Uint8Array;
}

/**
 * An opcert that shares no byte array with `o`. Opcerts are public, but a holder (a key slot, a
 * node client) must not share buffers with its caller: a caller that later reuses or wipes its
 * buffer would silently change what the holder (and every node it serves) believes.
 */
export function copyOpcert(o: Opcert): Opcert {
  return { hotVk: o.hotVk.slice(), counter: o.counter, kesPeriod: o.kesPeriod, sigma: o.sigma.slice(), coldVk: o.coldVk.slice() };
}

export interface OpcertFields {
  hotVk: Uint8Array;
  counter: number;
  kesPeriod: number;
}

function assertFields(f: OpcertFields): void {
  assertBytes(f.hotVk, 'opcert hot KES verification key', KES_VK_BYTES);
  assertInteger(f.counter, 'opcert counter', 0, MAX_OPCERT_INTEGER);
  assertInteger(f.kesPeriod, 'opcert KES period', 0, MAX_OPCERT_INTEGER);
}

/**
 * What the cold key signs: 48 raw bytes, no CBOR (docs/kes-construction.md §5.2):
 *   signable = hot_kes_vk (32) || uint64_be(counter) || uint64_be(kes_period)
 */
export function opcertSignable(fields: OpcertFields): Uint8Array {
  assertFields(fields);
  return concatBytes(fields.hotVk, u64be(fields.counter), u64be(fields.kesPeriod));
}

/**
 * Sign a new opcert with the cold key's 32-byte Ed25519 seed (only read, never kept); the
 * opcert's cold vk is derived from it.
 * @throws KesError INVALID_ARGUMENT / INVALID_LENGTH / OUT_OF_RANGE on malformed fields.
 */
export function issueOpcert(args: OpcertFields & { coldSeed: Uint8Array }): Opcert {
  assertBytes(args.coldSeed, 'cold signing key seed', ED25519_SEED_BYTES);
  const signable = opcertSignable(args);
  return {
    hotVk: args.hotVk.slice(),
    counter: args.counter,
    kesPeriod: args.kesPeriod,
    sigma: ed25519Sign(args.coldSeed, signable),
    coldVk: ed25519PublicKey(args.coldSeed),
  };
}

/**
 * Does sigma verify under the opcert's own cold vk (and, when `coldVk` is given, is that the
 * expected cold vk)? Malformed opcerts throw; a well-formed one that does not verify is false.
 */
export function verifyOpcert(opcert: Opcert, coldVk?: Uint8Array): boolean {
  assertBytes(opcert.coldVk, 'opcert cold verification key', ED25519_PUBLIC_KEY_BYTES);
  assertBytes(opcert.sigma, 'opcert signature', ED25519_SIGNATURE_BYTES);
  if (coldVk !== undefined) {
    assertBytes(coldVk, 'cold verification key', ED25519_PUBLIC_KEY_BYTES);
    if (!bytesEqual(coldVk, opcert.coldVk)) return false;
  }
  return ed25519Verify(opcert.coldVk, opcertSignable(opcert), opcert.sigma);
}

/** CBOR of the cardano-cli file: [[hot_vk, n, c0, sigma], cold_vk] (docs/kes-construction.md §5.3). */
export function encodeOpcert(opcert: Opcert): Uint8Array {
  assertFields(opcert);
  assertBytes(opcert.sigma, 'opcert signature', ED25519_SIGNATURE_BYTES);
  assertBytes(opcert.coldVk, 'opcert cold verification key', ED25519_PUBLIC_KEY_BYTES);
  return encodeCbor([[opcert.hotVk, opcert.counter, opcert.kesPeriod, opcert.sigma], opcert.coldVk]);
}

/**
 * Decode [[hot_vk, n, c0, sigma], cold_vk]; the byte fields of the result are copies.
 * @throws KesError CBOR_MALFORMED (naming the field), OUT_OF_RANGE.
 */
export function decodeOpcert(cbor: Uint8Array, what = 'opcert'): Opcert {
  const outer = expectArray(decodeCbor(cbor, what), 2, `${what}: [certificate, cold vk]`);
  const inner = expectArray(outer[0]!, 4, `${what}: certificate [hot vk, counter, KES period, signature]`);
  return {
    hotVk: expectBytes(inner[0]!, KES_VK_BYTES, `${what}: hot KES verification key`).slice(),
    counter: expectUint(inner[1]!, `${what}: counter`),
    kesPeriod: expectUint(inner[2]!, `${what}: KES period`),
    sigma: expectBytes(inner[3]!, ED25519_SIGNATURE_BYTES, `${what}: signature`).slice(),
    coldVk: expectBytes(outer[1]!, ED25519_PUBLIC_KEY_BYTES, `${what}: cold verification key`).slice(),
  };
}

export function opcertToEnvelope(opcert: Opcert): Envelope<typeof ENVELOPE_TYPES.opcert> {
  return { type: ENVELOPE_TYPES.opcert, description: ENVELOPE_DESCRIPTIONS[ENVELOPE_TYPES.opcert], cbor: encodeOpcert(opcert) };
}

export function opcertFromEnvelope(env: Envelope<typeof ENVELOPE_TYPES.opcert>, what = 'opcert'): Opcert {
  if (env.type !== ENVELOPE_TYPES.opcert) throw new KesError('ENVELOPE_WRONG_TYPE', `${what}: expected a ${ENVELOPE_TYPES.opcert}`);
  return decodeOpcert(env.cbor, what);
}

/** Read a cardano-cli opcert file. Shape only: verify with verifyOpcert. */
export function readOpcertFile(file: string): Opcert {
  return opcertFromEnvelope(readEnvelopeFile(file, ENVELOPE_TYPES.opcert), file);
}

/** Write an opcert file byte-identical to cardano-cli's (mode 0644; with overwrite, replaces an existing file atomically). */
export function writeOpcertFile(file: string, opcert: Opcert, opts: { overwrite: boolean }): WriteOutcome {
  return writeEnvelopeFile(file, opcertToEnvelope(opcert), opts);
}
