import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isKesError, type ErrorCode } from '../../src/errors';
import {
  parseGenesis,
  readGenesisFile,
  makeTestGenesis,
  byronPresetMatching,
  networkTiming,
  currentKesPeriodAt,
  kesTimeAt,
  MAX_GENESIS_FILE_BYTES,
} from '../../src/time';
import { parseIsoUtcMs } from '../../src/time/genesis';
import { vectorPath } from '../helpers/vectors';

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

function caught(f: () => unknown): Error & { code?: ErrorCode } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: ErrorCode };
  }
  throw new Error('expected a throw');
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

  test('so its periods differ from the mainnet preset: operators must use the preset, and we can tell them', () => {
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
    const e = caught(() => readGenesisFile(file));
    expect(isKesError(e, 'GENESIS_INVALID')).toBe(true);
    expect(e.message.startsWith(`${file}: ${field}: `)).toBe(true);
    expect(e.message).toMatch(value === MISSING ? /missing, expected / : /expected .*, got /);
    expect(e.message).not.toContain('\n');
  });

  test('slotLength written as 1e400 (JSON for Infinity) is refused', () => {
    const text = JSON.stringify(base).replace('"slotLength":1', '"slotLength":1e400');
    expect(text).toContain('1e400');
    const e = caught(() => parseGenesis(text, 'inf.json'));
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
    const e = caught(() => readGenesisFile(file));
    expect(isKesError(e, 'GENESIS_INVALID')).toBe(true);
    expect(e.message.startsWith(`${file}: `)).toBe(true);
  });

  test('not UTF-8 → GENESIS_INVALID', () => {
    const file = writeTmp('latin1.json', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    const e = caught(() => readGenesisFile(file));
    expect(isKesError(e, 'GENESIS_INVALID')).toBe(true);
    expect(e.message).toBe(`${file}: not UTF-8 text, expected a Shelley genesis JSON object`);
  });

  test('a file larger than MAX_GENESIS_FILE_BYTES is refused before reading it', () => {
    const file = path.join(dir, 'huge.json');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, MAX_GENESIS_FILE_BYTES + 1);
    const e = caught(() => readGenesisFile(file));
    expect(isKesError(e, 'FILE_TOO_LARGE')).toBe(true);
    expect(e.message).toContain(`${MAX_GENESIS_FILE_BYTES}`);
    fs.rmSync(file);
  });

  test('missing file and directory → FILE_UNREADABLE naming the file', () => {
    const missing = path.join(dir, 'nope.json');
    const e1 = caught(() => readGenesisFile(missing));
    expect(isKesError(e1, 'FILE_UNREADABLE')).toBe(true);
    expect(e1.message).toBe(`${missing}: no such file`);
    const e2 = caught(() => readGenesisFile(dir));
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
