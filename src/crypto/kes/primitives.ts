/**
 * The only module through which KES secrets reach libsodium.
 *
 * Secret-taking calls: Ed25519 seed → keypair, Ed25519 sign with seed||pk, Blake2b-256 of a
 * prefixed seed (seed expansion), and fresh randomness. They go through ../sodium-heap, which
 * places the secret in libsodium's (locked) heap itself and zeroes it there after the call:
 * libsodium-wrappers would leave a copy behind (it copies each argument into the heap and frees it unwiped).
 * Public-only calls (pair hash, verify) use the wrapper.
 *
 * The call counters let tests prove that key generation and evolution cost exactly the
 * primitives docs/kes-construction.md §4.2, §4.7 require and no more; they are plain integer increments.
 */
import { wipe } from '../bytes';
import { sodium } from '../sodium';
import { heapGenericHash, heapRandomBytes, heapSeedPublicKey, heapSignSk64 } from '../sodium-heap';
import { ED25519_SIGNATURE_BYTES } from '../ed25519';
import { KES_SEED_BYTES, KES_VK_BYTES } from './params';

/** docs/kes-construction.md §4.1: r0 = H(0x01 || s), r1 = H(0x02 || s). */
const EXPAND_PREFIX_R0 = 0x01;
const EXPAND_PREFIX_R1 = 0x02;
/** 1-byte prefix + 32-byte seed. */
export const EXPAND_INPUT_BYTES = 1 + KES_SEED_BYTES;

export interface PrimitiveCalls {
  /** crypto_sign_seed_keypair */
  seedKeypair: number;
  /** Blake2b-256 of a 33-byte prefixed seed (two per seed expansion) */
  expandHash: number;
  /** Blake2b-256 of a 64-byte vk0 || vk1 pair */
  pairHash: number;
  /** crypto_sign_detached */
  sign: number;
  /** crypto_sign_verify_detached */
  verify: number;
}

const calls: PrimitiveCalls = { seedKeypair: 0, expandHash: 0, pairHash: 0, sign: 0, verify: 0 };

/** Snapshot of the call counters (for tests and benchmarks). */
export function primitiveCalls(): PrimitiveCalls {
  return { ...calls };
}

export function resetPrimitiveCalls(): void {
  calls.seedKeypair = 0;
  calls.expandHash = 0;
  calls.pairHash = 0;
  calls.sign = 0;
  calls.verify = 0;
}

/** Write the Ed25519 public key of `seed` into `pkOut`. libsodium's 64-byte seed||pk is wiped. */
export function seedPublicKey(seed: Uint8Array, pkOut: Uint8Array): void {
  calls.seedKeypair++;
  heapSeedPublicKey(seed, pkOut);
}

/**
 * docs/kes-construction.md §4.1 into caller-owned buffers. `input` is caller-owned scratch of
 * EXPAND_INPUT_BYTES, wiped before returning. The outputs may alias `seed`: it is copied into `input` first.
 */
export function expandSeed(seed: Uint8Array, r0Out: Uint8Array, r1Out: Uint8Array, input: Uint8Array): void {
  try {
    input.set(seed.subarray(0, KES_SEED_BYTES), 1);
    input[0] = EXPAND_PREFIX_R0;
    calls.expandHash++;
    // r0 is written before r1's input is hashed, but `input` holds its own copy of the seed, so
    // an r0Out aliasing `seed` is harmless.
    heapGenericHash(input, r0Out.subarray(0, KES_SEED_BYTES));
    input[0] = EXPAND_PREFIX_R1;
    calls.expandHash++;
    heapGenericHash(input, r1Out.subarray(0, KES_SEED_BYTES));
  } finally {
    wipe(input);
  }
}

/** Blake2b-256 of vk0 || vk1 (public data). */
export function hashPair(pair: Uint8Array): Uint8Array {
  calls.pairHash++;
  return sodium().crypto_generichash(KES_VK_BYTES, pair, null);
}

/**
 * Ed25519 signature with libsodium's 64-byte seed||pk form, which the caller assembles from
 * the stored leaf seed and the leaf vk the key already holds (so no keypair derivation per sign).
 */
export function signWithSk64(message: Uint8Array, sk64: Uint8Array): Uint8Array {
  calls.sign++;
  const sig = heapSignSk64(message, sk64);
  if (sig.length !== ED25519_SIGNATURE_BYTES) throw new Error('libsodium returned a malformed signature');
  return sig;
}

/** libsodium's strict verification (docs/kes-construction.md §2): the ledger's accept/reject rules. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  calls.verify++;
  return sodium().crypto_sign_verify_detached(signature, message, publicKey);
}

/** 32 bytes from libsodium's CSPRNG into `out`, through a wiped heap block. */
export function randomSeed(out: Uint8Array): void {
  heapRandomBytes(out.subarray(0, KES_SEED_BYTES));
}
