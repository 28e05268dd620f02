/** Capped exponential reconnect backoff: the schedule, the cap, the reset, and refused settings. */
import { Backoff, DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS, MIN_BACKOFF_MS } from '../../src/client/backoff';
import { isKesError } from '../../src/errors';

describe('Backoff', () => {
  it('defaults to 100 ms doubling up to 10 s', () => {
    const b = new Backoff();
    const delays = Array.from({ length: 10 }, () => b.next());
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]);
    expect(b.initialMs).toBe(DEFAULT_BACKOFF_INITIAL_MS);
    expect(b.maxMs).toBe(DEFAULT_BACKOFF_MAX_MS);
    expect(b.failures).toBe(10);
  });

  it('caps at maxMs even when it is not a power-of-two multiple of initialMs', () => {
    const b = new Backoff({ initialMs: 30, maxMs: 100 });
    expect(Array.from({ length: 5 }, () => b.next())).toEqual([30, 60, 100, 100, 100]);
  });

  it('stays finite and capped after a very long outage', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 50 });
    let last = 0;
    for (let i = 0; i < 5000; i++) last = b.next();
    expect(last).toBe(50);
  });

  it('starts again at initialMs after reset()', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 80 });
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.failures).toBe(0);
    expect([b.next(), b.next()]).toEqual([10, 20]);
  });

  it('raises maxMs to initialMs when only initialMs is given above the default max', () => {
    const b = new Backoff({ initialMs: 20_000 });
    expect([b.next(), b.next()]).toEqual([20_000, 20_000]);
  });

  it.each([
    [{ initialMs: 0 }],
    [{ initialMs: MIN_BACKOFF_MS - 1 }],
    [{ initialMs: 1.5 }],
    [{ initialMs: 100, maxMs: 50 }],
    [{ maxMs: 4_000_000 }],
    [{ initialMs: Number.NaN }],
  ])('refuses %j (never a tight loop, never an unbounded wait)', (opts) => {
    let err: unknown;
    try {
      new Backoff(opts);
    } catch (e) {
      err = e;
    }
    expect(isKesError(err, 'OUT_OF_RANGE')).toBe(true);
  });
});
