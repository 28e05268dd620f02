/**
 * `kes-cold inspect`: what a cardano-cli text envelope contains. Public data only: for a sign
 * key, its type and verification key, never the secret itself.
 */
import { Command, Option, UsageError } from 'clipanion';
import { KesError } from '../../errors';
import { ColdSigningKey, readColdVerificationKeyFile } from '../../cardano/cold-key';
import { decodeCbor, expectBytes } from '../../cardano/cbor';
import { counterFromEnvelope } from '../../cardano/counter';
import {
  ENVELOPE_TYPES,
  type Envelope,
  type EnvelopeType,
  isSecretEnvelopeType,
  readAnyEnvelopeFile,
} from '../../cardano/envelope';
import { KES_SIGN_KEY_BYTES } from '../../cardano/kes-key-files';
import { kesVkFromRaw } from '../../crypto/kes';
import { KES_VK_BYTES, opcertFromEnvelope, verifyOpcert } from '../../cardano/opcert';
import { bytesEqual, toHex } from '../../crypto/bytes';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SEED_BYTES } from '../../crypto/ed25519';
import { releaseSecret } from '../../crypto/secret-memory';
import { loadSodium } from '../../crypto/sodium';
import { EXIT } from '../exit-codes';
import { KesCommand } from '../common/base-command';

type Fields = Record<string, string | number | boolean>;

interface Inspection {
  fields: Fields;
  /** Set when the file is well-formed but does not check out: printed after the fields. */
  failure?: KesError;
}

const LABELS: Record<string, string> = {
  type: 'type',
  description: 'description',
  verificationKey: 'verification key',
  hotVk: 'hot KES vk',
  counter: 'counter',
  kesPeriod: 'KES period',
  coldVk: 'cold vk',
  signature: 'signature',
  signatureValid: 'signature valid',
  next: 'next issue number',
  coldVkMatches: 'matches --cold-vkey',
};

export class InspectCommand extends KesCommand {
  static override paths = [['inspect']];
  static override usage = Command.Usage({
    description: 'Show what a key, opcert or counter file contains (public data only)',
    details: `
      Reads any cardano-cli text envelope kes-cold knows: KES and cold keys, operational
      certificates and issue counters. For a signing key it shows the type and the verification
      key, never the secret.

      For an opcert, the signature is checked under the cold vk the certificate carries. Given a
      cold vk (--cold-vkey), the certificate must also carry that key, and a counter or cold key
      must belong to that key. Anything that does not check out exits with 4.
    `,
    examples: [
      ['Inspect an opcert and check it against the cold vk', '$0 inspect opcert.cert --cold-vkey cold.vkey'],
      ['Inspect a counter as JSON', '$0 inspect opcert.counter --json'],
    ],
  });

