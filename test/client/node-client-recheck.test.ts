/**
 * A node re-checks the wall clock at least every WALL_CLOCK_RECHECK_MS, as the agent does
 * (src/machine/rules.ts). Timers run on the monotonic clock: after a wall-clock step (NTP, a
 * resumed VM, libfaketime) the boundary timer is still far off while the period has already
 * moved on, and a node that only trusted that timer kept the old evolution (the seed that can
 * sign the past period) in memory until it fired, up to a whole period later.
 *
 * The wall clock is the client's injected `now`; the monotonic clock is jest's fake setTimeout,
 * the only API faked here, so the scripted agent's socket I/O stays real. That is what makes
 * "the wall clock jumped, and no timer was due" reproducible without waiting 60 real seconds.
 */
import { KesNodeClient, type KesNodeClientEvents } from '../../src/client';
import { verifyKes } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { WALL_CLOCK_RECHECK_MS } from '../../src/machine/rules';
import { FakeAgent, makeBundle, timingAtPeriod, type TestBundle } from '../helpers/fake-agent';

const MSG = new TextEncoder().encode('block header body');
const KP = 100;

beforeAll(async () => {
  await loadSodium();
});

afterEach(() => {
  jest.useRealTimers();
});

/** Fake only the timers the client arms; Date, setImmediate, nextTick and I/O stay real. */
function fakeMonotonicTimers(): void {
  jest.useFakeTimers({
    doNotFake: [
      'Date',
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
    ],
  });
}

describe('KesNodeClient: wall-clock re-check', () => {
  it('a wall-clock step past a boundary, with no boundary timer due, evolves the key within one WALL_CLOCK_RECHECK_MS', async () => {
    fakeMonotonicTimers();
    // 1-h periods, the clock mid-period: the boundary timer is 30 min off when the key arrives.
    const timing = timingAtPeriod({ kesPeriod: KP });
    const periodMs = timing.slotLengthMs * timing.slotsPerKESPeriod;
    const agent = await FakeAgent.start();
    const b: TestBundle = makeBundle({ coldFill: 9, kesFill: 51, counter: 1, kesPeriod: KP });
    let wall = Date.now();
    const c = new KesNodeClient({ socketPath: agent.socketPath, timing, now: () => wall });
    const confirmed = new Promise<number>((resolve, reject) => {
      agent.script = async (conn) => {
        try {
          await conn.handshake();
          await conn.sendKey(1, b);
          resolve((await conn.expectConfirm(1)).result);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        // The connection stays open: the node must evolve on its own, not because of a push.
        await new Promise<void>((r) => conn.framed.socket.once('close', () => r()));
      };
    });
    try {
      const evolved: KesNodeClientEvents['evolved'][] = [];
      c.on('evolved', (e) => evolved.push(e));
      c.start();
      expect(await confirmed).toBe(0);
      expect(c.keyInfo()!.evolution).toBe(0);

      wall += periodMs; // the wall clock steps into period KP + 1; the monotonic clock does not move
      jest.advanceTimersByTime(WALL_CLOCK_RECHECK_MS - 1);
      expect(evolved).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(evolved).toEqual([{ evolution: 1, kesPeriod: KP + 1 }]);
      // The old evolution is gone from memory now, not at the next sign() or at the boundary timer.
      expect(c.keyInfo()!.evolution).toBe(1);

      // And the re-check keeps going: a second step of two periods is caught by the next one.
      wall += 2 * periodMs;
      jest.advanceTimersByTime(WALL_CLOCK_RECHECK_MS);
      expect(evolved).toEqual([
        { evolution: 1, kesPeriod: KP + 1 },
        { evolution: 3, kesPeriod: KP + 3 },
      ]);

      const s = c.sign(MSG);
      expect(s).toMatchObject({ kesPeriod: KP + 3, evolution: 3 });
      expect(verifyKes(b.opcert.hotVk, 3, MSG, s.signature)).toBe(true);
      expect(evolved).toHaveLength(2); // sign() had nothing left to evolve
    } finally {
      await c.stop();
      b.key.destroy();
      jest.useRealTimers();
      await agent.dispose();
    }
    expect(agent.scriptErrors).toEqual([]);
  });
});
