/**
 * KES key files (docs/kes-construction.md §4.4, §6): the Sum6KES sign key (608 bytes, evolution 0 as
 * cardano-cli writes it) and its 32-byte verification key, each CBOR `bytes(n)`.
 */
import { assertBytes } from '../crypto/bytes';
import { allocSecret } from '../crypto/secret-memory';
import { ENVELOPE_TYPES, keyEnvelope, readKeyEnvelopeFile, readSecretKeyEnvelopeFile, writeEnvelopeFile, writeSecretKeyEnvelopeFile } from './envelope';
import { KES_SIGN_KEY_BYTES } from '../crypto/kes/params';
import { KES_VK_BYTES } from './opcert';
import type { WriteOutcome } from './file-io';

/** Sum6KES serialised sign key: 32 + 96·6 (docs/kes-construction.md §1); the KES module's constant. */
export { KES_SIGN_KEY_BYTES };

export function readKesVerificationKeyFile(file: string): Uint8Array {
  return readKeyEnvelopeFile(file, ENVELOPE_TYPES.kesVerificationKey, KES_VK_BYTES, 'KES verification key');
}

export function writeKesVerificationKeyFile(file: string, vk: Uint8Array, opts: { overwrite: boolean }): WriteOutcome {
  assertBytes(vk, 'KES verification key', KES_VK_BYTES);
  return writeEnvelopeFile(file, keyEnvelope(ENVELOPE_TYPES.kesVerificationKey, vk), opts);
}

/**
 * Read a KesSigningKey_ed25519_kes_2^6 file: 608 secret bytes in allocSecret() memory.
 * The caller releaseSecret()s the result.
 */
export function readKesSigningKeyFile(file: string): Uint8Array {
  return readSecretKeyEnvelopeFile(file, ENVELOPE_TYPES.kesSigningKey, KES_SIGN_KEY_BYTES, 'KES sign key', (raw) => {
    const own = allocSecret(KES_SIGN_KEY_BYTES);
    own.set(raw);
    return own;
  });
}

/** Write a KES sign key file (mode 0600); the encoded bytes are wiped after the write. */
export function writeKesSigningKeyFile(file: string, raw: Uint8Array, opts: { overwrite: boolean }): WriteOutcome {
  assertBytes(raw, 'KES sign key', KES_SIGN_KEY_BYTES);
  return writeSecretKeyEnvelopeFile(file, ENVELOPE_TYPES.kesSigningKey, raw, opts);
}
