import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ColdSigningKey,
  coldKeyMatches,
  decodeCounter,
  decodeOpcert,
  encodeOpcert,
  issueOpcert,
  opcertSignable,
  readColdSigningKeyFile,
  readColdVerificationKeyFile,
  readCounterFile,
  readKesSigningKeyFile,
  readKesVerificationKeyFile,
  readOpcertFile,
  verifyOpcert,
  writeColdSigningKeyFile,
  writeColdVerificationKeyFile,
  writeCounterFile,
  writeKesSigningKeyFile,
  writeKesVerificationKeyFile,
  writeOpcertFile,
  type Opcert,
} from '../../src/cardano';
import { loadSodium } from '../../src/crypto/sodium';
import { toHex } from '../../src/crypto/bytes';
import { kesVkFromRaw } from '../../src/crypto/kes';
import { thrownBy } from '../helpers/thrown';
import { hex, readVectorJson, readVectorText, vectorPath } from '../helpers/vectors';

interface Vectors {
  ocert_fixture: Record<'cold_sk_seed_hex' | 'cold_vk_hex' | 'kes_vk_hex' | 'signable_hex' | 'sigma_hex' | 'opcert_cbor_hex', string> & {
    counter: number;
    kes_period: number;
  };
  ocert_generated: Record<'signable_hex' | 'sigma_hex' | 'opcert_cbor_hex' | 'counter_after_issue_cbor_hex', string>;
  text_envelopes_generated: Record<'kes.skey' | 'kes.vkey' | 'opcert.cert' | 'opcert.counter', string>;
}
const V = readVectorJson<Vectors>('kes-vectors.json');
const cli = (name: string): string => vectorPath('cardano-cli', name);

