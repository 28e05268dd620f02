import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ENVELOPE_TYPES,
  formatEnvelope,
  formatSecretEnvelope,
  parseEnvelope,
  readAnyEnvelopeFile,
  readEnvelopeFile,
  writeSecretEnvelopeFile,
  type EnvelopeType,
} from '../../src/cardano/envelope';
import * as fileIo from '../../src/cardano/file-io';
import { readFileBounded, writeFileSafely } from '../../src/cardano/file-io';
import { toHex } from '../../src/crypto/bytes';
import { thrownBy } from '../helpers/thrown';
import { readVectorText, vectorPath } from '../helpers/vectors';

const FIXTURES = ['cold.skey', 'cold.vkey', 'kes.skey', 'kes.vkey', 'opcert.cert', 'opcert.counter'] as const;
const ALL_TYPES = Object.values(ENVELOPE_TYPES) as EnvelopeType[];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-envelope-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function put(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('the byte scanner reads what JSON.parse reads', () => {
  test.each(FIXTURES)('%s: type, description and cborHex match JSON.parse', (name) => {
    const text = readVectorText('cardano-cli', name);
    const json = JSON.parse(text) as { type: string; description: string; cborHex: string };
    const env = parseEnvelope(utf8(text), name, ALL_TYPES);
    expect(env.type).toBe(json.type);
    expect(env.description).toBe(json.description);
    expect(toHex(env.cbor)).toBe(json.cborHex);
  });

  test('both formatters reproduce every fixture byte for byte and agree with each other', () => {
    for (const name of FIXTURES) {
      const text = readVectorText('cardano-cli', name);
      const env = parseEnvelope(utf8(text), name, ALL_TYPES);
      expect(formatSecretEnvelope(env).toString('utf8')).toBe(text);
      if (name !== 'cold.skey' && name !== 'kes.skey') {
        expect(formatEnvelope(env as Parameters<typeof formatEnvelope>[0])).toBe(text);
      }
    }
  });

  test('any JSON whitespace, any member order, escapes in description, uppercase hex', () => {
    const variants = [
      '{"type":"NodeOperationalCertificateIssueCounter","description":"x","cborHex":"820858202151D26921AB6079BBC9366377F4299DE729C3E45C3DB70362B9A25E8C89F61B"}',
      '\r\n\t { "cborHex" : "820858202151d26921ab6079bbc9366377f4299de729c3e45c3db70362b9a25e8c89f61b" ,\n"description":"N\\u00e9xt \\"8\\"\\n" , "type":"NodeOperationalCertificateIssueCounter" }  \n',
    ];
    for (const v of variants) {
      const env = parseEnvelope(utf8(v), 'v', [ENVELOPE_TYPES.opcertCounter]);
      expect(toHex(env.cbor)).toBe('820858202151d26921ab6079bbc9366377f4299de729c3e45c3db70362b9a25e8c89f61b');
    }
    expect(parseEnvelope(utf8(variants[1]!), 'v', [ENVELOPE_TYPES.opcertCounter]).description).toBe('Néxt "8"\n');
  });
});

describe('malformed envelopes: one clear error naming the file', () => {
  const ok = (over: Record<string, string>): string =>
    JSON.stringify({ type: 'StakePoolVerificationKey_ed25519', description: 'd', cborHex: '5820' + '11'.repeat(32), ...over });
  test.each([
    ['empty file', '', 'FILE_NOT_ENVELOPE', 'the file is empty'],
    ['not JSON', 'hello', 'FILE_NOT_ENVELOPE', 'not a JSON object'],
    ['a JSON array', '[1,2]', 'FILE_NOT_ENVELOPE', 'not a JSON object'],
    ['binary', '\u0000\u0001', 'FILE_NOT_ENVELOPE', 'not a JSON object'],
    ['empty object', '{}', 'FILE_NOT_ENVELOPE', 'empty object'],
    ['unterminated', '{"type": "StakePool', 'FILE_NOT_ENVELOPE', 'unterminated string'],
    ['missing cborHex', '{"type":"StakePoolVerificationKey_ed25519","description":""}', 'FILE_NOT_ENVELOPE', 'missing member "cborHex"'],
    ['missing description', '{"type":"StakePoolVerificationKey_ed25519","cborHex":""}', 'FILE_NOT_ENVELOPE', 'missing member "description"'],
    ['missing type', '{"description":"","cborHex":""}', 'FILE_NOT_ENVELOPE', 'missing member "type"'],
    ['unknown member', ok({ extra: 'x' }), 'FILE_NOT_ENVELOPE', 'unexpected member "extra"'],
    ['duplicate member', '{"type":"a","type":"b"}', 'FILE_NOT_ENVELOPE', 'duplicate member "type"'],
    ['number value', '{"type":"StakePoolVerificationKey_ed25519","description":5,"cborHex":""}', 'FILE_NOT_ENVELOPE', 'expected a string for "description"'],
    ['trailing data', ok({}) + 'x', 'FILE_NOT_ENVELOPE', 'unexpected data after the object'],
    ['two objects', ok({}) + ok({}), 'FILE_NOT_ENVELOPE', 'unexpected data after the object'],
    ['missing comma', '{"type":"a" "description":"b"}', 'FILE_NOT_ENVELOPE', "expected ',' or '}'"],
    ['raw newline in string', '{"type":"a\nb"}', 'FILE_NOT_ENVELOPE', 'control character'],
    ['bad escape', '{"type":"a\\x"}', 'FILE_NOT_ENVELOPE', 'bad escape'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x22, 0x22, 0x7d]), 'FILE_NOT_ENVELOPE', 'invalid UTF-8'],
    ['odd hex', ok({ cborHex: '582' }), 'ENVELOPE_BAD_HEX', 'odd number of hex digits (3)'],
    ['bad hex', ok({ cborHex: '58zz' }), 'ENVELOPE_BAD_HEX', 'not a hex digit'],
    ['escape inside cborHex', ok({ cborHex: '\\u0035820' }), 'ENVELOPE_BAD_HEX', 'escape sequence'],
    ['unknown type', ok({ type: 'Foo Bar' }), 'ENVELOPE_WRONG_TYPE', 'got unknown type "Foo Bar"'],
  ])('%s', (_name, content, code, message) => {
    const file = put('bad.json', content);
    const e = thrownBy(() => readEnvelopeFile(file, ENVELOPE_TYPES.coldVerificationKey));
    expect(e.code).toBe(code);
    expect(e.message.startsWith(`${file}: `)).toBe(true);
    expect(e.message).toContain(message);
    expect(e.message).not.toContain('\n');
  });

  test('wrong type names the expected and the actual type', () => {
    const e = thrownBy(() => readEnvelopeFile(vectorPath('cardano-cli', 'cold.vkey'), ENVELOPE_TYPES.opcert));
    expect(e.code).toBe('ENVELOPE_WRONG_TYPE');
    expect(e.message).toBe(
      `${vectorPath('cardano-cli', 'cold.vkey')}: expected a NodeOperationalCertificate text envelope, got StakePoolVerificationKey_ed25519`,
    );
    const two = thrownBy(() => readEnvelopeFile(vectorPath('cardano-cli', 'opcert.cert'), [ENVELOPE_TYPES.kesVerificationKey, ENVELOPE_TYPES.opcertCounter]));
    expect(two.message).toContain('expected a KesVerificationKey_ed25519_kes_2^6 or a NodeOperationalCertificateIssueCounter text envelope');
  });

  test('a secret file given where a public one is expected is refused before its hex is decoded', () => {
    const e = thrownBy(() => readEnvelopeFile(vectorPath('cardano-cli', 'cold.skey'), ENVELOPE_TYPES.coldVerificationKey as never));
    expect(e.code).toBe('ENVELOPE_WRONG_TYPE');
    expect(e.message).not.toMatch(/bbb52476/);
  });

  test('reading a secret envelope never hands its hex to JSON.parse or a TextDecoder', () => {
    const parse = jest.spyOn(JSON, 'parse');
    const decode = jest.spyOn(TextDecoder.prototype, 'decode');
    try {
      for (const f of ['cold.skey', 'kes.skey'] as const) {
        const env = readAnyEnvelopeFile(vectorPath('cardano-cli', f), [ENVELOPE_TYPES.coldSigningKey, ENVELOPE_TYPES.kesSigningKey]);
        expect(env.cbor.length).toBeGreaterThan(32);
      }
      const seen = [...parse.mock.calls.map((c) => String(c[0])), ...decode.mock.results.map((r) => String(r.value))];
      expect(seen.length).toBeGreaterThan(0);
      for (const s of seen) expect(s).not.toMatch(/bbb52476|5ab3db7b/i);
    } finally {
      parse.mockRestore();
      decode.mockRestore();
    }
  });

  test('the file buffer is wiped after reading, and the key bytes come back intact', () => {
    const read = jest.spyOn(fileIo, 'readFileBounded');
    try {
      const env = readAnyEnvelopeFile(vectorPath('cardano-cli', 'cold.skey'), ENVELOPE_TYPES.coldSigningKey);
      expect(toHex(env.cbor)).toBe('5820bbb52476390a522b89c545b049ead55f38173a2eb6810ea0237f774f5efc18f6');
      const fileBuffer = read.mock.results[0]!.value as Buffer;
      expect(fileBuffer.length).toBeGreaterThan(100);
      expect(fileBuffer.every((b) => b === 0)).toBe(true);
    } finally {
      read.mockRestore();
    }
  });
});

