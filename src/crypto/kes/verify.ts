/**
 * Sum6KES verification and the vk of a raw key: public operations, no secrets involved.
 */
import { assertBytes, assertInteger } from '../bytes';
import {
  KES_DEPTH,
  KES_MAX_EVOLUTION,
  KES_SIGNATURE_BYTES,
  KES_SIGN_KEY_BYTES,
  KES_VK_BYTES,
  SIG_LEVEL_BYTES,
  vk0Offset,
} from './params';
import { hashPair } from './primitives';
import { verifyAt } from './sum';

/**
 * docs/kes-construction.md §4.6. Malformed arguments throw KesError (INVALID_ARGUMENT, INVALID_LENGTH,
 * OUT_OF_RANGE); in particular t ∉ [0, 64) is rejected, where Haskell would silently treat
 * t ≥ 64 like 63. A well-formed signature that does not verify returns false.
 */
export function verifyKes(vk: Uint8Array, period: number, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes(vk, 'KES verification key', KES_VK_BYTES);
  assertInteger(period, 'KES period', 0, KES_MAX_EVOLUTION);
  assertBytes(message, 'message');
  assertBytes(signature, 'KES signature', KES_SIGNATURE_BYTES);
  return verifyAt(KES_DEPTH, vk, period, message, signature);
}

/**
 * The vk of a raw 608-byte key: Blake2b-256 of its last 64 bytes (docs/kes-construction.md §4.3). Public, but
 * it proves nothing about the rest of the key (random bytes ending in the root vk pair, which every KES
 * signature publishes, have the right vk): use KesSignKey.fromBytes to validate a key.
 */
export function kesVkFromRaw(raw: Uint8Array): Uint8Array {
  assertBytes(raw, 'KES sign key', KES_SIGN_KEY_BYTES);
  const at = vk0Offset(KES_DEPTH);
  return hashPair(raw.subarray(at, at + SIG_LEVEL_BYTES));
}