  file = Option.String({ name: 'file' });
  coldVkey = Option.String('--cold-vkey', { description: 'Cold verification key file to check against' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  async execute(): Promise<number> {
    await loadSodium();
    const env = readAnyEnvelopeFile(this.file, Object.values(ENVELOPE_TYPES) as EnvelopeType[]);
    let result: Inspection;
    try {
      result = this.inspect(env);
    } finally {
      if (isSecretEnvelopeType(env.type)) releaseSecret(env.cbor);
    }
    if (this.json) {
      this.printJson({ file: this.file, ...result.fields });
    } else {
      const lines = [`${this.file}:`];
      for (const [k, v] of Object.entries(result.fields)) {
        if (k === 'description' && v === '') continue;
        lines.push(`  ${(LABELS[k] ?? k).padEnd(20)}${typeof v === 'boolean' ? (v ? 'yes' : 'NO') : v}`);
      }
      this.print(lines.join('\n'));
    }
    return result.failure === undefined ? EXIT.OK : this.fail(result.failure);
  }

  private expectedColdVk(): Uint8Array | undefined {
    return this.coldVkey === undefined ? undefined : readColdVerificationKeyFile(this.coldVkey);
  }

  private inspect(env: Envelope): Inspection {
    const f = this.file;
    const head: Fields = { type: env.type, description: env.description };
    switch (env.type) {
      case ENVELOPE_TYPES.kesSigningKey: {
        this.noColdVkey('a KES signing key');
        // A view into secret memory, hashed where it lies: only the public hash leaves.
        const raw = expectBytes(decodeCbor(env.cbor, f), KES_SIGN_KEY_BYTES, `${f}: KES sign key`);
        return { fields: { ...head, verificationKey: toHex(kesVkFromRaw(raw)) } };
      }
      case ENVELOPE_TYPES.kesVerificationKey: {
        this.noColdVkey('a KES verification key');
        const vk = expectBytes(decodeCbor(env.cbor, f), KES_VK_BYTES, `${f}: KES verification key`);
        return { fields: { ...head, verificationKey: toHex(vk) } };
      }
      case ENVELOPE_TYPES.coldSigningKey: {
        const seed = expectBytes(decodeCbor(env.cbor, f), ED25519_SEED_BYTES, `${f}: cold signing key`);
        const key = ColdSigningKey.fromSeed(seed);
        try {
          return this.withColdCheck(head, 'verificationKey', key.verificationKey, 'COLD_KEY_MISMATCH', 'is not the signing key of');
        } finally {
          key.destroy();
        }
      }
      case ENVELOPE_TYPES.coldVerificationKey: {
        const vk = expectBytes(decodeCbor(env.cbor, f), ED25519_PUBLIC_KEY_BYTES, `${f}: cold verification key`);
        return this.withColdCheck(head, 'verificationKey', vk, 'COLD_KEY_MISMATCH', 'is not the same key as');
      }
      case ENVELOPE_TYPES.opcertCounter: {
        const c = counterFromEnvelope(env as Envelope<typeof ENVELOPE_TYPES.opcertCounter>, f);
        return this.withColdCheck({ ...head, next: c.next }, 'coldVk', c.coldVk, 'COUNTER_WRONG_COLD_KEY', 'belongs to another cold key than');
      }
      case ENVELOPE_TYPES.opcert: {
        const oc = opcertFromEnvelope(env as Envelope<typeof ENVELOPE_TYPES.opcert>, f);
        const valid = verifyOpcert(oc);
        const fields: Fields = {
          ...head,
          hotVk: toHex(oc.hotVk),
          counter: oc.counter,
          kesPeriod: oc.kesPeriod,
          coldVk: toHex(oc.coldVk),
          signature: toHex(oc.sigma),
          signatureValid: valid,
        };
        const expected = this.expectedColdVk();
        let failure: KesError | undefined;
        if (expected !== undefined) {
          fields.coldVkMatches = bytesEqual(expected, oc.coldVk);
          if (!fields.coldVkMatches) {
            failure = new KesError('OPCERT_WRONG_COLD_KEY', `${f}: issued by cold vk ${toHex(oc.coldVk)}, not by the key in ${this.coldVkey}`);
          }
        }
        if (!valid) failure = new KesError('OPCERT_BAD_SIGNATURE', `${f}: the cold key signature does not verify`);
        return { fields, failure };
      }
    }
  }

  private noColdVkey(what: string): void {
    if (this.coldVkey !== undefined) throw new UsageError(`--cold-vkey does not apply to ${what}`);
  }

  /** Add the cold vk under `name`; with --cold-vkey, also whether it is that key. */
  private withColdCheck(
    fields: Fields,
    name: 'coldVk' | 'verificationKey',
    coldVk: Uint8Array,
    code: 'COLD_KEY_MISMATCH' | 'COUNTER_WRONG_COLD_KEY',
    relation: string,
  ): Inspection {
    const out: Fields = { ...fields, [name]: toHex(coldVk) };
    const expected = this.expectedColdVk();
    if (expected === undefined) return { fields: out };
    out.coldVkMatches = bytesEqual(expected, coldVk);
    return out.coldVkMatches
      ? { fields: out }
      : { fields: out, failure: new KesError(code, `${this.file}: ${relation} ${this.coldVkey}`) };
  }
}
