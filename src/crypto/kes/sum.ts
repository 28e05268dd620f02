/**
 * SumKES over Ed25519 / Blake2b-256, depth-generic, on the flat cardano-base layout
 * (docs/kes-construction.md §4). Depth 6 is what cardano-node uses; depths 0 and 1 are here so the Haskell
 * key0/key1 vectors check the same code.
 *
 * Everything works in place on caller-owned buffers: the sign key `sk` (signKeyBytes(depth)
 * bytes) and a Workspace for temporaries. Every temporary seed is wiped as soon as it is used.
 * Functions that only read public data (vks, signatures) allocate freely.
 */
import { bytesEqual, wipe } from '../bytes';
import { ED25519_SIGNATURE_BYTES } from '../ed25519';
import {
  ED25519_SK64_BYTES,
  KES_DEPTH,
  KES_SEED_BYTES,
  KES_VK_BYTES,
  SIG_LEVEL_BYTES,
  evolutionLevel,
  periodBit,
  r1Offset,
  sigPairOffset,
  signatureBytes,
  vk0Offset,
  vk1Offset,
} from './params';
import {
  EXPAND_INPUT_BYTES,
  expandSeed,
  hashPair,
  seedPublicKey,
  signWithSk64,
  verifyEd25519,
} from './primitives';

/** One frame per tree depth: r0 (32) || r1 (32) || vk0 || vk1 (64). */
const FRAME_BYTES = 2 * KES_SEED_BYTES + 2 * KES_VK_BYTES;
const SK64_AT = 0;
const EXPAND_AT = SK64_AT + ED25519_SK64_BYTES;
const CHECK_AT = EXPAND_AT + EXPAND_INPUT_BYTES;
const FRAMES_AT = CHECK_AT + KES_VK_BYTES;
/** Scratch for the deepest tree this module handles (KES_DEPTH). */
export const WORKSPACE_BYTES = FRAMES_AT + FRAME_BYTES * KES_DEPTH;

interface Frame {
  readonly a: Uint8Array;
  readonly b: Uint8Array;
  readonly pair: Uint8Array;
  readonly left: Uint8Array;
  readonly right: Uint8Array;
}

/**
 * Views into one caller-allocated secret buffer, made once so the recursion allocates nothing.
 * Frame d is used by the node of depth d that is being expanded; its children use frame d−1.
 */
export class Workspace {
  readonly buffer: Uint8Array;
  /** libsodium's seed || pk for one signature. */
  readonly sk64: Uint8Array;
  readonly expandInput: Uint8Array;
  /** A derived vk to compare with a stored one (validation). */
  readonly check: Uint8Array;
  readonly frames: readonly Frame[];

  constructor(buffer: Uint8Array) {
    if (buffer.length < WORKSPACE_BYTES) throw new Error(`KES workspace needs ${WORKSPACE_BYTES} bytes`);
    this.buffer = buffer;
    this.sk64 = buffer.subarray(SK64_AT, SK64_AT + ED25519_SK64_BYTES);
    this.expandInput = buffer.subarray(EXPAND_AT, EXPAND_AT + EXPAND_INPUT_BYTES);
    this.check = buffer.subarray(CHECK_AT, CHECK_AT + KES_VK_BYTES);
    const frames: Frame[] = [];
    for (let d = 0; d <= KES_DEPTH; d++) {
      // Frame 0 is never used (a leaf does not expand); keep the index equal to the depth.
      const at = FRAMES_AT + FRAME_BYTES * Math.max(0, d - 1);
      const pair = buffer.subarray(at + 2 * KES_SEED_BYTES, at + FRAME_BYTES);
      frames.push({
        a: buffer.subarray(at, at + KES_SEED_BYTES),
        b: buffer.subarray(at + KES_SEED_BYTES, at + 2 * KES_SEED_BYTES),
        pair,
        left: pair.subarray(0, KES_VK_BYTES),
        right: pair.subarray(KES_VK_BYTES),
      });
    }
    this.frames = frames;
  }

  frame(depth: number): Frame {
    const f = this.frames[depth];
    if (f === undefined || depth < 1) throw new Error(`KES workspace has no frame for depth ${depth}`);
    return f;
  }

  wipe(): void {
    wipe(this.buffer);
  }
}

function assertDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 0 || depth > KES_DEPTH) throw new Error(`KES depth ${depth} unsupported`);
}

