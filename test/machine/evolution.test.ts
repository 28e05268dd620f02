/**
 * Evolution and expiry on simulated time (docs/kes-construction.md §7): the active key follows t = kp − c0,
 * evolving at each KES period boundary by its own timer, and is wiped at kp = c0 + maxKESEvolutions.
 *
 * Timers are driven one period at a time (xstate's SimulatedClock.increment fires a re-armed
 * timer only once per call); clock jumps are tested separately, on purpose.
 */
import { SimulatedClock } from 'xstate';
import { loadSodium } from '../../src/crypto/sodium';
import { bytesEqual } from '../../src/crypto/bytes';
import { MAX_TIMER_DELAY_MS, WALL_CLOCK_RECHECK_MS } from '../../src/machine/rules';
import { kesTimeAt, networkTiming, periodStartMs } from '../../src/time';
import { Harness, periodMs, signsAt, testTiming } from './harness';

const MAX = 6;
const timing = testTiming({ maxKESEvolutions: MAX });
const PERIOD = periodMs(timing);
const KP = 100;

beforeAll(async () => {
  await loadSodium();
});

let h: Harness;
afterEach(() => h.stop());

describe('evolution on time', () => {
  test('evolves exactly at each boundary, one period at a time, without anyone asking', () => {
    h = Harness.at(timing, KP);
    const key = h.install(1, KP);
    const vk = key.verificationKey();
    expect(key.evolution).toBe(0);
    for (let t = 1; t < MAX; t++) {
      // 1 ms before the boundary: still the previous evolution.
      h.advance(periodStartMs(timing, KP + t) - 1 - h.now());
      expect(key.evolution).toBe(t - 1);
      h.advance(1);
      expect(key.evolution).toBe(t); // the timer alone did it: no agent call in between
      expect(signsAt(key, vk, t)).toBe(true);
      expect(signsAt(key, vk, t - 1)).toBe(false);
    }
    expect(h.changes.map((c) => c.type)).toEqual(['installed', 'evolved', 'evolved', 'evolved', 'evolved', 'evolved']);
    expect(h.changes.filter((c) => c.type === 'evolved').map((c) => (c as { evolution: number }).evolution)).toEqual([1, 2, 3, 4, 5]);
    expect(h.agent.status().active).toMatchObject({ evolution: MAX - 1, periodsRemaining: 1 });
  });

  test('expires at exactly kp = c0 + maxKESEvolutions: key wiped, expiry recorded, listeners told', () => {
    h = Harness.at(timing, KP);
    const key = h.install(4, KP - MAX + 1); // last valid period is KP
    const vk = key.verificationKey();
    expect(key.evolution).toBe(MAX - 1);
    h.advance(periodStartMs(timing, KP + 1) - 1 - h.now());
    expect(key.destroyed).toBe(false);
    h.advance(1);
    expect(key.destroyed).toBe(true);
    expect(h.changes.at(-1)).toEqual({ type: 'dropped', seq: 2, reason: 'expired', timestampUs: BigInt(h.now()) * 1000n, source: null });
    const s = h.agent.status();
    expect(s.active).toBeNull();
    expect(s.expired).toEqual({ kesVk: vk, counter: 4, startKesPeriod: KP - MAX + 1, expiredAtMs: periodStartMs(timing, KP + 1) });
    expect(s.warnings).toContain(
      `the active key (opcert counter 4, start period ${KP - MAX + 1}) expired at ${new Date(periodStartMs(timing, KP + 1)).toISOString()}: the node cannot forge; upload a new key`,
    );
    expect(h.agent.withActiveKey(() => true)).toBeUndefined();
    // No timer is left behind: time passing changes nothing, nobody is told anything more.
    h.advance(3 * PERIOD);
    expect(h.changes).toHaveLength(2);
  });

  test('a new upload clears the expiry record; so does drop-active', () => {
    h = Harness.at(timing, KP);
    h.install(1, KP - MAX + 1);
    h.advanceTo(KP + 1);
    expect(h.agent.status().expired).not.toBeNull();
    expect(h.agent.dropActive()).toEqual({ ok: true, value: { hadKey: false } });
    expect(h.agent.status().expired).toBeNull();
    h.install(2, KP - MAX + 2);
    h.advanceTo(KP + 2);
    expect(h.agent.status().expired?.counter).toBe(2);
    h.install(3, KP + 2);
    expect(h.agent.status().expired).toBeNull();
  });

  test('mainnet timing: 129600-slot periods, maxKESEvolutions 62, ledger KES periods', () => {
    const mainnet = networkTiming('mainnet');
    const t0 = Date.UTC(2025, 5, 1, 12, 0, 0);
    const now = kesTimeAt(mainnet, t0);
    if (!now.started) throw new Error('mainnet has started');
    // The ledger's period: slot = 4492800 + (unix s − 1596059091), kp = slot div 129600 (docs/kes-construction.md §7).
    expect(now.kesPeriod).toBe(Math.floor((4_492_800 + (t0 / 1000 - 1_596_059_091)) / 129_600));
    h = new Harness(mainnet, t0);
    const c0 = now.kesPeriod - 60;
    const key = h.install(12, c0);
    expect(key.evolution).toBe(60);
    expect(signsAt(key, key.verificationKey(), 60)).toBe(true);
    const s = h.agent.status();
    expect(s).toMatchObject({ network: 'mainnet', slotsPerKesPeriod: 129_600, maxKesEvolutions: 62, currentKesPeriod: c0 + 60 });
    expect(s.active).toMatchObject({ evolution: 60, periodsRemaining: 2, expiresAtMs: periodStartMs(mainnet, c0 + 62) });
    expect(s.warnings.some((w) => w.startsWith('the active key expires in 2 KES period(s)'))).toBe(true);
    h.advanceTo(c0 + 61);
    expect(key.evolution).toBe(61);
    h.advance(periodStartMs(mainnet, c0 + 62) - 1 - h.now());
    expect(key.destroyed).toBe(false);
    h.advance(1);
    expect(key.destroyed).toBe(true); // 62 evolutions allowed, not 64 (docs/haskell-protocol.md §8.5 item 3)
    // Independently of periodStartMs: the current period's end plus one 1.5-day period.
    expect(h.agent.status().expired?.expiredAtMs).toBe(t0 + now.msToNextPeriod + 129_600 * 1000);
  });

  test('a future start period keeps the key at evolution 0 until c0, then evolves', () => {
    h = Harness.at(timing, KP);
    const key = h.install(1, KP + 2);
    const vk = key.verificationKey();
    let s = h.agent.status();
    expect(s.active).toMatchObject({ evolution: 0, periodsRemaining: MAX });
    expect(s.warnings).toContain(
      `the active key's opcert starts at KES period ${KP + 2} (current ${KP}): the node cannot forge until ${new Date(periodStartMs(timing, KP + 2)).toISOString()}`,
    );
    h.advanceTo(KP + 1);
    expect(key.evolution).toBe(0);
    h.advanceTo(KP + 2);
    expect(key.evolution).toBe(0);
    expect(signsAt(key, vk, 0)).toBe(true);
    h.advanceTo(KP + 3);
    expect(key.evolution).toBe(1);
    s = h.agent.status();
    expect(s.warnings.some((w) => w.includes('cannot forge until'))).toBe(false);
    expect(h.changes.map((c) => c.type)).toEqual(['installed', 'evolved']);
  });
});

