/** Sum6KES (Ed25519, Blake2b-256) exactly as cardano-base: docs/kes-construction.md §1–4. */
export {
  KES_DEPTH,
  KES_PERIODS,
  KES_MAX_EVOLUTION,
  KES_SIGN_KEY_BYTES,
  KES_SIGNATURE_BYTES,
  KES_VK_BYTES,
  KES_SEED_BYTES,
} from './params';
export { KesSignKey, type FromBytesOptions } from './sign-key';
export { verifyKes, kesVkFromRaw } from './verify';