test('writing a secret envelope wipes the bytes it wrote', () => {
  const write = jest.spyOn(fileIo, 'writeFileSafely');
  try {
    const p = path.join(dir, 'w.skey');
    const cbor = new Uint8Array(34);
    cbor.set([0x58, 0x20]);
    cbor.fill(0xab, 2);
    writeSecretEnvelopeFile(p, { type: ENVELOPE_TYPES.coldSigningKey, description: 'd', cbor }, { overwrite: false });
    expect(fs.readFileSync(p, 'utf8')).toContain('"cborHex": "5820' + 'ab'.repeat(32) + '"');
    const written = write.mock.calls[0]![1];
    expect(written.length).toBeGreaterThan(68);
    expect(written.every((b) => b === 0)).toBe(true);
  } finally {
    write.mockRestore();
  }
});

describe('file access errors', () => {
  test('missing file', () => {
    const e = thrownBy(() => readEnvelopeFile(path.join(dir, 'nope'), ENVELOPE_TYPES.opcert));
    expect(e.code).toBe('FILE_UNREADABLE');
    expect(e.message).toBe(`${path.join(dir, 'nope')}: no such file`);
  });
  test('directory instead of a file', () => {
    const e = thrownBy(() => readEnvelopeFile(dir, ENVELOPE_TYPES.opcert));
    expect(e.code).toBe('FILE_UNREADABLE');
    expect(e.message).toBe(`${dir}: is a directory, expected a file`);
  });
  test('file too large is refused before reading', () => {
    const big = put('big.json', Buffer.alloc(64 * 1024 + 1, 0x20));
    expect(thrownBy(() => readEnvelopeFile(big, ENVELOPE_TYPES.opcert)).code).toBe('FILE_TOO_LARGE');
  });
  // root reads any file, so the check only means something for other users.
  (process.getuid?.() === 0 ? test.skip : test)('unreadable file (mode 000)', () => {
    const p = put('locked.json', readVectorText('cardano-cli', 'opcert.cert'));
    fs.chmodSync(p, 0o000);
    const e = thrownBy(() => readEnvelopeFile(p, ENVELOPE_TYPES.opcert));
    expect(e.code).toBe('FILE_UNREADABLE');
    expect(e.message).toBe(`${p}: permission denied`);
  });
  test('readFileBounded returns the exact bytes', () => {
    const p = put('b.bin', Buffer.from([1, 2, 3]));
    expect([...readFileBounded(p, 3, 'x')]).toEqual([1, 2, 3]);
  });
});

