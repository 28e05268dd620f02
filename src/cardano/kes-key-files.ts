/**
 * KES key files (docs/kes-construction.md §4.4, §6): the Sum6KES sign key (608 bytes, evolution 0 as
 * cardano-cli writes it) and its 32-byte verification key, each CBOR `bytes(n)`.
 */
import { assertBytes, wipe } from '../crypto/bytes';
import { allocSecret, releaseSecret } from '../crypto/secret-memory';
import { decodeCbor, encodeCbor, expectBytes } from './cbor';
import {
  ENVELOPE_DESCRIPTIONS,
  ENVELOPE_TYPES,
  keyEnvelope,
  readKeyEnvelopeFile,
  readSecretEnvelopeFile,
  writeEnvelopeFile,
  writeSecretEnvelopeFile,
} from './envelope';
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
  const env = readSecretEnvelopeFile(file, ENVELOPE_TYPES.kesSigningKey);
  try {
    const raw = expectBytes(decodeCbor(env.cbor, file), KES_SIGN_KEY_BYTES, `${file}: KES sign key`);
    const out = allocSecret(KES_SIGN_KEY_BYTES);
    out.set(raw);
    return out;
  } finally {
    releaseSecret(env.cbor);
  }
}

/** Write a KES sign key file (mode 0600); the encoded bytes are wiped after the write. */
export function writeKesSigningKeyFile(file: string, raw: Uint8Array, opts: { overwrite: boolean }): WriteOutcome {
  assertBytes(raw, 'KES sign key', KES_SIGN_KEY_BYTES);
  const cbor = encodeCbor(raw);
  try {
    return writeSecretEnvelopeFile(
      file,
      { type: ENVELOPE_TYPES.kesSigningKey, description: ENVELOPE_DESCRIPTIONS[ENVELOPE_TYPES.kesSigningKey], cbor },
      opts,
    );
  } finally {
    wipe(cbor);
  }
}
