/**
 * Sizes and the flat sign-key layout of SumKES over Ed25519 / Blake2b-256 (docs/kes-construction.md §1, §4.4).
 *
 * cardano-node uses depth 6 (`Sum6KES Ed25519DSIGN Blake2b_256`). The depth-generic helpers exist
 * so the same code can be checked against the Haskell depth-0 and depth-1 vectors.
 */
import { ED25519_SIGNATURE_BYTES } from '../ed25519';

/** Depth of the Sum tree cardano-node uses (docs/kes-construction.md §1). */
export const KES_DEPTH = 6;
/** 2^KES_DEPTH periods, t = 0..63. */
export const KES_PERIODS = 64;
/** The last evolution; a key at this evolution cannot evolve (docs/kes-construction.md §4.7). */
export const KES_MAX_EVOLUTION = KES_PERIODS - 1;
/** Root seed, every r0/r1 and every Ed25519 leaf sign key. */
export const KES_SEED_BYTES = 32;
/** Ed25519 pk at the leaves, Blake2b-256 hash at every Sum level. */
export const KES_VK_BYTES = 32;
/** 32 + 96·6 (docs/kes-construction.md §4.4). No period field: the evolution is stored beside it. */
export const KES_SIGN_KEY_BYTES = 608;
/** 64 + 64·6 (docs/kes-construction.md §4.5). CompactSum would be 288: that is the wrong scheme. */
export const KES_SIGNATURE_BYTES = 448;

/** libsodium's expanded Ed25519 secret key: seed || pk. */
export const ED25519_SK64_BYTES = 64;

/** Each Sum level adds r1 || vk0 || vk1 to the sign key. */
export const LEVEL_BYTES = KES_SEED_BYTES + 2 * KES_VK_BYTES;
/** Each Sum level adds vk0 || vk1 to the signature. */
export const SIG_LEVEL_BYTES = 2 * KES_VK_BYTES;

export function signKeyBytes(depth: number): number {
  return KES_SEED_BYTES + LEVEL_BYTES * depth;
}

export function signatureBytes(depth: number): number {
  return ED25519_SIGNATURE_BYTES + SIG_LEVEL_BYTES * depth;
}

/** Offset of level l's r1 (l = 1 is the bottom level, l = depth the root). docs/kes-construction.md §4.4. */
export function r1Offset(level: number): number {
  return KES_SEED_BYTES + LEVEL_BYTES * (level - 1);
}

/** Offset of level l's vk0; vk1 follows it, so this is also where the 64-byte pair starts. */
export function vk0Offset(level: number): number {
  return r1Offset(level) + KES_SEED_BYTES;
}

export function vk1Offset(level: number): number {
  return vk0Offset(level) + KES_VK_BYTES;
}

/** Offset of level l's vk0 || vk1 pair inside a signature (docs/kes-construction.md §4.5). */
export function sigPairOffset(level: number): number {
  return ED25519_SIGNATURE_BYTES + SIG_LEVEL_BYTES * (level - 1);
}

/** Level l chooses with bit (l−1) of t: 0 = left subtree, 1 = right subtree (docs/kes-construction.md §4.4). */
export function periodBit(t: number, level: number): number {
  return (t >>> (level - 1)) & 1;
}

/**
 * The level the step t → t+1 regenerates: trailing 1-bits of t, plus one (docs/kes-construction.md §4.7).
 * Returns depth + 1 when t is the last period.
 */
export function evolutionLevel(t: number): number {
  let level = 1;
  while ((t & 1) === 1) {
    t >>>= 1;
    level++;
  }
  return level;
}
