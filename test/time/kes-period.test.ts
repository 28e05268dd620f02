import { isKesError } from '../../src/errors';
import {
  type ChainTiming,
  makeChainTiming,
  parseGenesis,
  networkTiming,
  slotAt,
  kesPeriodOfSlot,
  kesTimeAt,
  periodStartMs,
  currentKesPeriodAt,
  opcertStanding,
} from '../../src/time';
import { readVectorJson } from '../helpers/vectors';
import { makeTestGenesis } from '../helpers/test-genesis';

const T0 = Date.parse('2030-01-01T00:00:00Z');

function testnet(slotLength: number, slotsPerKESPeriod: number, startMs = T0): ChainTiming {
  return parseGenesis(
    makeTestGenesis({ systemStart: new Date(startMs), slotLength, slotsPerKESPeriod, maxKESEvolutions: 62 }),
    'test-genesis.json',
  );
}

describe('kesPeriodOfSlot against 45 real block headers (vectors/chain-headers.json)', () => {
  interface Header {
    source: string;
    slot: number;
    slotsPerKESPeriod: number;
    ocert_kes_period: number;
    relative_period_t: number;
  }
  const { headers } = readVectorJson<{ headers: Header[] }>('chain-headers.json');

  test('there are 45 headers', () => {
    expect(headers).toHaveLength(45);
  });

  test.each(headers.map((h) => [h.source, h] as const))('%s: t = floor(slot / spkp) − c0 and the opcert is valid', (_s, h) => {
    const timing = makeChainTiming({ ...networkTiming('mainnet'), name: 'header', slotsPerKESPeriod: h.slotsPerKESPeriod });
    const kp = kesPeriodOfSlot(timing, h.slot);
    expect(kp - h.ocert_kes_period).toBe(h.relative_period_t);
    expect(opcertStanding(timing, h.ocert_kes_period, kp)).toEqual({
      kind: 'valid',
      evolution: h.relative_period_t,
      periodsRemaining: 62 - h.relative_period_t,
    });
  });
});

describe('boundaries at ms precision', () => {
  test.each([
    [1, 3],
    [0.5, 3],
    [0.2, 5],
    [0.1, 7],
    [2, 1],
  ])('slotLength %p s, slotsPerKESPeriod %p: every ms of the first 5 periods', (slotLength, spkp) => {
    const t = testnet(slotLength, spkp);
    const periodMs = slotLength * 1000 * spkp;
    // Plain comparisons, one expect: 40k jest matchers would make this slow for no extra insight.
    const wrong: number[] = [];
    for (let off = 0; off < 5 * periodMs; off++) {
      const k = kesTimeAt(t, T0 + off);
      const kp = Math.floor(off / periodMs);
      const ok =
        k.started &&
        k.slot === Math.floor(off / (slotLength * 1000)) &&
        k.kesPeriod === kp &&
        k.periodStartMs === T0 + kp * periodMs &&
        k.periodEndMs === T0 + (kp + 1) * periodMs &&
        k.msToNextPeriod === k.periodEndMs - (T0 + off) &&
        k.msToNextPeriod >= 1;
      if (!ok) wrong.push(off);
    }
    expect(wrong).toEqual([]);
  });

  test('last ms of period 0, first ms of period 1 (slotLength 1, slotsPerKESPeriod 3)', () => {
    const t = testnet(1, 3);
    expect(kesTimeAt(t, T0 + 2999)).toEqual({
      started: true,
      slot: 2,
      kesPeriod: 0,
      periodStartMs: T0,
      periodEndMs: T0 + 3000,
      msToNextPeriod: 1,
    });
    expect(kesTimeAt(t, T0 + 3000)).toEqual({
      started: true,
      slot: 3,
      kesPeriod: 1,
      periodStartMs: T0 + 3000,
      periodEndMs: T0 + 6000,
      msToNextPeriod: 3000,
    });
    expect(periodStartMs(t, 1)).toBe(T0 + 3000);
  });

  test('periodStartMs(kp) ≤ now < periodStartMs(kp+1) on mainnet around many boundaries', () => {
    const m = networkTiming('mainnet');
    for (let kp = 35; kp < 3000; kp += 37) {
      const start = periodStartMs(m, kp);
      expect(kesTimeAt(m, start)).toMatchObject({ kesPeriod: kp, slot: kp * 129_600, msToNextPeriod: 129_600_000 });
      expect(kesTimeAt(m, start - 1)).toMatchObject({ kesPeriod: kp - 1, msToNextPeriod: 1 });
    }
  });
});

describe('chain not started', () => {
  const t = testnet(1, 3);

  test('before systemStart: a clear state with the start time, never a negative period', () => {
    expect(slotAt(t, T0 - 1)).toBeUndefined();
    expect(kesTimeAt(t, T0 - 5000)).toEqual({ started: false, startsAtMs: T0, msUntilStart: 5000 });
    expect(kesTimeAt(t, T0 - 1)).toEqual({ started: false, startsAtMs: T0, msUntilStart: 1 });
    expect(kesTimeAt(t, T0)).toMatchObject({ started: true, slot: 0, kesPeriod: 0, periodStartMs: T0 });
  });

  test('far before the start (unix 0) is still just "not started"', () => {
    expect(kesTimeAt(t, 0)).toEqual({ started: false, startsAtMs: T0, msUntilStart: T0 });
  });

  test('currentKesPeriodAt throws CHAIN_NOT_STARTED with the start instant', () => {
    let err: unknown;
    try {
      currentKesPeriodAt(t, T0 - 90_500);
    } catch (e) {
      err = e;
    }
    expect(isKesError(err, 'CHAIN_NOT_STARTED')).toBe(true);
    expect((err as Error).message).toBe(
      'genesis:test-genesis.json: the chain starts at 2030-01-01T00:00:00.000Z (in 91 s); there is no KES period yet',
    );
    expect(currentKesPeriodAt(t, T0 + 3000)).toBe(1);
  });
});

describe('argument checks', () => {
  const m = networkTiming('mainnet');

  test.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [2 ** 53]])('kesPeriodOfSlot(%p) → INVALID_ARGUMENT', (slot) => {
    expect(() => kesPeriodOfSlot(m, slot)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test.each([[Number.NaN], [1.5], [Number.POSITIVE_INFINITY]])('kesTimeAt(%p) → INVALID_ARGUMENT', (now) => {
    expect(() => kesTimeAt(m, now)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('periodStartMs: negative → INVALID_ARGUMENT, absurdly far → OUT_OF_RANGE (never NaN or an inexact number)', () => {
    expect(() => periodStartMs(m, -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => periodStartMs(m, 2 ** 40)).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
  });

  test('makeChainTiming refuses timings the arithmetic cannot handle', () => {
    const good = networkTiming('preview');
    const bad: Partial<ChainTiming>[] = [
      { slotLengthMs: 0 },
      { slotLengthMs: 0.5 },
      { slotsPerKESPeriod: 0 },
      { maxKESEvolutions: 65 },
      { shelleyStartSlot: -1 },
      { shelleyStartMs: good.systemStartMs - 1 },
      { systemStartMs: Number.NaN },
    ];
    for (const b of bad) {
      expect(() => makeChainTiming({ ...good, ...b })).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
    }
  });
});