let dir: string;
beforeAll(async () => {
  await loadSodium();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-files-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const out = (name: string): string => path.join(dir, name);

describe('every cardano-cli fixture is read and re-written byte for byte', () => {
  test('cold.vkey', () => {
    const vk = readColdVerificationKeyFile(cli('cold.vkey'));
    expect(toHex(vk)).toBe(V.ocert_fixture.cold_vk_hex);
    writeColdVerificationKeyFile(out('cold.vkey'), vk, { overwrite: false });
    expect(fs.readFileSync(out('cold.vkey'), 'utf8')).toBe(readVectorText('cardano-cli', 'cold.vkey'));
    // 0644 minus whatever the umask removes: never writable by others, never executable.
    const mode = fs.statSync(out('cold.vkey')).mode & 0o777;
    expect(mode & 0o600).toBe(0o600);
    expect(mode & 0o133).toBe(0);
  });

  test('cold.skey (secret path), and its public key is cold.vkey', () => {
    const key = readColdSigningKeyFile(cli('cold.skey'));
    try {
      expect(toHex(key.verificationKey)).toBe(V.ocert_fixture.cold_vk_hex);
      expect(coldKeyMatches(key, hex(V.ocert_fixture.cold_vk_hex))).toBe(true);
      writeColdSigningKeyFile(out('cold.skey'), key, { overwrite: false });
    } finally {
      key.destroy();
    }
    expect(fs.readFileSync(out('cold.skey'), 'utf8')).toBe(readVectorText('cardano-cli', 'cold.skey'));
    expect(fs.statSync(out('cold.skey')).mode & 0o777).toBe(0o600);
  });

  test('kes.vkey', () => {
    const vk = readKesVerificationKeyFile(cli('kes.vkey'));
    expect(toHex(vk)).toBe(V.ocert_fixture.kes_vk_hex);
    writeKesVerificationKeyFile(out('kes.vkey'), vk, { overwrite: false });
    expect(fs.readFileSync(out('kes.vkey'), 'utf8')).toBe(readVectorText('cardano-cli', 'kes.vkey'));
  });

  test('kes.skey (secret path), and Blake2b-256 of its last 64 bytes is kes.vkey', () => {
    const raw = readKesSigningKeyFile(cli('kes.skey'));
    expect(raw.length).toBe(608);
    expect(toHex(kesVkFromRaw(raw))).toBe(V.ocert_fixture.kes_vk_hex);
    writeKesSigningKeyFile(out('kes.skey'), raw, { overwrite: false });
    raw.fill(0);
    expect(fs.readFileSync(out('kes.skey'), 'utf8')).toBe(readVectorText('cardano-cli', 'kes.skey'));
    expect(fs.statSync(out('kes.skey')).mode & 0o777).toBe(0o600);
  });

  test('opcert.cert: fields, signable and signature', () => {
    const oc = readOpcertFile(cli('opcert.cert'));
    expect(toHex(oc.hotVk)).toBe(V.ocert_fixture.kes_vk_hex);
    expect(oc.counter).toBe(7);
    expect(oc.kesPeriod).toBe(1430);
    expect(toHex(oc.sigma)).toBe(V.ocert_fixture.sigma_hex);
    expect(toHex(oc.coldVk)).toBe(V.ocert_fixture.cold_vk_hex);
    expect(toHex(opcertSignable(oc))).toBe(V.ocert_fixture.signable_hex);
    expect(verifyOpcert(oc)).toBe(true);
    expect(verifyOpcert(oc, hex(V.ocert_fixture.cold_vk_hex))).toBe(true);
    writeOpcertFile(out('opcert.cert'), oc, { overwrite: false });
    expect(fs.readFileSync(out('opcert.cert'), 'utf8')).toBe(readVectorText('cardano-cli', 'opcert.cert'));
  });

  test('opcert.counter', () => {
    const c = readCounterFile(cli('opcert.counter'));
    expect(c.next).toBe(8);
    expect(toHex(c.coldVk)).toBe(V.ocert_fixture.cold_vk_hex);
    writeCounterFile(out('opcert.counter'), c, { overwrite: false });
    expect(fs.readFileSync(out('opcert.counter'), 'utf8')).toBe(readVectorText('cardano-cli', 'opcert.counter'));
  });
});

describe('issuing', () => {
  test('re-issuing the fixture opcert reproduces it byte for byte (Ed25519 is deterministic)', () => {
    const oc = issueOpcert({
      hotVk: hex(V.ocert_fixture.kes_vk_hex),
      counter: V.ocert_fixture.counter,
      kesPeriod: V.ocert_fixture.kes_period,
      coldSeed: hex(V.ocert_fixture.cold_sk_seed_hex),
    });
    expect(toHex(encodeOpcert(oc))).toBe(V.ocert_fixture.opcert_cbor_hex);
  });

  test('ocert_generated: seed_00_1f KES vk, counter 0, period 100; files as cardano-cli writes them', () => {
    const envs = V.text_envelopes_generated;
    fs.writeFileSync(out('gen-kes.vkey'), envs['kes.vkey']);
    fs.writeFileSync(out('gen-kes.skey'), envs['kes.skey']);
    const hotVk = readKesVerificationKeyFile(out('gen-kes.vkey'));
    const raw = readKesSigningKeyFile(out('gen-kes.skey'));
    expect(kesVkFromRaw(raw)).toEqual(hotVk);
    writeKesSigningKeyFile(out('gen-kes.skey2'), raw, { overwrite: false });
    expect(fs.readFileSync(out('gen-kes.skey2'), 'utf8')).toBe(envs['kes.skey']);

    const oc = issueOpcert({ hotVk, counter: 0, kesPeriod: 100, coldSeed: hex(V.ocert_fixture.cold_sk_seed_hex) });
    expect(toHex(opcertSignable(oc))).toBe(V.ocert_generated.signable_hex);
    expect(toHex(oc.sigma)).toBe(V.ocert_generated.sigma_hex);
    expect(toHex(encodeOpcert(oc))).toBe(V.ocert_generated.opcert_cbor_hex);
    expect(decodeOpcert(hex(V.ocert_generated.opcert_cbor_hex))).toEqual(oc);
    writeOpcertFile(out('gen-opcert.cert'), oc, { overwrite: false });
    expect(fs.readFileSync(out('gen-opcert.cert'), 'utf8')).toBe(envs['opcert.cert']);
    writeCounterFile(out('gen-opcert.counter'), { next: 1, coldVk: oc.coldVk }, { overwrite: false });
    expect(fs.readFileSync(out('gen-opcert.counter'), 'utf8')).toBe(envs['opcert.counter']);
    expect(toHex(decodeCounter(hex(V.ocert_generated.counter_after_issue_cbor_hex)).coldVk)).toBe(V.ocert_fixture.cold_vk_hex);
  });

  test('a generated cold key signs opcerts that verify under its own vk only', () => {
    const key = ColdSigningKey.generate();
    const other = ColdSigningKey.generate();
    try {
      expect(key.verificationKey).not.toEqual(other.verificationKey);
      const oc = issueOpcert({ hotVk: new Uint8Array(32).fill(9), counter: 3, kesPeriod: 5, coldSeed: key.seed });
      expect(oc.coldVk).toEqual(key.verificationKey);
      expect(verifyOpcert(oc, key.verificationKey)).toBe(true);
      expect(verifyOpcert(oc, other.verificationKey)).toBe(false);
      expect(coldKeyMatches(other, key.verificationKey)).toBe(false);
    } finally {
      key.destroy();
      other.destroy();
    }
  });

  test('issueOpcert type-confusion table', () => {
    const good = { hotVk: new Uint8Array(32), counter: 0, kesPeriod: 0, coldSeed: new Uint8Array(32) };
    const rows: [string, Record<string, unknown>, string][] = [
      ['hotVk string', { hotVk: '00'.repeat(32) }, 'INVALID_ARGUMENT'],
      ['hotVk array', { hotVk: new Array(32).fill(0) }, 'INVALID_ARGUMENT'],
      ['hotVk 31 bytes', { hotVk: new Uint8Array(31) }, 'INVALID_LENGTH'],
      ['hotVk 33 bytes', { hotVk: new Uint8Array(33) }, 'INVALID_LENGTH'],
      ['counter NaN', { counter: NaN }, 'INVALID_ARGUMENT'],
      ['counter bigint', { counter: 1n }, 'INVALID_ARGUMENT'],
      ['counter string', { counter: '1' }, 'INVALID_ARGUMENT'],
      ['counter -1', { counter: -1 }, 'OUT_OF_RANGE'],
      ['counter 2^53', { counter: 2 ** 53 }, 'INVALID_ARGUMENT'],
      ['kesPeriod 1.5', { kesPeriod: 1.5 }, 'INVALID_ARGUMENT'],
      ['coldSeed 64 bytes', { coldSeed: new Uint8Array(64) }, 'INVALID_LENGTH'],
      ['coldSeed fake', { coldSeed: { length: 32 } }, 'INVALID_ARGUMENT'],
    ];
    for (const [name, over, code] of rows) {
      const e = thrownBy(() => issueOpcert({ ...good, ...over } as never));
      expect([name, e.code]).toEqual([name, code]);
    }
  });

  test('a destroyed cold key refuses to hand out its seed', () => {
    const key = ColdSigningKey.fromSeed(hex(V.ocert_fixture.cold_sk_seed_hex));
    const seedRef = key.seed;
    key.destroy();
    expect(key.destroyed).toBe(true);
    expect(seedRef.every((b) => b === 0)).toBe(true);
    expect(thrownBy(() => key.seed).code).toBe('COLD_KEY_DESTROYED');
    key.destroy();
  });
});

describe('opcert verification is exact', () => {
  const fixture = (): Opcert => readOpcertFile(cli('opcert.cert'));

  test('every single-bit flip of the signature fails', () => {
    const oc = fixture();
    let accepted = 0;
    for (let bit = 0; bit < 64 * 8; bit++) {
      const sigma = oc.sigma.slice();
      sigma[bit >> 3]! ^= 1 << (bit & 7);
      if (verifyOpcert({ ...oc, sigma })) accepted++;
    }
    expect(accepted).toBe(0);
  });

  test('flipping any signed field or the cold vk fails', () => {
    const oc = fixture();
    const hotVk = oc.hotVk.slice();
    hotVk[0]! ^= 1;
    const coldVk = oc.coldVk.slice();
    coldVk[31]! ^= 0x80;
    expect(verifyOpcert({ ...oc, hotVk })).toBe(false);
    expect(verifyOpcert({ ...oc, counter: 8 })).toBe(false);
    expect(verifyOpcert({ ...oc, kesPeriod: 1431 })).toBe(false);
    expect(verifyOpcert({ ...oc, coldVk })).toBe(false);
    expect(verifyOpcert(oc, coldVk)).toBe(false);
  });
});

describe('wrong files for every reader', () => {
  const readers: [string, (f: string) => unknown, string][] = [
    ['readOpcertFile', readOpcertFile, 'NodeOperationalCertificate'],
    ['readCounterFile', readCounterFile, 'NodeOperationalCertificateIssueCounter'],
    ['readColdVerificationKeyFile', readColdVerificationKeyFile, 'StakePoolVerificationKey_ed25519'],
    ['readColdSigningKeyFile', (f) => (readColdSigningKeyFile(f) as ColdSigningKey).destroy(), 'StakePoolSigningKey_ed25519'],
    ['readKesVerificationKeyFile', readKesVerificationKeyFile, 'KesVerificationKey_ed25519_kes_2^6'],
    ['readKesSigningKeyFile', readKesSigningKeyFile, 'KesSigningKey_ed25519_kes_2^6'],
  ];
  const files = ['cold.skey', 'cold.vkey', 'kes.skey', 'kes.vkey', 'opcert.cert', 'opcert.counter'];
  const typeOf = (f: string): string => (JSON.parse(readVectorText('cardano-cli', f)) as { type: string }).type;

  test.each(readers)('%s rejects every other envelope type, naming both types', (_n, read, want) => {
    let rejected = 0;
    for (const f of files) {
      const got = typeOf(f);
      if (got === want) {
        expect(() => read(cli(f))).not.toThrow();
        continue;
      }
      const e = thrownBy(() => read(cli(f)));
      expect(e.code).toBe('ENVELOPE_WRONG_TYPE');
      expect(e.message).toBe(`${cli(f)}: expected a ${want} text envelope, got ${got}`);
      rejected++;
    }
    expect(rejected).toBe(5);
  });

  function envelopeFile(name: string, type: string, cborHex: string): string {
    const p = out(name);
    fs.writeFileSync(p, JSON.stringify({ type, description: '', cborHex }, null, 4) + '\n');
    return p;
  }

  const vk32 = '5820' + '11'.repeat(32);
  test.each([
    // [reader index, cborHex, code, message fragment]
    ['opcert: truncated', 0, V.ocert_fixture.opcert_cbor_hex.slice(0, -2), 'CBOR_MALFORMED', 'truncated'],
    ['opcert: trailing byte', 0, V.ocert_fixture.opcert_cbor_hex + '00', 'CBOR_MALFORMED', 'trailing byte'],
    ['opcert: non-canonical counter', 0, V.ocert_fixture.opcert_cbor_hex.replace('5820df22d655d82015c61cb62c8138dfe7a27238a60c1e1cd5bb18ec71a5dd71f39f07', '5820df22d655d82015c61cb62c8138dfe7a27238a60c1e1cd5bb18ec71a5dd71f39f1807'), 'CBOR_MALFORMED', 'non-canonical'],
    ['opcert: counter above 2^53', 0, V.ocert_fixture.opcert_cbor_hex.replace('71f39f07', '71f39f1bffffffffffffffff'), 'OUT_OF_RANGE', 'above the supported maximum'],
    ['opcert: 31-byte hot vk', 0, '8284' + '581f' + '00'.repeat(31) + '00' + '00' + '5840' + '00'.repeat(64) + vk32, 'CBOR_MALFORMED', 'hot KES verification key: expected a byte string of 32 bytes, got a byte string of 31 bytes'],
    ['opcert: outer array of 1', 0, '8184' + '5820' + '00'.repeat(32) + '00' + '00' + '5840' + '00'.repeat(64), 'CBOR_MALFORMED', '[certificate, cold vk]: expected an array of 2, got an array of 1'],
    ['opcert: inner array of 3', 0, '8283' + '5820' + '00'.repeat(32) + '00' + '00' + vk32, 'CBOR_MALFORMED', 'certificate [hot vk, counter, KES period, signature]: expected an array of 4, got an array of 3'],
    ['opcert: 63-byte signature', 0, '8284' + '5820' + '00'.repeat(32) + '00' + '00' + '583f' + '00'.repeat(63) + vk32, 'CBOR_MALFORMED', 'signature: expected a byte string of 64 bytes, got a byte string of 63 bytes'],
    ['counter: 31-byte cold vk', 1, '8208581f' + '11'.repeat(31), 'CBOR_MALFORMED', 'cold verification key: expected a byte string of 32 bytes'],
    ['counter: bytes for the number', 1, '82' + '4108' + vk32, 'CBOR_MALFORMED', 'next issue number: expected an unsigned integer'],
    ['counter: non-canonical number', 1, '821808' + vk32, 'CBOR_MALFORMED', 'non-canonical'],
    ['cold vkey: 33 bytes', 2, '5821' + '11'.repeat(33), 'CBOR_MALFORMED', 'cold verification key: expected a byte string of 32 bytes, got a byte string of 33 bytes'],
    ['cold vkey: integer', 2, '00', 'CBOR_MALFORMED', 'got an integer'],
    ['cold skey: 64-byte extended key', 3, '5840' + '11'.repeat(64), 'CBOR_MALFORMED', 'cold signing key: expected a byte string of 32 bytes, got a byte string of 64 bytes'],
    ['cold skey: empty', 3, '', 'CBOR_MALFORMED', 'empty'],
    ['kes vkey: 64 bytes', 4, '5840' + '11'.repeat(64), 'CBOR_MALFORMED', 'KES verification key: expected a byte string of 32 bytes'],
    ['kes skey: 607 bytes', 5, '59025f' + '11'.repeat(607), 'CBOR_MALFORMED', 'KES sign key: expected a byte string of 608 bytes, got a byte string of 607 bytes'],
    ['kes skey: a single-period (32-byte) key', 5, '5820' + '11'.repeat(32), 'CBOR_MALFORMED', 'expected a byte string of 608 bytes'],
  ] as const)('%s', (name, idx, cborHex, code, fragment) => {
    const [, read, type] = readers[idx]!;
    const p = envelopeFile(name.replace(/\W+/g, '_'), type, cborHex);
    const e = thrownBy(() => read(p));
    expect(e.code).toBe(code);
    expect(e.message.startsWith(`${p}: `)).toBe(true);
    expect(e.message).toContain(fragment);
  });
});
