/** cardano-cli compatible files: CBOR, text envelopes, opcerts, counters, cold and KES key files. */
export { type CborValue, CBOR_MAX_DEPTH, encodeCbor, decodeCbor, expectArray, expectBytes, expectUint } from './cbor';
export {
  ENVELOPE_TYPES,
  ENVELOPE_DESCRIPTIONS,
  MAX_ENVELOPE_FILE_BYTES,
  type Envelope,
  type EnvelopeType,
  type PublicEnvelopeType,
  type SecretEnvelopeType,
  type EnvelopeWriteOptions,
  isSecretEnvelopeType,
  formatEnvelope,
  formatSecretEnvelope,
  keyEnvelope,
  readKeyEnvelopeFile,
  parseEnvelope,
  readEnvelopeFile,
  readSecretEnvelopeFile,
  readAnyEnvelopeFile,
  writeEnvelopeFile,
  writeSecretEnvelopeFile,
} from './envelope';
export { PUBLIC_FILE_MODE, SECRET_FILE_MODE, type WriteOptions, type WriteOutcome, type OutputPathState, readFileBounded, writeFileSafely, inspectOutputPath, pathExists } from './file-io';
export {
  KES_VK_BYTES,
  OPCERT_SIGNABLE_BYTES,
  MAX_OPCERT_INTEGER,
  type Opcert,
  type OpcertFields,
  opcertSignable,
  issueOpcert,
  verifyOpcert,
  encodeOpcert,
  decodeOpcert,
  opcertToEnvelope,
  opcertFromEnvelope,
  readOpcertFile,
  writeOpcertFile,
} from './opcert';
export {
  type OpcertCounter,
  counterDescription,
  encodeCounter,
  decodeCounter,
  counterToEnvelope,
  counterFromEnvelope,
  readCounterFile,
  writeCounterFile,
} from './counter';
export {
  ColdSigningKey,
  readColdSigningKeyFile,
  writeColdSigningKeyFile,
  readColdVerificationKeyFile,
  writeColdVerificationKeyFile,
  coldKeyMatches,
} from './cold-key';
export {
  KES_SIGN_KEY_BYTES,
  readKesVerificationKeyFile,
  writeKesVerificationKeyFile,
  readKesSigningKeyFile,
  writeKesSigningKeyFile,
} from './kes-key-files';
