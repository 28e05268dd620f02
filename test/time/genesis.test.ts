import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isKesError } from '../../src/errors';
import {
  parseGenesis,
  readGenesisFile,
  byronPresetMatching,
  networkTiming,
  currentKesPeriodAt,
  kesTimeAt,
  MAX_GENESIS_FILE_BYTES,
  NETWORK_MAGIC,
  readGenesisDoc,
  timingForGenesis,
} from '../../src/time';
import { parseIsoUtcMs } from '../../src/time/genesis';
import { thrownBy } from '../helpers/thrown';
import { vectorPath } from '../helpers/vectors';
import { makeTestGenesis } from '../helpers/test-genesis';

const MAINNET_GENESIS = vectorPath('genesis', 'mainnet-shelley-genesis.json');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-time-genesis-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeTmp(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

describe('real mainnet Shelley genesis (vectors/genesis)', () => {
  test('reads its values; no Byron era is assumed for a genesis file', () => {
    const t = readGenesisFile(MAINNET_GENESIS);
    expect(t).toEqual({
      name: 'genesis:mainnet-shelley-genesis.json',
      systemStartMs: Date.parse('2017-09-23T21:44:51Z'),
      shelleyStartMs: Date.parse('2017-09-23T21:44:51Z'),
      shelleyStartSlot: 0,
      slotLengthMs: 1000,
      slotsPerKESPeriod: 129_600,
      maxKESEvolutions: 62,
    });
  });

  test('read on its own its periods differ from the mainnet preset (the Haskell agent\'s number); timingForGenesis corrects that', () => {
    const fromFile = readGenesisFile(MAINNET_GENESIS);
    const now = Date.parse('2023-08-21T00:00:00Z');
    // The genesis file alone reproduces the Haskell agent's number; the preset gives the ledger's.
    expect(currentKesPeriodAt(fromFile, now)).toBe(1438);
    expect(currentKesPeriodAt(networkTiming('mainnet'), now)).toBe(779);
    expect(byronPresetMatching(fromFile)).toBe('mainnet');
    expect(byronPresetMatching(networkTiming('mainnet'))).toBeUndefined();
    expect(byronPresetMatching(networkTiming('preview'))).toBeUndefined();
  });
});

describe('a Shelley genesis recognised by networkMagic gives the built-in era history (Haskell-style setups)', () => {
  /** Instants around which the three sources must agree, including a mainnet period boundary. */
  const INSTANTS = ['2023-08-21T00:00:00Z', '2026-07-30T12:00:00Z', '2026-12-03T21:44:50.999Z', '2026-12-03T21:44:51Z'].map((s) => Date.parse(s));

  test('the real mainnet file: networkMagic 764824073 → mainnet, the ledger KES period, as --network mainnet', () => {
    const doc = readGenesisDoc(MAINNET_GENESIS);
    expect(doc.networkMagic).toBe(NETWORK_MAGIC.mainnet);
    const { timing, network } = timingForGenesis(doc, MAINNET_GENESIS);
    expect(network).toBe('mainnet');
    expect(timing).toEqual(networkTiming('mainnet'));
    for (const now of INSTANTS) expect(currentKesPeriodAt(timing, now)).toBe(currentKesPeriodAt(networkTiming('mainnet'), now));
    // The ledger number, not the Haskell agent's wall-clock one (docs/kes-construction.md §7.4).
    expect(currentKesPeriodAt(timing, Date.parse('2023-08-21T00:00:00Z'))).toBe(779);
  });

  /** A copy of the mainnet file with some fields changed, in the temp dir. */
  function variant(name: string, change: Record<string, unknown>): string {
    const doc = JSON.parse(fs.readFileSync(MAINNET_GENESIS, 'utf8')) as Record<string, unknown>;
    return writeTmp(name, JSON.stringify({ ...doc, ...change }));
  }

  test('preprod (networkMagic 1, systemStart 2022-06-01): preprod\'s history, not a Byron-less chain', () => {
    const file = variant('preprod-shelley-genesis.json', { networkMagic: 1, systemStart: '2022-06-01T00:00:00Z', networkId: 'Testnet' });
    const { timing, network } = timingForGenesis(readGenesisDoc(file), file);
    expect(network).toBe('preprod');
    expect(timing).toEqual(networkTiming('preprod'));
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(currentKesPeriodAt(timing, now)).toBe(currentKesPeriodAt(networkTiming('preprod'), now));
    // Read as a Byron-less chain it would be ahead: 86400 Byron slots of 20 s counted as 1 s each.
    expect(readGenesisFile(file).shelleyStartSlot).toBe(0);
    expect(currentKesPeriodAt(readGenesisFile(file), now) - currentKesPeriodAt(timing, now)).toBe(13);
  });

  test.each([
    ['systemStart', '2017-09-24T21:44:51Z', 'systemStart is 2017-09-24T21:44:51Z, not mainnet\'s 2017-09-23T21:44:51Z'],
    ['slotsPerKESPeriod', 3600, 'slotsPerKESPeriod is 3600, not mainnet\'s 129600'],
    ['slotLength', 0.2, 'slotLength is 0.2, not mainnet\'s 1'],
    ['maxKESEvolutions', 10, 'maxKESEvolutions is 10, not mainnet\'s 62'],
  ])('mainnet\'s networkMagic with another %s: refused naming the field', (field, value, says) => {
    const file = variant(`mainnet-${field}.json`, { [field]: value });
    const e = thrownBy(() => timingForGenesis(readGenesisDoc(file), file));
    expect(e.code).toBe('GENESIS_INVALID');
    expect(e.message).toBe(`${file}: networkMagic 764824073 says mainnet, but ${says}: use mainnet's real Shelley genesis, or a networkMagic of your own for a private testnet`);
  });

  test.each([
    ['another networkMagic', { networkMagic: 42 }, '42'],
    ['no networkMagic', { networkMagic: undefined }, '(missing)'],
  ])('mainnet\'s systemStart with %s: refused as before, the hint names what differs', (_label, change, shown) => {
    const file = variant(`lookalike-${shown}.json`, change);
    const e = thrownBy(() => timingForGenesis(readGenesisDoc(file), file));
    expect(e.code).toBe('GENESIS_INVALID');
    expect(e.message).toBe(
      `${file}: systemStart is mainnet's but networkMagic is ${shown}, not 764824073: mainnet began in the Byron era, which a genesis file does not describe, so this file's KES periods would be wrong: use mainnet's real Shelley genesis or --network mainnet`,
    );
  });

  test('an unknown networkMagic (a private testnet) keeps its own Byron-less timing, as before', () => {
    const text = makeTestGenesis({ systemStart: new Date('2030-01-02T03:04:05Z'), slotLength: 0.2, slotsPerKESPeriod: 5, maxKESEvolutions: 10 });
    const file = writeTmp('private.json', text);
    const doc = readGenesisDoc(file);
    expect(doc.networkMagic).toBe(42);
    expect(timingForGenesis(doc, file)).toEqual({ timing: readGenesisFile(file), network: undefined });
  });

  test('preview\'s networkMagic 2 is not special: its file already gives preview\'s timing', () => {
    const file = variant('preview.json', { networkMagic: 2, systemStart: '2022-10-25T00:00:00Z' });
    const { timing, network } = timingForGenesis(readGenesisDoc(file), file);
    expect(network).toBeUndefined();
    const { name: _n, ...fromFile } = timing;
    const { name: _p, ...preset } = networkTiming('preview');
    expect(fromFile).toEqual(preset);
  });
});

describe('makeTestGenesis → file → readGenesisFile', () => {
  const start = new Date('2030-01-02T03:04:05Z');

  test.each([
    [1, 3, 62, 1000],
    [0.5, 3, 62, 500],
    [0.2, 5, 10, 200],
    [0.1, 129_600, 64, 100],
    [1, 1, 1, 1000],
  ])('slotLength %p, slotsPerKESPeriod %p, maxKESEvolutions %p', (slotLength, slotsPerKESPeriod, maxKESEvolutions, slotLengthMs) => {
    const text = makeTestGenesis({ systemStart: start, slotLength, slotsPerKESPeriod, maxKESEvolutions });
    const doc = JSON.parse(text) as Record<string, unknown>;
    // Shaped like a real Shelley genesis, not just the four keys.
    for (const k of ['activeSlotsCoeff', 'protocolParams', 'networkMagic', 'epochLength', 'securityParam', 'genDelegs']) {
      expect(doc).toHaveProperty(k);
    }
    expect(doc['systemStart']).toBe('2030-01-02T03:04:05Z');
    const file = writeTmp(`g-${slotLengthMs}-${slotsPerKESPeriod}.json`, text);
    expect(readGenesisFile(file)).toEqual({
      name: `genesis:${path.basename(file)}`,
      systemStartMs: start.getTime(),
      shelleyStartMs: start.getTime(),
      shelleyStartSlot: 0,
      slotLengthMs,
      slotsPerKESPeriod,
      maxKESEvolutions,
    });
  });

  test('a start in the future reads fine and is reported as not started, never a negative period', () => {
    const future = new Date(Date.now() + 3_600_000);
    future.setUTCMilliseconds(0);
    const t = parseGenesis(makeTestGenesis({ systemStart: future, slotLength: 1, slotsPerKESPeriod: 3, maxKESEvolutions: 62 }), 'future.json');
    const k = kesTimeAt(t, future.getTime() - 10_000);
    expect(k).toEqual({ started: false, startsAtMs: future.getTime(), msUntilStart: 10_000 });
  });

  test('systemStart with milliseconds is kept to the ms', () => {
    const t = parseGenesis(
      makeTestGenesis({ systemStart: new Date('2030-01-01T00:00:00.250Z'), slotLength: 1, slotsPerKESPeriod: 3, maxKESEvolutions: 62 }),
      'ms.json',
    );
    expect(t.systemStartMs).toBe(Date.parse('2030-01-01T00:00:00.250Z'));
  });
});

describe('invalid genesis fields → GENESIS_INVALID naming the file and the field', () => {
  const base = JSON.parse(
    makeTestGenesis({ systemStart: new Date('2022-10-25T00:00:00Z'), slotLength: 1, slotsPerKESPeriod: 129_600, maxKESEvolutions: 62 }),
  ) as Record<string, unknown>;
  const MISSING = Symbol('missing');

  function variant(field: string, value: unknown): string {
    const doc = { ...base };
    if (value === MISSING) delete doc[field];
    else doc[field] = value;
    return JSON.stringify(doc);
  }

  const cases: [string, unknown][] = [
    ['systemStart', MISSING],
    ['systemStart', 1666656000],
    ['systemStart', null],
    ['systemStart', 'yesterday'],
    ['systemStart', '2022-10-25'],
    ['systemStart', '2022-10-25T00:00:00'],
    ['systemStart', '2022-02-30T00:00:00Z'],
    ['systemStart', '2022-13-01T00:00:00Z'],
    ['systemStart', '2022-10-25T24:00:00Z'],
    ['systemStart', '2022-10-25T00:00:60Z'],
    ['systemStart', '1969-12-31T23:59:59Z'],
    ['slotLength', MISSING],
    ['slotLength', 0],
    ['slotLength', -1],
    ['slotLength', '1'],
    ['slotLength', null],
    ['slotLength', 0.0004],
    ['slotLength', 0.0015],
    ['slotsPerKESPeriod', MISSING],
    ['slotsPerKESPeriod', 0],
    ['slotsPerKESPeriod', -3],
    ['slotsPerKESPeriod', 1.5],
    ['slotsPerKESPeriod', '129600'],
    ['slotsPerKESPeriod', 1e20],
    ['slotsPerKESPeriod', 1e12],
    ['maxKESEvolutions', MISSING],
    ['maxKESEvolutions', 0],
    ['maxKESEvolutions', -1],
    ['maxKESEvolutions', 65],
    ['maxKESEvolutions', 62.5],
    ['maxKESEvolutions', '62'],
    ['maxKESEvolutions', true],
  ];

  test.each(cases)('%s = %p', (field, value) => {
    const file = writeTmp(`bad-${field}.json`, variant(field, value));
    const e = thrownBy(() => readGenesisFile(file));
    expect(isKesError(e, 'GENESIS_INVALID')).toBe(true);
    expect(e.message.startsWith(`${file}: ${field}: `)).toBe(true);
    expect(e.message).toMatch(value === MISSING ? /missing, expected / : /expected .*, got /);
    expect(e.message).not.toContain('\n');
  });

  test('slotLength written as 1e400 (JSON for Infinity) is refused', () => {
    const text = JSON.stringify(base).replace('"slotLength":1', '"slotLength":1e400');
    expect(text).toContain('1e400');
    const e = thrownBy(() => parseGenesis(text, 'inf.json'));
    expect(isKesError(e, 'GENESIS_INVALID')).toBe(true);
    expect(e.message).toMatch(/^inf\.json: slotLength: expected /);
  });

  test.each([
    ['not JSON', '{"systemStart": '],
    ['empty', ''],
    ['array at top level', '[]'],
    ['null at top level', 'null'],
    ['string at top level', '"genesis"'],
  ])('%s → GENESIS_INVALID naming the file', (_label, text) => {
    const file = writeTmp('shape.json', text);
    const e = thrownBy(() => readGenesisFile(file));
    expect(isKesError(e, 'GENESIS_INVALID')).toBe(true);
    expect(e.message.startsWith(`${file}: `)).toBe(true);
  });

  test('not UTF-8 → GENESIS_INVALID', () => {
    const file = writeTmp('latin1.json', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    const e = thrownBy(() => readGenesisFile(file));
    expect(isKesError(e, 'GENESIS_INVALID')).toBe(true);
    expect(e.message).toBe(`${file}: not UTF-8 text, expected a Shelley genesis JSON object`);
  });

  test('a file larger than MAX_GENESIS_FILE_BYTES is refused before reading it', () => {
    const file = path.join(dir, 'huge.json');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, MAX_GENESIS_FILE_BYTES + 1);
    const e = thrownBy(() => readGenesisFile(file));
    expect(isKesError(e, 'FILE_TOO_LARGE')).toBe(true);
    expect(e.message).toContain(`${MAX_GENESIS_FILE_BYTES}`);
    fs.rmSync(file);
  });

  test('missing file and directory → FILE_UNREADABLE naming the file', () => {
    const missing = path.join(dir, 'nope.json');
    const e1 = thrownBy(() => readGenesisFile(missing));
    expect(isKesError(e1, 'FILE_UNREADABLE')).toBe(true);
    expect(e1.message).toBe(`${missing}: no such file`);
    const e2 = thrownBy(() => readGenesisFile(dir));
    expect(isKesError(e2, 'FILE_UNREADABLE')).toBe(true);
    expect(e2.message.startsWith(`${dir}: `)).toBe(true);
  });
});

describe('systemStart parsing (strict ISO 8601 with a zone)', () => {
  test.each([
    ['2022-10-25T00:00:00Z', Date.UTC(2022, 9, 25)],
    ['2022-10-25T00:00Z', Date.UTC(2022, 9, 25)],
    ['2022-10-25T01:00:00+01:00', Date.UTC(2022, 9, 25)],
    ['2022-10-24T22:30:00-01:30', Date.UTC(2022, 9, 25)],
    ['2024-02-29T12:00:00Z', Date.UTC(2024, 1, 29, 12)],
    ['2022-10-25T00:00:00.5Z', Date.UTC(2022, 9, 25) + 500],
    // Below 1 ms rounds up: a late boundary delays an evolution, an early one erases a needed key.
    ['2022-10-25T00:00:00.123000Z', Date.UTC(2022, 9, 25) + 123],
    ['2022-10-25T00:00:00.123000001Z', Date.UTC(2022, 9, 25) + 124],
  ])('%s', (s, ms) => {
    expect(parseIsoUtcMs(s)).toBe(ms);
  });

  test.each(['2023-02-29T00:00:00Z', '2022-10-25T00:00:00+24:00', '2022-10-25 00:00:00Z', ' 2022-10-25T00:00:00Z', '2022-10-25T00:00:00.Z'])(
    'rejects %p',
    (s) => {
      expect(parseIsoUtcMs(s)).toBeUndefined();
    },
  );
});
