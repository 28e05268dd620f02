/**
 * Opcert issue counter files (docs/kes-construction.md §5.4, §6).
 *
 * The file holds the NEXT issue number: issuing uses it, then rewrites the file with n+1.
 * CBOR [next, cold_vk]; description "Next certificate issue number: N" (cardano-cli node key-gen
 * and issue-op-cert; `node new-counter` writes "" instead, which the reader accepts).
 */
import { assertBytes, assertInteger } from '../crypto/bytes';
import { ED25519_PUBLIC_KEY_BYTES } from '../crypto/ed25519';
import { decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from './cbor';
import { ENVELOPE_TYPES, readEnvelopeFile, writeEnvelopeFile, type Envelope } from './envelope';
import { MAX_OPCERT_INTEGER } from './opcert';
import type { WriteOutcome } from './file-io';

export interface OpcertCounter {
  /** The counter the next opcert will carry. */
  next: number;
  /** The cold verification key the counter belongs to (32 bytes). */
  coldVk: Uint8Array;
}

export function counterDescription(next: number): string {
  return `Next certificate issue number: ${next}`;
}

function assertCounter(c: OpcertCounter): void {
  assertInteger(c.next, 'opcert counter', 0, MAX_OPCERT_INTEGER);
  assertBytes(c.coldVk, 'counter cold verification key', ED25519_PUBLIC_KEY_BYTES);
}

export function encodeCounter(c: OpcertCounter): Uint8Array {
  assertCounter(c);
  return encodeCbor([c.next, c.coldVk]);
}

/** @throws KesError CBOR_MALFORMED (naming the field), OUT_OF_RANGE. */
export function decodeCounter(cbor: Uint8Array, what = 'opcert counter'): OpcertCounter {
  const v = expectArray(decodeCbor(cbor, what), 2, `${what}: [next issue number, cold vk]`);
  return {
    next: expectUint(v[0]!, `${what}: next issue number`),
    coldVk: expectBytes(v[1]!, ED25519_PUBLIC_KEY_BYTES, `${what}: cold verification key`).slice(),
  };
}

export function counterToEnvelope(c: OpcertCounter): Envelope<typeof ENVELOPE_TYPES.opcertCounter> {
  return { type: ENVELOPE_TYPES.opcertCounter, description: counterDescription(c.next), cbor: encodeCounter(c) };
}

export function counterFromEnvelope(env: Envelope<typeof ENVELOPE_TYPES.opcertCounter>, what = 'opcert counter'): OpcertCounter {
  return decodeCounter(env.cbor, what);
}

export function readCounterFile(file: string): OpcertCounter {
  return counterFromEnvelope(readEnvelopeFile(file, ENVELOPE_TYPES.opcertCounter), file);
}

/** Write a counter file (mode 0644). `overwrite: true` replaces it atomically (temp file + rename). */
export function writeCounterFile(file: string, c: OpcertCounter, opts: { overwrite: boolean }): WriteOutcome {
  return writeEnvelopeFile(file, counterToEnvelope(c), opts);
}