describe('clock jumps', () => {
  test('one timer firing late by several periods catches up in one step', () => {
    h = Harness.at(timing, KP);
    const key = h.install(1, KP);
    h.clock.increment(3 * PERIOD + PERIOD / 2); // a single late firing (e.g. a suspended host)
    expect(key.evolution).toBe(3);
    expect(h.changes.at(-1)).toEqual({ type: 'evolved', seq: 2, evolution: 3 });
    // The next timer is armed for the real next boundary, not one period after the late firing.
    h.advance(periodStartMs(timing, KP + 4) - 1 - h.now());
    expect(key.evolution).toBe(3);
    h.advance(1);
    expect(key.evolution).toBe(4);
  });

  test('a timer that fires a little early re-arms for the real boundary instead of stalling', () => {
    // Real timers and Date.now() can disagree by a few ms; model a clock that fires 5 ms early.
    class EarlyClock extends SimulatedClock {
      override setTimeout(fn: (...a: any[]) => void, ms: number): number {
        return super.setTimeout(fn, Math.max(0, ms - 5));
      }
    }
    h = Harness.at(timing, KP, 3_000, { clock: new EarlyClock() });
    const key = h.install(1, KP);
    h.advance(periodStartMs(timing, KP + 1) - 3 - h.now()); // the early firing happened: too soon to evolve
    expect(key.evolution).toBe(0);
    h.advance(3);
    expect(key.evolution).toBe(1);
    h.advanceTo(KP + 2);
    expect(key.evolution).toBe(2);
  });

  test('a wall-clock jump no timer saw is applied before the next command or status', () => {
    h = Harness.at(timing, KP);
    const key = h.install(1, KP);
    h.jump = 2 * PERIOD;
    expect(key.evolution).toBe(0); // nothing fired yet
    expect(h.agent.status().active?.evolution).toBe(2);
    expect(key.evolution).toBe(2);
    // Re-armed from the jumped clock: the next boundary is hit exactly.
    h.advance(periodStartMs(timing, KP + 3) - 1 - h.now());
    expect(key.evolution).toBe(2);
    h.advance(1);
    expect(key.evolution).toBe(3);
  });

  test('a wall-clock jump with no command after it (a resumed host) is applied within WALL_CLOCK_RECHECK_MS', () => {
    const mainnet = networkTiming('mainnet');
    h = Harness.at(mainnet, 400);
    const key = h.install(1, 400);
    h.jump = 3 * periodMs(mainnet); // 36 h periods: the boundary timer alone would wait a day or more
    h.clock.increment(WALL_CLOCK_RECHECK_MS);
    expect(key.evolution).toBe(3);
    expect(h.changes.at(-1)).toMatchObject({ type: 'evolved', evolution: 3 });
  });

  test('withActiveKey also catches up first, so a node is never sent a stale evolution', () => {
    h = Harness.at(timing, KP);
    h.install(1, KP);
    h.jump = 4 * PERIOD;
    expect(h.agent.withActiveKey((k, info) => [k.evolution, info.evolution])).toEqual([4, 4]);
  });

  test('a jump past expiry expires the key at once, recording the real expiry boundary', () => {
    h = Harness.at(timing, KP);
    const key = h.install(1, KP);
    h.jump = 20 * PERIOD;
    const s = h.agent.status();
    expect(key.destroyed).toBe(true);
    expect(s.active).toBeNull();
    expect(s.expired?.expiredAtMs).toBe(periodStartMs(timing, KP + MAX));
    expect(h.changes.at(-1)).toMatchObject({ type: 'dropped', reason: 'expired' });
  });

  test('a jump past expiry before upload refuses the upload instead', () => {
    h = Harness.at(timing, KP);
    const vk = h.agent.keygen({ force: false });
    if (!vk.ok) throw new Error('keygen');
    expect(h.agent.importOpcert(h.opcert(vk.value.kesVk, 1, KP)).ok).toBe(true);
    h.jump = MAX * PERIOD;
    expect(h.agent.upload()).toMatchObject({ ok: false, code: 'OPCERT_EXPIRED' });
    expect(h.lastKey().destroyed).toBe(false);
  });

  test('the wall clock stepping backwards never un-evolves or breaks the key', () => {
    h = Harness.at(timing, KP);
    const key = h.install(1, KP);
    h.advanceTo(KP + 2);
    expect(key.evolution).toBe(2);
    h.jump = -2 * PERIOD;
    expect(h.agent.status()).toMatchObject({ currentKesPeriod: KP, active: { evolution: 2 } });
    expect(signsAt(key, key.verificationKey(), 2)).toBe(true);
    h.jump = 0;
    h.advanceTo(KP + 3);
    expect(key.evolution).toBe(3);
  });
});

