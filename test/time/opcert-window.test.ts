import { parseGenesis, networkTiming, opcertWindow, opcertStanding, periodStartMs, kesTimeAt } from '../../src/time';
import { makeTestGenesis } from '../helpers/test-genesis';

const mainnet = networkTiming('mainnet');

describe('opcertWindow (ledger rule c0 ≤ kp < c0 + maxKESEvolutions, docs/kes-construction.md §7)', () => {
  test('mainnet: 62 evolutions = 93 days; expiry at the start of period c0 + 62', () => {
    const w = opcertWindow(mainnet, 1430);
    expect(w).toEqual({ startPeriod: 1430, endPeriod: 1492, expiresAtMs: periodStartMs(mainnet, 1492) });
    expect(w.expiresAtMs - periodStartMs(mainnet, 1430)).toBe(62 * 129_600 * 1000);
    expect(w.expiresAtMs - periodStartMs(mainnet, 1430)).toBe(93 * 24 * 3600 * 1000);
    // cardano-cli's expiry slot: (c0 + maxKESEvolutions) · slotsPerKESPeriod.
    expect(kesTimeAt(mainnet, w.expiresAtMs)).toMatchObject({ slot: 1492 * 129_600, kesPeriod: 1492 });
  });

  test('c0 = 0 on a testnet with a 3-second period', () => {
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    const t = parseGenesis(makeTestGenesis({ systemStart: new Date(t0), slotLength: 1, slotsPerKESPeriod: 3, maxKESEvolutions: 62 }), 'g.json');
    expect(opcertWindow(t, 0)).toEqual({ startPeriod: 0, endPeriod: 62, expiresAtMs: t0 + 62 * 3000 });
  });

  test('maxKESEvolutions comes from the timing (64 allowed, the Sum6 maximum)', () => {
    const t = parseGenesis(makeTestGenesis({ systemStart: new Date(0), slotLength: 1, slotsPerKESPeriod: 10, maxKESEvolutions: 64 }), 'g.json');
    expect(opcertWindow(t, 5).endPeriod).toBe(69);
  });

  test.each([[-1], [0.5], [Number.NaN]])('startKesPeriod %p → INVALID_ARGUMENT', (c0) => {
    expect(() => opcertWindow(mainnet, c0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('opcertStanding transitions', () => {
  const c0 = 800;

  test.each([
    [c0 - 5, { kind: 'not-yet-valid', periodsUntilStart: 5 }],
    [c0 - 1, { kind: 'not-yet-valid', periodsUntilStart: 1 }],
    [c0, { kind: 'valid', evolution: 0, periodsRemaining: 62 }],
    [c0 + 1, { kind: 'valid', evolution: 1, periodsRemaining: 61 }],
    [c0 + 61, { kind: 'valid', evolution: 61, periodsRemaining: 1 }],
    [c0 + 62, { kind: 'expired', periodsSinceExpiry: 0 }],
    [c0 + 63, { kind: 'expired', periodsSinceExpiry: 1 }],
  ])('c0 = 800, kp = %p', (kp, expected) => {
    expect(opcertStanding(mainnet, c0, kp)).toEqual(expected);
  });

  test('c0 = 0, kp = 0 is valid at evolution 0', () => {
    expect(opcertStanding(mainnet, 0, 0)).toEqual({ kind: 'valid', evolution: 0, periodsRemaining: 62 });
  });

  test('the Haskell fixture opcert (c0 1430, made in Aug 2023 with the naive formula) was not yet valid on mainnet then', () => {
    const kp = kesTimeAt(mainnet, Date.parse('2023-08-21T00:00:00Z'));
    if (!kp.started) throw new Error('unreachable');
    expect(opcertStanding(mainnet, 1430, kp.kesPeriod)).toEqual({ kind: 'not-yet-valid', periodsUntilStart: 1430 - 779 });
  });

  test('walking the wall clock across the window of a testnet opcert', () => {
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    const t = parseGenesis(makeTestGenesis({ systemStart: new Date(t0), slotLength: 0.5, slotsPerKESPeriod: 3, maxKESEvolutions: 4 }), 'g.json');
    const c0 = 2;
    const w = opcertWindow(t, c0);
    const standingAt = (ms: number) => {
      const k = kesTimeAt(t, ms);
      if (!k.started) throw new Error('unreachable');
      return opcertStanding(t, c0, k.kesPeriod);
    };
    expect(standingAt(periodStartMs(t, c0) - 1)).toEqual({ kind: 'not-yet-valid', periodsUntilStart: 1 });
    expect(standingAt(periodStartMs(t, c0))).toEqual({ kind: 'valid', evolution: 0, periodsRemaining: 4 });
    expect(standingAt(w.expiresAtMs - 1)).toEqual({ kind: 'valid', evolution: 3, periodsRemaining: 1 });
    expect(standingAt(w.expiresAtMs)).toEqual({ kind: 'expired', periodsSinceExpiry: 0 });
    expect(w.expiresAtMs).toBe(t0 + (c0 + 4) * 1500);
  });
});
