import { isKesError } from '../../src/errors';
import {
  NETWORK_NAMES,
  DEFAULT_NETWORK,
  BYRON_SLOT_LENGTH_MS,
  networkTiming,
  slotAt,
  kesTimeAt,
  currentKesPeriodAt,
  periodStartMs,
} from '../../src/time';

const unixMs = (iso: string): number => Date.parse(iso);

describe('network presets (docs/kes-construction.md §7)', () => {
  test('names and default', () => {
    expect(NETWORK_NAMES).toEqual(['mainnet', 'preprod', 'preview']);
    expect(DEFAULT_NETWORK).toBe('mainnet');
  });

  test('mainnet: Shelley hard fork at slot 4492800 = unix 1596059091, systemStart is the Byron genesis start', () => {
    const t = networkTiming('mainnet');
    expect(t).toEqual({
      name: 'mainnet',
      systemStartMs: 1_506_203_091_000, // 2017-09-23T21:44:51Z, the Shelley genesis systemStart too
      shelleyStartMs: 1_596_059_091_000,
      shelleyStartSlot: 4_492_800,
      slotLengthMs: 1000,
      slotsPerKESPeriod: 129_600,
      maxKESEvolutions: 62,
    });
    expect(t.systemStartMs).toBe(unixMs('2017-09-23T21:44:51Z'));
    expect(Object.isFrozen(t)).toBe(true);
  });

  test('preprod: 4 Byron epochs (86400 slots of 20 s), Shelley at 2022-06-21T00:00:00Z', () => {
    const t = networkTiming('preprod');
    expect(t.shelleyStartSlot).toBe(86_400);
    expect(t.shelleyStartMs).toBe(unixMs('2022-06-21T00:00:00Z'));
    expect(t.systemStartMs).toBe(unixMs('2022-06-01T00:00:00Z'));
    expect(t.shelleyStartMs - t.systemStartMs).toBe(86_400 * BYRON_SLOT_LENGTH_MS);
    expect([t.slotLengthMs, t.slotsPerKESPeriod, t.maxKESEvolutions]).toEqual([1000, 129_600, 62]);
  });

  test('preview: no Byron, slot 0 at 2022-10-25T00:00:00Z', () => {
    const t = networkTiming('preview');
    expect(t.shelleyStartSlot).toBe(0);
    expect(t.systemStartMs).toBe(unixMs('2022-10-25T00:00:00Z'));
    expect(t.shelleyStartMs).toBe(t.systemStartMs);
    expect([t.slotLengthMs, t.slotsPerKESPeriod, t.maxKESEvolutions]).toEqual([1000, 129_600, 62]);
    expect(slotAt(t, unixMs('2022-10-26T00:00:00Z'))).toBe(86_400);
  });

  test.each([
    ['x', 'x'],
    ['case matters', 'Mainnet'],
    ['empty', ''],
    ['retired testnet', 'testnet'],
    ['500 chars (message stays short)', 'a'.repeat(500)],
  ])('unknown network: %s → NETWORK_UNKNOWN', (_label, name) => {
    let err: unknown;
    try {
      networkTiming(name);
    } catch (e) {
      err = e;
    }
    expect(isKesError(err, 'NETWORK_UNKNOWN')).toBe(true);
    expect((err as Error).message).toMatch(/^unknown network ".*": expected mainnet, preprod or preview$/);
    expect((err as Error).message.length).toBeLessThan(120);
  });

  test('exact message for an unknown network', () => {
    expect(() => networkTiming('x')).toThrow('unknown network "x": expected mainnet, preprod or preview');
  });
});

describe('mainnet slots and periods through the era history', () => {
  const mainnet = networkTiming('mainnet');

  test('unix 1596059091 is slot 4492800 (first Shelley slot), in KES period 34', () => {
    const t = kesTimeAt(mainnet, 1_596_059_091_000);
    expect(t).toMatchObject({ started: true, slot: 4_492_800, kesPeriod: 34 });
    expect(slotAt(mainnet, 1_596_059_091_999)).toBe(4_492_800);
    expect(slotAt(mainnet, 1_596_059_092_000)).toBe(4_492_801);
  });

  test('2023-08-21 is ledger period 779, NOT the 1438 of the naive Haskell formula (docs/kes-construction.md §7)', () => {
    const now = unixMs('2023-08-21T00:00:00Z');
    const kp = currentKesPeriodAt(mainnet, now);
    expect(kp).toBe(779);
    // The naive formula, written out, to show what we are not doing.
    const naive = Math.floor((now - mainnet.systemStartMs) / (1000 * 129_600));
    expect(naive).toBe(1438);
    expect(kp).not.toBe(1438);
  });

  test('2026-07-30 is ledger period 1495 (Haskell agent: 2154, docs/kes-construction.md §7.4)', () => {
    expect(currentKesPeriodAt(mainnet, unixMs('2026-07-30T00:00:00Z'))).toBe(1495);
  });

  test('the period right now is plausible (between 1000 and 2000 for 2024..2027)', () => {
    const t = kesTimeAt(mainnet, Date.now());
    if (!t.started) throw new Error('mainnet reported as not started');
    expect(t.kesPeriod).toBeGreaterThan(1000);
    expect(t.kesPeriod).toBeLessThan(2000);
    expect(t.periodStartMs).toBeLessThanOrEqual(Date.now());
  });

  test('period 1000 begins at the exact ms of slot 129600000', () => {
    const start = periodStartMs(mainnet, 1000);
    expect(start).toBe(1_596_059_091_000 + (129_600_000 - 4_492_800) * 1000);
    expect(kesTimeAt(mainnet, start - 1)).toMatchObject({ kesPeriod: 999, msToNextPeriod: 1 });
    expect(kesTimeAt(mainnet, start)).toMatchObject({ kesPeriod: 1000, slot: 129_600_000, periodStartMs: start });
  });

  test('Byron time is not KES time: before the hard fork mainnet reports not started', () => {
    const now = unixMs('2019-01-01T00:00:00Z');
    expect(slotAt(mainnet, now)).toBeUndefined();
    expect(kesTimeAt(mainnet, now)).toEqual({
      started: false,
      startsAtMs: 1_596_059_091_000,
      msUntilStart: 1_596_059_091_000 - now,
    });
  });

  test('the first Shelley period started (linearly extrapolated) inside Byron, and is still finite', () => {
    // Period 34 = slots 4406400..4535999; slots before 4492800 were Byron slots. See periodStartMs docs.
    const t = kesTimeAt(mainnet, 1_596_059_091_000);
    if (!t.started) throw new Error('unreachable');
    expect(t.periodStartMs).toBe(1_596_059_091_000 - 86_400_000);
    expect(t.periodEndMs).toBe(1_596_059_091_000 + 43_200_000);
    expect(periodStartMs(mainnet, 0)).toBe(1_596_059_091_000 - 4_492_800_000);
    expect(Number.isSafeInteger(periodStartMs(mainnet, 0))).toBe(true);
  });

  test('preprod 2024-01-01 uses the Byron offset of 86400 slots', () => {
    const preprod = networkTiming('preprod');
    const now = unixMs('2024-01-01T00:00:00Z');
    const slot = 86_400 + (now - unixMs('2022-06-21T00:00:00Z')) / 1000;
    expect(slotAt(preprod, now)).toBe(slot);
    expect(currentKesPeriodAt(preprod, now)).toBe(Math.floor(slot / 129_600));
  });
});