describe('the clock stepping back across a boundary', () => {
  const iso = (kp: number): string => new Date(periodStartMs(timing, kp)).toISOString();
  /** Status warnings about the clock (a 6-period opcert also carries its expiry warning). */
  const clockWarnings = (): string[] => h.agent.status().warnings.filter((w) => w.startsWith('the clock went back'));

  test('status warns that the key is evolved past the current period until the clock catches up', () => {
    h = Harness.at(timing, KP);
    const key = h.install(1, KP);
    h.advanceTo(KP + 2);
    expect(key.evolution).toBe(2);
    expect(clockWarnings()).toEqual([]);
    h.jump = -1_000; // an NTP step back over the KP+2 boundary
    expect(h.agent.status()).toMatchObject({ currentKesPeriod: KP + 1, active: { evolution: 2 } });
    expect(clockWarnings()).toEqual([
      `the clock went back: the active key is at evolution 2 but KES period ${KP + 1} needs evolution 1; nodes cannot sign until period ${KP + 2} starts at ${iso(KP + 2)}: check the host clock`,
    ]);
    expect(key.evolution).toBe(2); // never back: evolution 1 is gone
    h.advance(1_000); // the clock reaches KP+2 again
    expect(clockWarnings()).toEqual([]);
    h.advanceTo(KP + 3);
    expect(key.evolution).toBe(3);
  });

  test('back to before the opcert start: the key needs evolution 0, and the future start is also said', () => {
    h = Harness.at(timing, KP);
    h.install(1, KP);
    h.advanceTo(KP + 1);
    h.jump = -PERIOD - 1_000;
    const s = h.agent.status();
    expect(s).toMatchObject({ currentKesPeriod: KP - 1, active: { evolution: 1 } });
    expect(s.warnings).toContain(
      `the clock went back: the active key is at evolution 1 but KES period ${KP - 1} needs evolution 0; nodes cannot sign until period ${KP + 1} starts at ${iso(KP + 1)}: check the host clock`,
    );
    expect(s.warnings.some((w) => w.startsWith(`the active key's opcert starts at KES period ${KP} (current ${KP - 1})`))).toBe(true);
  });
});

