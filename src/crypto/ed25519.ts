/**
 * Ed25519 and Blake2b-256 exactly as cardano-base uses them (docs/kes-construction.md §2).
 *
 * A sign key is the 32-byte RFC 8032 seed; libsodium's 64-byte `seed || pk` form exists only
 * inside libsodium's heap for the duration of a call and is wiped there (./sodium-heap).
 * Verification is libsodium's
 * `crypto_sign_verify_detached`: its strict rules are the ledger's.
 */
import { assertBytes } from './bytes';
import { sodium } from './sodium';
import { heapSeedPublicKey, heapSignSeed } from './sodium-heap';

export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const BLAKE2B_256_BYTES = 32;

/** Blake2b with a 32-byte digest: `crypto_generichash(32, data)`, not truncated Blake2b-512. */
export function blake2b256(data: Uint8Array): Uint8Array {
  return sodium().crypto_generichash(BLAKE2B_256_BYTES, data, null);
}

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  assertBytes(seed, 'Ed25519 seed', ED25519_SEED_BYTES);
  const pk = new Uint8Array(ED25519_PUBLIC_KEY_BYTES);
  heapSeedPublicKey(seed, pk);
  return pk;
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  assertBytes(seed, 'Ed25519 seed', ED25519_SEED_BYTES);
  assertBytes(message, 'message');
  return heapSignSeed(message, seed);
}

/** Malformed arguments throw; a well-formed signature that does not verify returns false. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes(publicKey, 'Ed25519 public key', ED25519_PUBLIC_KEY_BYTES);
  assertBytes(message, 'message');
  assertBytes(signature, 'Ed25519 signature', ED25519_SIGNATURE_BYTES);
  return sodium().crypto_sign_verify_detached(signature, message, publicKey);
}