/**
 * deriveVk(depth, genKey(depth, seed)) without keeping the key (docs/kes-construction.md §4.2, §4.3): what a
 * right subtree costs when only its vk is needed. 2^d keypairs, 2^d − 1 expansions, 2^d − 1 pair hashes.
 */
export function subtreeVk(depth: number, seed: Uint8Array, vkOut: Uint8Array, ws: Workspace): void {
  if (depth === 0) {
    seedPublicKey(seed, vkOut);
    return;
  }
  const f = ws.frame(depth);
  try {
    expandSeed(seed, f.a, f.b, ws.expandInput);
    subtreeVk(depth - 1, f.a, f.left, ws);
    wipe(f.a);
    subtreeVk(depth - 1, f.b, f.right, ws);
    wipe(f.b);
    vkOut.set(hashPair(f.pair));
  } finally {
    wipe(f.a, f.b);
  }
}

/**
 * genKey(depth, seed) of docs/kes-construction.md §4.2, written into sk[0 .. signKeyBytes(depth)): the left
 * spine is kept, each right subtree survives as its seed r1 and its vk. When `vkOut` is given, the key's
 * vk is written there (one more pair hash); evolution passes null because it already knows it.
 * `seed` must not overlap sk[0 .. signKeyBytes(depth)); it is not modified.
 */
export function genKey(depth: number, seed: Uint8Array, sk: Uint8Array, vkOut: Uint8Array | null, ws: Workspace): void {
  if (depth === 0) {
    sk.set(seed.subarray(0, KES_SEED_BYTES), 0);
    if (vkOut !== null) seedPublicKey(seed, vkOut);
    return;
  }
  const base = r1Offset(depth);
  const r1 = sk.subarray(base, base + KES_SEED_BYTES);
  const pair = sk.subarray(base + KES_SEED_BYTES, base + KES_SEED_BYTES + SIG_LEVEL_BYTES);
  const r0 = ws.frame(depth).a;
  try {
    expandSeed(seed, r0, r1, ws.expandInput);
    genKey(depth - 1, r0, sk, pair.subarray(0, KES_VK_BYTES), ws);
    wipe(r0);
    subtreeVk(depth - 1, r1, pair.subarray(KES_VK_BYTES), ws);
    if (vkOut !== null) vkOut.set(hashPair(pair));
  } finally {
    wipe(r0);
  }
}

/** docs/kes-construction.md §4.3 for an existing key: H(vk0 || vk1) of the top level, or the leaf pk at depth 0. */
export function rootVk(depth: number, sk: Uint8Array): Uint8Array {
  if (depth === 0) {
    const pk = new Uint8Array(KES_VK_BYTES);
    seedPublicKey(sk.subarray(0, KES_SEED_BYTES), pk);
    return pk;
  }
  return hashPair(sk.subarray(vk0Offset(depth), vk0Offset(depth) + SIG_LEVEL_BYTES));
}

/**
 * updateKES(sk, t) in place (docs/kes-construction.md §4.7): the step t → t+1 regenerates only the subtree at
 * level l = trailing ones of t + 1 from r1_l, then overwrites r1_l with zeros in place.
 * Returns false, touching nothing, when t is the last period.
 */
export function updateInPlace(depth: number, sk: Uint8Array, t: number, ws: Workspace): boolean {
  assertDepth(depth);
  const level = evolutionLevel(t);
  if (level > depth) return false;
  const r1 = sk.subarray(r1Offset(level), r1Offset(level) + KES_SEED_BYTES);
  try {
    // The subtree's own vk is vk1_level, already stored: no hash for it.
    genKey(level - 1, r1, sk, null, ws);
  } finally {
    wipe(r1);
  }
  return true;
}

/**
 * docs/kes-construction.md §4.5: Ed25519 signature of the current leaf, then vk0 || vk1 of every level,
 * bottom up. The key must be at evolution t. The leaf pk is the level-1 vk on t's side, so libsodium's
 * seed||pk is assembled without a keypair derivation.
 */