describe('before the chain starts', () => {
  const START = Date.UTC(2030, 0, 1);
  const future = testTiming({ systemStartMs: START, maxKESEvolutions: MAX });

  test('status, import and upload work; the key waits at evolution 0 and evolves after the start', () => {
    h = new Harness(future, START - 25_000);
    let s = h.agent.status();
    expect(s).toMatchObject({ chainStarted: false, currentKesPeriod: 0, currentSlot: 0, periodStartMs: 0, nextPeriodMs: START });
    expect(s.warnings).toContain(`the chain (genesis:test-genesis.json) has not started: KES periods begin at ${new Date(START).toISOString()}`);
    const g = h.agent.keygen({ force: false });
    if (!g.ok) throw new Error('keygen');
    expect(h.agent.importOpcert(h.opcert(g.value.kesVk, 0, 0))).toEqual({
      ok: true,
      value: { kesVk: g.value.kesVk, counter: 0, startKesPeriod: 0, currentKesPeriod: 0, startsInFuture: true, counterFloor: null },
    });
    expect(h.agent.upload()).toMatchObject({ ok: true, value: { evolution: 0 } });
    const key = h.lastKey();
    s = h.agent.status();
    expect(s.active).toMatchObject({ evolution: 0, periodsRemaining: MAX });
    h.advance(START - h.now());
    expect(key.evolution).toBe(0);
    expect(h.agent.status()).toMatchObject({ chainStarted: true, currentKesPeriod: 0, currentSlot: 0 });
    h.advance(PERIOD);
    expect(key.evolution).toBe(1);
  });

  test('a start further away than setTimeout can wait is reached in capped hops', () => {
    class RecordingClock extends SimulatedClock {
      readonly delays: number[] = [];
      override setTimeout(fn: (...a: any[]) => void, ms: number): number {
        this.delays.push(ms);
        return super.setTimeout(fn, ms);
      }
    }
    const clock = new RecordingClock();
    const t0 = START - 40 * 24 * 3600 * 1000; // 40 days ≫ 2^31 − 1 ms (24.8 days)
    h = new Harness(future, t0, { clock });
    const key = h.install(0, 0);
    expect(Math.max(...clock.delays)).toBe(WALL_CLOCK_RECHECK_MS);
    clock.increment(WALL_CLOCK_RECHECK_MS); // first hop: nothing to do yet, re-armed
    expect(key.evolution).toBe(0);
    h.advance(START - h.now()); // the chain starts
    expect(key.evolution).toBe(0);
    h.advance(PERIOD);
    expect(key.evolution).toBe(1);
    expect(clock.delays.every((d) => d >= 1 && d <= WALL_CLOCK_RECHECK_MS && d <= MAX_TIMER_DELAY_MS)).toBe(true);
  });
});

test('after stop() no timer touches anything', () => {
  h = Harness.at(timing, KP);
  const key = h.install(1, KP);
  h.stop();
  expect(key.destroyed).toBe(true);
  expect(() => h.advance(3 * PERIOD)).not.toThrow();
  expect(h.changes.map((c) => c.type)).toEqual(['installed']);
});

test('installing a replacement re-arms from the new state (no duplicate timers)', () => {
  h = Harness.at(timing, KP);
  const first = h.install(1, KP);
  const second = h.install(2, KP - 1);
  expect(first.destroyed).toBe(true);
  expect(bytesEqual(second.verificationKey(), h.agent.status().active!.kesVk)).toBe(true);
  h.advanceTo(KP + 1);
  expect(second.evolution).toBe(2);
  expect(h.changes.filter((c) => c.type === 'evolved')).toHaveLength(1);
});
