import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCounterFile, readOpcertFile, verifyOpcert, readColdVerificationKeyFile } from '../../src/cardano';
import { loadSodium } from '../../src/crypto/sodium';
import { EXIT } from '../../src/cli/exit-codes';
import { readVectorText, vectorPath } from '../helpers/vectors';
import { expectOneErrorLine, kesCold } from './kes-cold-helpers';
import { makeTestGenesis } from '../helpers/test-genesis';

const cli = (name: string): string => vectorPath('cardano-cli', name);
const FIXTURE_COLD_VK = '2151d26921ab6079bbc9366377f4299de729c3e45c3db70362b9a25e8c89f61b';
const FIXTURE_KES_VK = 'df22d655d82015c61cb62c8138dfe7a27238a60c1e1cd5bb18ec71a5dd71f39f';

let root: string;
let n = 0;
/** A fresh directory per test, so tests never see each other's files. */
function freshDir(): string {
  const d = path.join(root, `t${n++}`);
  fs.mkdirSync(d);
  return d;
}

beforeAll(async () => {
  await loadSodium();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-cold-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The fixture counter rewound to 7, as it was before cardano-cli issued opcert.cert. */
function counterAt7(dir: string): string {
  const p = path.join(dir, 'opcert.counter');
  fs.writeFileSync(
    p,
    readVectorText('cardano-cli', 'opcert.counter')
      .replace('number: 8', 'number: 7')
      .replace('"cborHex": "8208', '"cborHex": "8207'),
  );
  return p;
}

describe('keygen → issue-opcert → inspect round trip', () => {
  test('a fresh cold key issues an opcert that inspect verifies under its vkey', async () => {
    const d = freshDir();
    const f = (x: string): string => path.join(d, x);
    const kg = await kesCold(['keygen', '--cold-vkey', f('cold.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('c')]);
    expect(kg).toMatchObject({ code: EXIT.OK, err: '' });
    expect(fs.statSync(f('cold.skey')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(f('c'), 'utf8')).toContain('"description": "Next certificate issue number: 0"');
    const coldVk = readColdVerificationKeyFile(f('cold.vkey'));
    expect(kg.out).toContain(Buffer.from(coldVk).toString('hex'));
    expect(kg.out).not.toMatch(/[0-9a-f]{64}[\s\S]*[0-9a-f]{64}/); // one 32-byte hex value: the vk, no seed

    for (const [i, period] of [[0, 100], [1, 162]] as const) {
      const io = await kesCold([
        'issue-opcert', '--kes-vkey', cli('kes.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('c'),
        '--kes-period', String(period), '--out', f(`op${i}.cert`),
      ]);
      expect(io).toMatchObject({ code: EXIT.OK, err: '' });
      const oc = readOpcertFile(f(`op${i}.cert`));
      expect([oc.counter, oc.kesPeriod]).toEqual([i, period]);
      expect(verifyOpcert(oc, coldVk)).toBe(true);
      expect(readCounterFile(f('c')).next).toBe(i + 1);
    }
    expect(fs.readFileSync(f('c'), 'utf8')).toContain('"description": "Next certificate issue number: 2"');

    const ins = await kesCold(['inspect', f('op1.cert'), '--cold-vkey', f('cold.vkey'), '--json']);
    expect(ins.code).toBe(EXIT.OK);
    expect(JSON.parse(ins.out)).toEqual({
      ok: true,
      file: f('op1.cert'),
      type: 'NodeOperationalCertificate',
      description: '',
      hotVk: FIXTURE_KES_VK,
      counter: 1,
      kesPeriod: 162,
      coldVk: Buffer.from(coldVk).toString('hex'),
      signature: expect.stringMatching(/^[0-9a-f]{128}$/),
      signatureValid: true,
      coldVkMatches: true,
    });
    const human = await kesCold(['inspect', f('c'), '--cold-vkey', f('cold.vkey')]);
    expect(human.code).toBe(EXIT.OK);
    expect(human.out).toMatch(/next issue number\s+2\n/);
    expect(human.out).toMatch(/matches --cold-vkey\s+yes\n/);
  });
});

describe('keygen', () => {
  test.each(['cold.vkey', 'cold.skey', 'c'])('refuses to overwrite an existing %s and writes nothing', async (existing) => {
    const d = freshDir();
    const f = (x: string): string => path.join(d, x);
    fs.writeFileSync(f(existing), 'precious');
    const r = await kesCold(['keygen', '--cold-vkey', f('cold.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('c')]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(r.out).toBe('');
    expectOneErrorLine(r.err, 'FILE_EXISTS');
    expect(r.err).toContain(`${f(existing)}: already exists; refusing to replace it (pass --overwrite to replace it)`);
    expect(fs.readdirSync(d)).toEqual([existing]);
    expect(fs.readFileSync(f(existing), 'utf8')).toBe('precious');
  });

  test.each(['--overwrite', '--force'])('%s replaces all three, with the secret at 0600 even if the old file was 0644 (--force: the older name, kept)', async (flag) => {
    const d = freshDir();
    const f = (x: string): string => path.join(d, x);
    for (const x of ['cold.vkey', 'cold.skey', 'c']) fs.writeFileSync(f(x), 'old', { mode: 0o644 });
    const r = await kesCold(['keygen', '--cold-vkey', f('cold.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('c'), flag]);
    expect(r.code).toBe(EXIT.OK);
    expect(fs.statSync(f('cold.skey')).mode & 0o777).toBe(0o600);
    expect(readCounterFile(f('c')).next).toBe(0);
    expect(fs.readdirSync(d).sort()).toEqual(['c', 'cold.skey', 'cold.vkey']);
  });

  test('the same path for two outputs is a usage error', async () => {
    const d = freshDir();
    const r = await kesCold(['keygen', '--cold-vkey', path.join(d, 'x'), '--cold-skey', path.join(d, 'x'), '--counter', path.join(d, 'c')]);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r.err);
    expect(r.err).toContain('--cold-vkey and --cold-skey name the same file');
    expect(fs.readdirSync(d)).toEqual([]);
  });

  test('an unwritable location fails cleanly and leaves no partial key set', async () => {
    const d = freshDir();
    const r = await kesCold(['keygen', '--cold-vkey', path.join(d, 'missing', 'v'), '--cold-skey', path.join(d, 's'), '--counter', path.join(d, 'c')]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expectOneErrorLine(r.err, 'FILE_WRITE_FAILED');
    expect(fs.readdirSync(d)).toEqual([]);
  });
});

describe('issue-opcert', () => {
  function setup(): { d: string; f: (x: string) => string; counter: string } {
    const d = freshDir();
    const f = (x: string): string => path.join(d, x);
    fs.copyFileSync(cli('kes.vkey'), f('kes.vkey'));
    fs.copyFileSync(cli('cold.skey'), f('cold.skey'));
    return { d, f, counter: counterAt7(d) };
  }
  const args = (f: (x: string) => string, over: Record<string, string> = {}): string[] =>
    Object.entries({
      '--kes-vkey': f('kes.vkey'),
      '--cold-skey': f('cold.skey'),
      '--counter': f('opcert.counter'),
      '--kes-period': '1430',
      '--out': f('opcert.cert'),
      ...over,
    }).flatMap(([k, v]) => [k, v]);

  test('reproduces cardano-cli opcert.cert and opcert.counter byte for byte (in process)', async () => {
    const { f } = setup();
    const r = await kesCold(['issue-opcert', ...args(f)]);
    expect(r).toMatchObject({ code: EXIT.OK, err: '' });
    expect(fs.readFileSync(f('opcert.cert'), 'utf8')).toBe(readVectorText('cardano-cli', 'opcert.cert'));
    expect(fs.readFileSync(f('opcert.counter'), 'utf8')).toBe(readVectorText('cardano-cli', 'opcert.counter'));
  });

  test('a counter of another cold key: COUNTER_WRONG_COLD_KEY, nothing written', async () => {
    const { d, f } = setup();
    const other = freshDir();
    const kg = await kesCold(['keygen', '--cold-vkey', path.join(other, 'v'), '--cold-skey', path.join(other, 's'), '--counter', path.join(other, 'c')]);
    expect(kg.code).toBe(EXIT.OK);
    const before = fs.readFileSync(path.join(other, 'c'));
    const r = await kesCold(['issue-opcert', ...args(f, { '--counter': path.join(other, 'c') })]);
    expect(r.code).toBe(EXIT.INVALID);
    expectOneErrorLine(r.err, 'COUNTER_WRONG_COLD_KEY');
    expect(r.err).toContain(FIXTURE_COLD_VK);
    expect(fs.readFileSync(path.join(other, 'c'))).toEqual(before);
    expect(fs.existsSync(path.join(d, 'opcert.cert'))).toBe(false);
  });

  test('if the opcert cannot be written, the counter is untouched', async () => {
    const { f } = setup();
    const before = fs.readFileSync(f('opcert.counter'));
    const r = await kesCold(['issue-opcert', ...args(f, { '--out': f('no/such/dir/opcert.cert') })]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expectOneErrorLine(r.err, 'FILE_WRITE_FAILED');
    expect(fs.readFileSync(f('opcert.counter'))).toEqual(before);
  });

  test.each([
    ['--kes-vkey', 'cold.vkey', 'ENVELOPE_WRONG_TYPE', 'expected a KesVerificationKey_ed25519_kes_2^6 text envelope, got StakePoolVerificationKey_ed25519'],
    ['--cold-skey', 'kes.skey', 'ENVELOPE_WRONG_TYPE', 'expected a StakePoolSigningKey_ed25519 text envelope, got KesSigningKey_ed25519_kes_2^6'],
    ['--counter', 'opcert.cert', 'ENVELOPE_WRONG_TYPE', 'expected a NodeOperationalCertificateIssueCounter text envelope, got NodeOperationalCertificate'],
    ['--kes-vkey', 'missing', 'FILE_UNREADABLE', 'no such file'],
  ])('%s given %s: %s', async (option, file, code, message) => {
    const { f } = setup();
    const given = file === 'missing' ? f('missing') : cli(file);
    const r = await kesCold(['issue-opcert', ...args(f, { [option]: given })]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expectOneErrorLine(r.err, code);
    expect(r.err).toContain(`${given}: ${message}`);
    expect(fs.existsSync(f('opcert.cert'))).toBe(false);
  });

  test.each([['abc'], ['1.5'], ['-1'], ['9007199254740992']])('--kes-period=%s is a usage error', async (v) => {
    const { f } = setup();
    const a = args(f);
    a.splice(a.indexOf('--kes-period'), 2, `--kes-period=${v}`);
    const r = await kesCold(['issue-opcert', ...a]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.out).toBe('');
    expectOneErrorLine(r.err);
  });

  test('--out equal to --counter is a usage error', async () => {
    const { f } = setup();
    const r = await kesCold(['issue-opcert', ...args(f, { '--out': f('opcert.counter') })]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.err).toContain('--counter and --out name the same file');
  });
});

describe('period', () => {
  // 2023-08-21T00:00:00Z. Mainnet: slot = 4492800 + (t - 1596059091) (docs/kes-construction.md §7), kp = slot
  // div 129600.
  const NOW = Date.UTC(2023, 7, 21);
  const mainnetSlot = 4492800 + (NOW / 1000 - 1596059091);
  const mainnetKp = Math.floor(mainnetSlot / 129600);
  const periodStartMs = (kp: number): number => (1596059091 + kp * 129600 - 4492800) * 1000;

  test('--json: exactly ok, kesPeriod, slot, periodStart, periodEnd, in that order (mainnet by default)', async () => {
    const r = await kesCold(['period', '--json'], { nowMs: NOW });
    expect(r).toMatchObject({ code: EXIT.OK, err: '' });
    expect(mainnetKp).toBe(779); // the ledger's period on that day (docs/kes-construction.md §7.4)
    expect(r.out).toBe(
      JSON.stringify({
        ok: true,
        kesPeriod: 779,
        slot: mainnetSlot,
        periodStart: new Date(periodStartMs(779)).toISOString(),
        periodEnd: new Date(periodStartMs(780)).toISOString(),
      }) + '\n',
    );
    const explicit = await kesCold(['period', '--network', 'mainnet', '--json'], { nowMs: NOW });
    expect(explicit.out).toBe(r.out);
  });

  test('human output names the network, the period and the opcert window', async () => {
    const r = await kesCold(['period', '--network', 'mainnet'], { nowMs: NOW });
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toContain('network:        mainnet\n');
    expect(r.out).toContain('KES period:     779\n');
    expect(r.out).toContain(`slot:           ${mainnetSlot}\n`);
    expect(r.out).toContain('--kes-period 779 is valid through KES period 840 (62 periods)');
  });

  test('--genesis of a private testnet (no Byron era): period from systemStart', async () => {
    const d = freshDir();
    const g = path.join(d, 'genesis.json');
    const start = Date.UTC(2024, 0, 1);
    fs.writeFileSync(g, makeTestGenesis({ systemStart: new Date(start), slotLength: 0.2, slotsPerKESPeriod: 50, maxKESEvolutions: 10 }));
    const now = start + 25_000; // slot 125 → period 2, which runs 20 s..30 s
    const r = await kesCold(['period', '--genesis', g, '--json'], { nowMs: now });
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.out)).toEqual({
      ok: true,
      kesPeriod: 2,
      slot: 125,
      periodStart: new Date(start + 20_000).toISOString(),
      periodEnd: new Date(start + 30_000).toISOString(),
    });
  });

  test('a chain that has not started: exit CHAIN_NOT_STARTED, with and without --json', async () => {
    const d = freshDir();
    const g = path.join(d, 'future.json');
    const start = Date.UTC(2030, 0, 1);
    fs.writeFileSync(g, makeTestGenesis({ systemStart: new Date(start), slotLength: 1, slotsPerKESPeriod: 129600, maxKESEvolutions: 62 }));
    const now = start - 90 * 60_000;
    const human = await kesCold(['period', '--genesis', g], { nowMs: now });
    expect(human.code).toBe(EXIT.CHAIN_NOT_STARTED);
    expect(human.out).toBe('');
    expectOneErrorLine(human.err, 'CHAIN_NOT_STARTED');
    expect(human.err).toContain('the chain starts at 2030-01-01T00:00:00.000Z (in 1h 30m)');
    const json = await kesCold(['period', '--genesis', g, '--json'], { nowMs: now });
    expect(json.code).toBe(EXIT.CHAIN_NOT_STARTED);
    expect(JSON.parse(json.out)).toEqual({
      ok: false,
      started: false,
      startsAt: '2030-01-01T00:00:00.000Z',
      code: 'CHAIN_NOT_STARTED',
      message: expect.stringContaining('the chain starts at 2030-01-01T00:00:00.000Z'),
      exitCode: EXIT.CHAIN_NOT_STARTED,
    });
    expectOneErrorLine(json.err, 'CHAIN_NOT_STARTED');
  });

  test('--network and --genesis together is a usage error', async () => {
    const r = await kesCold(['period', '--network', 'preview', '--genesis', 'x.json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.out).toBe('');
    expectOneErrorLine(r.err);
    expect(r.err).toContain('--network and --genesis are mutually exclusive');
  });

  test('an unknown network is a usage error', async () => {
    const r = await kesCold(['period', '--network', 'testnet']);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r.err, 'NETWORK_UNKNOWN');
  });

  test('the mainnet genesis file gives mainnet\'s periods, exactly as --network mainnet', async () => {
    const r = await kesCold(['period', '--genesis', vectorPath('genesis', 'mainnet-shelley-genesis.json'), '--json'], { nowMs: NOW });
    const n = await kesCold(['period', '--network', 'mainnet', '--json'], { nowMs: NOW });
    expect([r.code, r.err]).toEqual([EXIT.OK, '']);
    expect(JSON.parse(r.out)).toEqual(JSON.parse(n.out));
  });

  test('a missing genesis file', async () => {
    const r = await kesCold(['period', '--genesis', path.join(root, 'nope.json')]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expectOneErrorLine(r.err, 'FILE_UNREADABLE');
  });
});

describe('inspect', () => {
  const SECRETS = [
    'bbb52476390a522b89c545b049ead55f38173a2eb6810ea0237f774f5efc18f6', // cold seed
    '5ab3db7b77d85f1a73148569454b0819', // start of the KES sign key
  ];

  test.each([
    ['cold.skey', { type: 'StakePoolSigningKey_ed25519', description: 'Stake Pool Operator Signing Key', verificationKey: FIXTURE_COLD_VK }],
    ['cold.vkey', { type: 'StakePoolVerificationKey_ed25519', description: 'Stake Pool Operator Verification Key', verificationKey: FIXTURE_COLD_VK }],
    ['kes.skey', { type: 'KesSigningKey_ed25519_kes_2^6', description: 'KES Signing Key', verificationKey: FIXTURE_KES_VK }],
    ['kes.vkey', { type: 'KesVerificationKey_ed25519_kes_2^6', description: 'KES Verification Key', verificationKey: FIXTURE_KES_VK }],
    ['opcert.counter', { type: 'NodeOperationalCertificateIssueCounter', description: 'Next certificate issue number: 8', next: 8, coldVk: FIXTURE_COLD_VK }],
    [
      'opcert.cert',
      {
        type: 'NodeOperationalCertificate', description: '', hotVk: FIXTURE_KES_VK, counter: 7, kesPeriod: 1430, coldVk: FIXTURE_COLD_VK,
        signature: '412db8487ff22463b8c901b623d0bc62acd30ae7e19f6717e0b57e9b0759b51c0baddf0a6d002aa814d26db064d4c6e7fefc4c98fbd8ca325baaf685aceaf406',
        signatureValid: true,
      },
    ],
  ])('%s --json shows public data only', async (name, expected) => {
    const r = await kesCold(['inspect', cli(name), '--json']);
    expect(r).toMatchObject({ code: EXIT.OK, err: '' });
    expect(JSON.parse(r.out)).toEqual({ ok: true, file: cli(name), ...expected });
    const human = await kesCold(['inspect', cli(name)]);
    expect(human.code).toBe(EXIT.OK);
    for (const s of SECRETS) {
      expect(r.out).not.toContain(s);
      expect(human.out).not.toContain(s);
    }
  });

  function tamperedOpcert(dir: string): string {
    const text = readVectorText('cardano-cli', 'opcert.cert');
    // Flip one bit in the first signature byte (0x41 → 0x40): well-formed, invalid.
    const p = path.join(dir, 'bad.cert');
    fs.writeFileSync(p, text.replace('5840412db848', '5840402db848'));
    return p;
  }

  test('a tampered opcert: fields printed, signature NO, exit INVALID with OPCERT_BAD_SIGNATURE', async () => {
    const p = tamperedOpcert(freshDir());
    const r = await kesCold(['inspect', p]);
    expect(r.code).toBe(EXIT.INVALID);
    expect(r.out).toMatch(/signature valid\s+NO\n/);
    expectOneErrorLine(r.err, 'OPCERT_BAD_SIGNATURE');
    const j = await kesCold(['inspect', p, '--json', '--cold-vkey', cli('cold.vkey')]);
    expect(j.code).toBe(EXIT.INVALID);
    expect(JSON.parse(j.out)).toMatchObject({ signatureValid: false, coldVkMatches: true });
  });

  test('--cold-vkey of another key: opcert, counter and cold skey each fail with their code', async () => {
    const d = freshDir();
    const kg = await kesCold(['keygen', '--cold-vkey', path.join(d, 'v'), '--cold-skey', path.join(d, 's'), '--counter', path.join(d, 'c')]);
    expect(kg.code).toBe(EXIT.OK);
    for (const [file, code] of [
      ['opcert.cert', 'OPCERT_WRONG_COLD_KEY'],
      ['opcert.counter', 'COUNTER_WRONG_COLD_KEY'],
      ['cold.skey', 'COLD_KEY_MISMATCH'],
      ['cold.vkey', 'COLD_KEY_MISMATCH'],
    ] as const) {
      const r = await kesCold(['inspect', cli(file), '--cold-vkey', path.join(d, 'v'), '--json']);
      expect([file, r.code]).toEqual([file, EXIT.INVALID]);
      expect(JSON.parse(r.out)).toMatchObject({ coldVkMatches: false });
      expectOneErrorLine(r.err, code);
    }
    const ok = await kesCold(['inspect', path.join(d, 's'), '--cold-vkey', path.join(d, 'v')]);
    expect(ok.code).toBe(EXIT.OK);
  });

  test('--cold-vkey does not apply to KES keys', async () => {
    const r = await kesCold(['inspect', cli('kes.skey'), '--cold-vkey', cli('cold.vkey')]);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneErrorLine(r.err);
  });

  test('--cold-vkey must itself be a cold vkey', async () => {
    const r = await kesCold(['inspect', cli('opcert.cert'), '--cold-vkey', cli('kes.vkey')]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expectOneErrorLine(r.err, 'ENVELOPE_WRONG_TYPE');
  });

  test.each([
    ['a missing file', (d: string) => path.join(d, 'missing'), 'FILE_UNREADABLE'],
    ['a directory', (d: string) => d, 'FILE_UNREADABLE'],
    ['not JSON', (d: string) => (fs.writeFileSync(path.join(d, 'x'), 'hello'), path.join(d, 'x')), 'FILE_NOT_ENVELOPE'],
    ['odd hex', (d: string) => (fs.writeFileSync(path.join(d, 'x'), '{"type":"NodeOperationalCertificate","description":"","cborHex":"828"}'), path.join(d, 'x')), 'ENVELOPE_BAD_HEX'],
    ['truncated CBOR', (d: string) => (fs.writeFileSync(path.join(d, 'x'), '{"type":"NodeOperationalCertificate","description":"","cborHex":"8284"}'), path.join(d, 'x')), 'CBOR_MALFORMED'],
    ['an unknown type', (d: string) => (fs.writeFileSync(path.join(d, 'x'), '{"type":"PaymentSigningKeyShelley_ed25519","description":"","cborHex":"00"}'), path.join(d, 'x')), 'ENVELOPE_WRONG_TYPE'],
  ])('%s', async (_name, make, code) => {
    const p = make(freshDir());
    const r = await kesCold(['inspect', p]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(r.out).toBe('');
    expectOneErrorLine(r.err, code);
    expect(r.err).toContain(`kes-cold: error: ${p}: `);
  });
});

describe('help, version and usage errors', () => {
  test('kes-cold --help lists every command', async () => {
    const r = await kesCold(['--help']);
    expect(r).toMatchObject({ code: EXIT.OK, err: '' });
    for (const c of ['keygen', 'issue-opcert', 'period', 'inspect']) expect(r.out).toContain(`kes-cold ${c}`);
    expect(r.out).not.toMatch(/\u001b\[/); // plain text
  });

  test.each(['keygen', 'issue-opcert', 'period', 'inspect'])('kes-cold %s --help: description, options, examples', async (c) => {
    for (const flag of ['--help', '-h']) {
      const r = await kesCold([c, flag]);
      expect(r).toMatchObject({ code: EXIT.OK, err: '' });
      expect(r.out).toContain(`$ kes-cold ${c}`);
      expect(r.out).toContain('Examples');
      expect(r.out).toContain('Details');
    }
  });

  test('--version prints "kes-cold <package version>"', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await kesCold([flag]);
      expect(r).toEqual({ code: EXIT.OK, out: `kes-cold ${pkg.version}\n`, err: '' });
    }
  });

  test.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['issue-opcert'], 'missing required options --kes-vkey, --cold-skey, --counter, --kes-period, --out'],
    [['issue-opcert', '--kes-vkey', 'a', '--cold-skey', 'b', '--counter', 'c', '--out', 'd'], 'missing required option --kes-period'],
    [['inspect'], 'expected FILE, got nothing'],
    [['inspect', 'a', 'b'], 'unexpected argument "b"'],
    [['inspect', 'a', '--bogus'], 'unknown option "--bogus"'],
    [['period', '--network'], '--network: expected NAME, got nothing'],
    [['issue-opcert', '--kes-vkey', 'a', '--cold-skey', 'b', '--counter', 'c', '--out', 'd', '--kes-period', '-1'], "--kes-period: '-1' is out of range: expected an integer from 0 to"],
    [['issue-opcert', '--kes-vkey', 'a', '--cold-skey', 'b', '--counter', 'c', '--out', 'd', '--kes-period', 'abc'], "--kes-period: expected a non-negative integer, got 'abc'"],
  ])('%j → exit 2, one line on stderr, nothing on stdout', async (argv, message) => {
    const r = await kesCold(argv);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.out).toBe('');
    expectOneErrorLine(r.err, 'USAGE');
    expect(r.err).toContain(message);
  });
});
