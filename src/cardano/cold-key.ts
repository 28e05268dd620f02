/**
 * Stake-pool cold keys (docs/kes-construction.md §6): a 32-byte Ed25519 seed (StakePoolSigningKey_ed25519)
 * and its 32-byte public key (StakePoolVerificationKey_ed25519), each CBOR `bytes(32)`.
 *
 * The seed lives in allocSecret() memory inside a ColdSigningKey and is wiped by destroy().
 */
import { KesError } from '../errors';
import { assertBytes, bytesEqual } from '../crypto/bytes';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SEED_BYTES, ed25519PublicKey } from '../crypto/ed25519';
import { allocSecret, releaseSecret } from '../crypto/secret-memory';
import { heapRandomBytes } from '../crypto/sodium-heap';
import type { WriteOutcome } from './file-io';
import { ENVELOPE_TYPES, keyEnvelope, readKeyEnvelopeFile, readSecretKeyEnvelopeFile, writeEnvelopeFile, writeSecretKeyEnvelopeFile } from './envelope';

export class ColdSigningKey {
  #seed: Uint8Array | undefined;
  /** The Ed25519 public key (public data). */
  readonly verificationKey: Uint8Array;

  private constructor(seed: Uint8Array) {
    this.#seed = seed;
    this.verificationKey = ed25519PublicKey(seed);
  }

  /** Copies `seed` into secret memory; the caller still owns (and wipes) its own copy. */
  static fromSeed(seed: Uint8Array): ColdSigningKey {
    assertBytes(seed, 'cold signing key seed', ED25519_SEED_BYTES);
    const own = allocSecret(ED25519_SEED_BYTES);
    own.set(seed);
    return new ColdSigningKey(own);
  }

  /** A fresh key from libsodium's CSPRNG. */
  static generate(): ColdSigningKey {
    const own = allocSecret(ED25519_SEED_BYTES);
    heapRandomBytes(own);
    return new ColdSigningKey(own);
  }

  get destroyed(): boolean {
    return this.#seed === undefined;
  }

  /**
   * The seed itself (not a copy), for issueOpcert and writing the key file. Do not keep it.
   * @throws KesError COLD_KEY_DESTROYED after destroy().
   */
  get seed(): Uint8Array {
    if (this.#seed === undefined) throw new KesError('COLD_KEY_DESTROYED', 'cold signing key used after destroy()');
    return this.#seed;
  }

  /** Wipe the seed. Idempotent. */
  destroy(): void {
    releaseSecret(this.#seed);
    this.#seed = undefined;
  }
}

/**
 * Read a StakePoolSigningKey_ed25519 file. The caller destroy()s the returned key.
 * @throws KesError FILE_*, ENVELOPE_*, CBOR_MALFORMED.
 */
export function readColdSigningKeyFile(file: string): ColdSigningKey {
  return readSecretKeyEnvelopeFile(file, ENVELOPE_TYPES.coldSigningKey, ED25519_SEED_BYTES, 'cold signing key', (seed) => ColdSigningKey.fromSeed(seed));
}

/** Write a cold signing key file (mode 0600); the encoded bytes are wiped after the write. */
export function writeColdSigningKeyFile(file: string, key: ColdSigningKey, opts: { overwrite: boolean }): WriteOutcome {
  return writeSecretKeyEnvelopeFile(file, ENVELOPE_TYPES.coldSigningKey, key.seed, opts);
}

export function readColdVerificationKeyFile(file: string): Uint8Array {
  return readKeyEnvelopeFile(file, ENVELOPE_TYPES.coldVerificationKey, ED25519_PUBLIC_KEY_BYTES, 'cold verification key');
}

export function writeColdVerificationKeyFile(file: string, vk: Uint8Array, opts: { overwrite: boolean }): WriteOutcome {
  assertBytes(vk, 'cold verification key', ED25519_PUBLIC_KEY_BYTES);
  return writeEnvelopeFile(file, keyEnvelope(ENVELOPE_TYPES.coldVerificationKey, vk), opts);
}

/** Is `vk` the public key of `key`? */
export function coldKeyMatches(key: ColdSigningKey, vk: Uint8Array): boolean {
  assertBytes(vk, 'cold verification key', ED25519_PUBLIC_KEY_BYTES);
  return bytesEqual(key.verificationKey, vk);
}
