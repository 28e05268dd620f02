/**
 * An Agent on simulated time, with real keys and real opcerts.
 *
 * Time: xstate's SimulatedClock drives the `after` timers and `now()` = t0 + clock.now() + jump,
 * so both agree; `jump` moves the wall clock without firing timers (a suspended VM, an NTP step).
 * Keys: every key the agent generates is recorded in `keys` so tests can check `destroyed` and
 * that a staged key still signs. Opcerts are issued with a cold key derived from a fixed seed.
 */
import { SimulatedClock } from 'xstate';
import { loadSodium } from '../../src/crypto/sodium';
import { Agent } from '../../src/machine/agent';
import type { ActiveChange, AgentResult } from '../../src/machine/types';
import { commandRefusalText } from '../../src/protocol/refusal-text';
import { KesSignKey, verifyKes } from '../../src/crypto/kes';
import { issueOpcert, type Opcert } from '../../src/cardano/opcert';
import { ed25519PublicKey } from '../../src/crypto/ed25519';
import { type ChainTiming, parseGenesis, periodStartMs } from '../../src/time';
import { makeTestGenesis } from '../helpers/test-genesis';

export const COLD_SEED = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 1) & 0xff);
export const OTHER_COLD_SEED = Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 5) & 0xff);

export function coldVkOf(seed: Uint8Array): Uint8Array {
  return ed25519PublicKey(seed);
}

/** 2024-01-01T00:00:00Z */
export const TEST_SYSTEM_START_MS = Date.UTC(2024, 0, 1);

/** A private-testnet timing from a real Shelley-genesis text: 1 s slots, 10-slot (10 s) KES periods. */
export function testTiming(opts: { maxKESEvolutions?: number; systemStartMs?: number; slotsPerKESPeriod?: number } = {}): ChainTiming {
  return parseGenesis(
    makeTestGenesis({
      systemStart: new Date(opts.systemStartMs ?? TEST_SYSTEM_START_MS),
      slotLength: 1,
      slotsPerKESPeriod: opts.slotsPerKESPeriod ?? 10,
      maxKESEvolutions: opts.maxKESEvolutions ?? 6,
    }),
    'test-genesis.json',
  );
}

export function periodMs(timing: ChainTiming): number {
  return timing.slotLengthMs * timing.slotsPerKESPeriod;
}

export class Harness {
  readonly clock: SimulatedClock;
  readonly keys: KesSignKey[] = [];
  readonly changes: ActiveChange[] = [];
  readonly agent: Agent;
  /** Wall-clock offset that no timer has seen. */
  jump = 0;
  fatal: unknown[] = [];

  constructor(
    readonly timing: ChainTiming,
    readonly t0: number,
    opts: { coldVk?: Uint8Array; generateKey?: () => KesSignKey; clock?: SimulatedClock; onFatal?: (e: unknown) => void } = {},
  ) {
    this.clock = opts.clock ?? new SimulatedClock();
    this.agent = new Agent({
      timing,
      coldVk: opts.coldVk ?? coldVkOf(COLD_SEED),
      now: () => this.now(),
      generateKey:
        opts.generateKey ??
        (() => {
          const k = KesSignKey.generate();
          this.keys.push(k);
          return k;
        }),
      clock: this.clock,
      onFatal: (e) => {
        this.fatal.push(e);
        opts.onFatal?.(e);
      },
    });
    this.agent.onActiveChange((c) => this.changes.push(c));
    this.agent.start();
  }

  /** Start the harness `offsetMs` into absolute KES period `kp`. */
  static at(timing: ChainTiming, kp: number, offsetMs = 3_000, opts?: ConstructorParameters<typeof Harness>[2]): Harness {
    return new Harness(timing, periodStartMs(timing, kp) + offsetMs, opts);
  }

  now(): number {
    return this.t0 + this.clock.now() + this.jump;
  }

  /**
   * Advance simulated time (timers fire), never more than one KES period per call (xstate's SimulatedClock
   * fires a re-armed timer once per call).
   */
  advance(ms: number): void {
    const step = periodMs(this.timing);
    while (ms > 0) {
      const d = Math.min(ms, step);
      this.clock.increment(d);
      ms -= d;
    }
  }

  /** Advance to exactly the start of absolute period kp (timers fire on the way). */
  advanceTo(kp: number): void {
    this.advance(periodStartMs(this.timing, kp) - this.now());
  }

  kp(): number {
    return this.agent.status().currentKesPeriod;
  }

  opcert(hotVk: Uint8Array, counter: number, kesPeriod: number, coldSeed: Uint8Array = COLD_SEED): Opcert {
    return issueOpcert({ hotVk, counter, kesPeriod, coldSeed });
  }

  /** keygen + import + upload; returns the installed key object. */
  install(counter: number, kesPeriod: number): KesSignKey {
    const g = this.agent.keygen({ force: true });
    if (!g.ok) throw new Error(`keygen failed: ${g.code}`);
    const i = this.agent.importOpcert(this.opcert(g.value.kesVk, counter, kesPeriod));
    if (!i.ok) throw new Error(`import failed: ${i.code}`);
    const u = this.agent.upload();
    if (!u.ok) throw new Error(`upload failed: ${u.code}`);
    return this.lastKey();
  }

  lastKey(): KesSignKey {
    const k = this.keys[this.keys.length - 1];
    if (k === undefined) throw new Error('no key generated yet');
    return k;
  }

  /** Public view of both slots, for before/after comparisons. */
  slots(): unknown {
    const s = this.agent.status();
    return {
      staged: s.staged && {
        kesVk: Buffer.from(s.staged.kesVk).toString('hex'),
        opcert: s.staged.opcert && { ...s.staged.opcert, hotVk: [...s.staged.opcert.hotVk], sigma: [...s.staged.opcert.sigma], coldVk: [...s.staged.opcert.coldVk] },
      },
      active: s.active && {
        kesVk: Buffer.from(s.active.kesVk).toString('hex'),
        evolution: s.active.evolution,
        counter: s.active.opcert.counter,
        c0: s.active.opcert.kesPeriod,
        installedAtMs: s.active.installedAtMs,
      },
      activeKeyEvolution: this.agent.withActiveKey((k) => k.evolution) ?? null,
      expired: s.expired,
    };
  }

  stop(): void {
    this.agent.stop();
  }
}

/**
 * For a test file whose every test starts from a fresh agent at KES period `kp`: loads sodium
 * once, hands each test its own Harness through `use` before it runs, and stops it after.
 */
export function freshHarnessPerTest(timing: ChainTiming, kp: number, use: (h: Harness) => void): void {
  let current: Harness | undefined;
  beforeAll(async () => {
    await loadSodium();
  });
  beforeEach(() => {
    current = Harness.at(timing, kp);
    use(current);
  });
  afterEach(() => current?.stop());
}

const PROBE = new TextEncoder().encode('block header body');

/** Does `key` produce a signature that verifies under `vk` at evolution `t`? */
export function signsAt(key: KesSignKey, vk: Uint8Array, t: number): boolean {
  return verifyKes(vk, t, PROBE, key.sign(PROBE));
}

/** A command's value; a refusal fails the test with its text. */
export function ok<T>(r: AgentResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${commandRefusalText(r)}`);
  return r.value;
}

/** Expect the command refused with `code`; its text as the control protocol words it. */
export function refused<T>(r: AgentResult<T>, code: string): string {
  expect(r).toMatchObject({ ok: false, code });
  if (r.ok) throw new Error('unreachable');
  return commandRefusalText(r);
}