export function signAt(depth: number, sk: Uint8Array, t: number, message: Uint8Array, ws: Workspace): Uint8Array {
  assertDepth(depth);
  const sk64 = ws.sk64;
  const out = new Uint8Array(signatureBytes(depth));
  try {
    sk64.set(sk.subarray(0, KES_SEED_BYTES), 0);
    if (depth === 0) {
      seedPublicKey(sk64.subarray(0, KES_SEED_BYTES), sk64.subarray(KES_SEED_BYTES));
    } else {
      const pkAt = periodBit(t, 1) === 1 ? vk1Offset(1) : vk0Offset(1);
      sk64.set(sk.subarray(pkAt, pkAt + KES_VK_BYTES), KES_SEED_BYTES);
    }
    out.set(signWithSk64(message, sk64), 0);
  } finally {
    wipe(sk64);
  }
  for (let level = 1; level <= depth; level++) {
    const from = vk0Offset(level);
    out.set(sk.subarray(from, from + SIG_LEVEL_BYTES), sigPairOffset(level));
  }
  return out;
}

/**
 * docs/kes-construction.md §4.6, top down: at each level H(vk0 || vk1) must equal the vk handed down, then
 * the side chosen by t's bit is handed further down; the leaf vk checks the Ed25519 signature.
 * Arguments must already be well-formed (lengths, 0 ≤ t < 2^depth).
 */
export function verifyAt(depth: number, vk: Uint8Array, t: number, message: Uint8Array, sig: Uint8Array): boolean {
  assertDepth(depth);
  let expected = vk;
  for (let level = depth; level >= 1; level--) {
    const at = sigPairOffset(level);
    const pair = sig.subarray(at, at + SIG_LEVEL_BYTES);
    if (!bytesEqual(hashPair(pair), expected)) return false;
    expected = periodBit(t, level) === 1 ? pair.subarray(KES_VK_BYTES) : pair.subarray(0, KES_VK_BYTES);
  }
  return verifyEd25519(sig.subarray(0, ED25519_SIGNATURE_BYTES), message, expected);
}

function isZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/**
 * Why `sk` is not a key at evolution t, or undefined if it is. Checks everything the 608 bytes
 * let us derive (docs/kes-construction.md §4.4): r1 erased exactly at the levels where t's bit is 1; the leaf
 * seed's pk equals the level-1 vk on t's side; each level's H(vk0 || vk1) equals the vk one level
 * up on t's side; each r1 still present regenerates vk1. Only vk0 of levels already passed to
 * the right is not derivable: it is bound by the hash chain alone. Cheap checks first, so a
 * forged key fails before the expensive ones. Messages never contain key bytes.
 */
export function structuralProblem(depth: number, sk: Uint8Array, t: number, ws: Workspace): string | undefined {
  assertDepth(depth);
  for (let level = 1; level <= depth; level++) {
    const erased = isZero(sk.subarray(r1Offset(level), r1Offset(level) + KES_SEED_BYTES));
    const passed = periodBit(t, level) === 1;
    if (passed && !erased) return `level ${level} right-subtree seed is not erased at evolution ${t}`;
    if (!passed && erased) return `level ${level} right-subtree seed is erased but evolution ${t} still needs it`;
  }
  for (let level = 1; level < depth; level++) {
    const pairAt = vk0Offset(level);
    const upAt = periodBit(t, level + 1) === 1 ? vk1Offset(level + 1) : vk0Offset(level + 1);
    const h = hashPair(sk.subarray(pairAt, pairAt + SIG_LEVEL_BYTES));
    if (!bytesEqual(h, sk.subarray(upAt, upAt + KES_VK_BYTES))) {
      return `level ${level} verification keys do not hash to the level ${level + 1} verification key`;
    }
  }
  if (depth === 0) return undefined;
  try {
    seedPublicKey(sk.subarray(0, KES_SEED_BYTES), ws.check);
    const leafAt = periodBit(t, 1) === 1 ? vk1Offset(1) : vk0Offset(1);
    if (!bytesEqual(ws.check, sk.subarray(leafAt, leafAt + KES_VK_BYTES))) {
      return 'leaf seed does not match the level 1 verification key';
    }
    for (let level = 1; level <= depth; level++) {
      if (periodBit(t, level) === 1) continue;
      subtreeVk(level - 1, sk.subarray(r1Offset(level), r1Offset(level) + KES_SEED_BYTES), ws.check, ws);
      if (!bytesEqual(ws.check, sk.subarray(vk1Offset(level), vk1Offset(level) + KES_VK_BYTES))) {
        return `level ${level} right-subtree seed does not match its verification key`;
      }
    }
    return undefined;
  } finally {
    wipe(ws.check);
  }
}