describe('writeFileSafely', () => {
  test('overwrite=false refuses an existing file (FILE_EXISTS) and a dangling symlink (FILE_IS_SYMLINK), and leaves them untouched', () => {
    const p = put('exists', 'old');
    expect(thrownBy(() => writeFileSafely(p, utf8('new'), { mode: 0o600, overwrite: false })).code).toBe('FILE_EXISTS');
    expect(fs.readFileSync(p, 'utf8')).toBe('old');
    const link = path.join(dir, 'dangling');
    fs.symlinkSync(path.join(dir, 'target-does-not-exist'), link);
    expect(thrownBy(() => writeFileSafely(link, utf8('x'), { mode: 0o600, overwrite: false })).code).toBe('FILE_IS_SYMLINK');
    expect(fs.existsSync(path.join(dir, 'target-does-not-exist'))).toBe(false);
  });
  test('overwrite=true replaces the file with the new mode and leaves no temp file', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'ow-'));
    const p = path.join(sub, 'secret');
    fs.writeFileSync(p, 'old', { mode: 0o644 });
    writeFileSafely(p, utf8('new'), { mode: 0o600, overwrite: true });
    expect(fs.readFileSync(p, 'utf8')).toBe('new');
    expect(fs.statSync(p).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(sub)).toEqual(['secret']);
  });
  test('missing directory is FILE_WRITE_FAILED naming the file', () => {
    const p = path.join(dir, 'no', 'such', 'dir', 'f');
    for (const overwrite of [false, true]) {
      const e = thrownBy(() => writeFileSafely(p, utf8('x'), { mode: 0o644, overwrite }));
      expect(e.code).toBe('FILE_WRITE_FAILED');
      expect(e.message).toBe(`${p}: directory does not exist`);
    }
  });
});
