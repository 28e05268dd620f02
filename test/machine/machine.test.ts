/**
 * The machine itself: what its context may contain, pure transitions for refusals, every command
 * answered in every state, failing closed, and status warnings.
 */
import { inspect } from 'node:util';
import { createActor, initialTransition, SimulatedClock, transition } from 'xstate';
import { loadSodium } from '../../src/crypto/sodium';
import { KesSignKey } from '../../src/crypto/kes';
import { toHex } from '../../src/crypto/bytes';
import { issueOpcert } from '../../src/cardano/opcert';
import { createAgentMachine } from '../../src/machine/agent-machine';
import { EXPIRY_WARNING_PERIODS } from '../../src/machine/rules';
import type { AgentEmitted, AgentEvent } from '../../src/machine/types';
import { parseGenesis, periodStartMs } from '../../src/time';
import { COLD_SEED, coldVkOf, Harness, periodMs, testTiming, TEST_SYSTEM_START_MS } from './harness';
import { makeTestGenesis } from '../helpers/test-genesis';

const timing = testTiming({ maxKESEvolutions: 20 });
const KP = 100;
const NOW = periodStartMs(timing, KP) + 1234;

beforeAll(async () => {
  await loadSodium();
});

/** Every 16-byte window of `raw`, as lowercase hex, uppercase hex and a decimal sequence. */
function secretWindows(raw: Uint8Array): { hex: string[]; decimal: number[][] } {
  const hex: string[] = [];
  const decimal: number[][] = [];
  for (let i = 0; i + 16 <= raw.length; i++) {
    const w = raw.subarray(i, i + 16);
    hex.push(toHex(w));
    decimal.push([...w]);
  }
  return { hex, decimal };
}

/** Does `text` contain any window as hex (either case) or as 16 consecutive integers (arrays, {"0":..} objects)? */
function leaks(text: string, raw: Uint8Array): boolean {
  const { hex, decimal } = secretWindows(raw);
  const lower = text.toLowerCase();
  if (hex.some((h) => lower.includes(h))) return true;
  const ints = (text.match(/\d+/g) ?? []).map(Number);
  for (let i = 0; i + 16 <= ints.length; i++) {
    const run = ints.slice(i, i + 16);
    if (decimal.some((d) => d.every((b, j) => b === run[j]))) return true;
  }
  return false;
}

describe('the machine context holds no secret', () => {
  test('JSON of the context, the snapshot and the persisted snapshot, and util.inspect, contain no 16-byte window of either key', () => {
    const keys: KesSignKey[] = [];
    const clock = new SimulatedClock();
    const machine = createAgentMachine({
      timing,
      coldVk: coldVkOf(COLD_SEED),
      now: () => NOW + clock.now(),
    });
    const newKey = (): KesSignKey => {
      const k = KesSignKey.generate();
      keys.push(k);
      return k;
    };
    const emitted: AgentEmitted[] = [];
    const actor = createActor(machine, { clock });
    actor.on('*', (e) => emitted.push(e));
    actor.start();
    const send = (e: AgentEvent) => actor.send(e);
    send({ type: 'KEYGEN', nowMs: NOW, force: false, key: newKey() });
    const activeKey = keys[0]!;
    send({ type: 'IMPORT_OPCERT', nowMs: NOW, opcert: issueOpcert({ hotVk: activeKey.verificationKey(), counter: 1, kesPeriod: KP - 3, coldSeed: COLD_SEED }) });
    send({ type: 'UPLOAD', nowMs: NOW, force: false });
    send({ type: 'KEYGEN', nowMs: NOW, force: false, key: newKey() });
    const stagedKey = keys[1]!;
    send({ type: 'IMPORT_OPCERT', nowMs: NOW, opcert: issueOpcert({ hotVk: stagedKey.verificationKey(), counter: 2, kesPeriod: KP, coldSeed: COLD_SEED }) });
    expect(activeKey.evolution).toBe(3);
    expect(actor.getSnapshot().value).toEqual({ running: 'activeKey' });

    const snapshot = actor.getSnapshot();
    // Bundle timestamps are bigints (µs, u64 on the wire): serialised as decimal text here.
    const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    const texts = [
      json(snapshot.context),
      json(snapshot),
      json(actor.getPersistedSnapshot()),
      inspect(snapshot.context, { depth: Infinity, showHidden: true }),
      inspect(emitted, { depth: Infinity, showHidden: true }),
    ];
    // The context does carry the public metadata (so the check below is not vacuous).
    expect(texts[0]).toContain(toHex(activeKey.verificationKey()));
    expect(texts[0]).toContain(toHex(stagedKey.verificationKey()));
    for (const key of [activeKey, stagedKey]) {
      const raw = new Uint8Array(608);
      key.writeRaw(raw);
      try {
        expect(leaks(toHex(raw), raw)).toBe(true); // the detector works
        expect(leaks(JSON.stringify([...raw]), raw)).toBe(true);
        for (const t of texts) expect(leaks(t, raw)).toBe(false);
      } finally {
        raw.fill(0);
      }
    }
    actor.send({ type: 'STOP' });
    expect(activeKey.destroyed && stagedKey.destroyed).toBe(true);
  });
});

describe('pure transitions (no effects run)', () => {
  // The cold vk only matters once a key is staged; these transitions never get that far.
  const machine = createAgentMachine({
    timing,
    coldVk: new Uint8Array(32).fill(1),
    now: () => NOW,
  });

  test.each([
    [{ type: 'UPLOAD', nowMs: NOW, force: false }, 'upload', 'NO_STAGED_KEY'],
    [{ type: 'EXPORT_VERKEY', nowMs: NOW }, 'exportVerkey', 'NO_STAGED_KEY'],
    [
      {
        type: 'IMPORT_OPCERT',
        nowMs: NOW,
        opcert: { hotVk: new Uint8Array(32), counter: 0, kesPeriod: 0, sigma: new Uint8Array(64), coldVk: new Uint8Array(32) },
      },
      'importOpcert',
      'NO_STAGED_KEY',
    ],
  ] as [AgentEvent, string, string][])('%s: %s from the initial state is refused with %s, context unchanged', (event, command, code) => {
    const [s0] = initialTransition(machine);
    const [s1, actions] = transition(machine, s0, event);
    expect(s1.context).toEqual(s0.context);
    expect(s1.value).toEqual({ running: 'noActiveKey' });
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      type: 'xstate.emit',
      params: { event: { type: 'outcome', outcome: { command, result: { ok: false, code } } } },
    });
  });

  test('every command is handled in every running state (never silently ignored)', () => {
    const commands: AgentEvent[] = [
      // s.can() evaluates guards only: the key is never staged here.
      { type: 'KEYGEN', nowMs: NOW, force: false, key: KesSignKey.fromSeed(new Uint8Array(32)) },
      { type: 'EXPORT_VERKEY', nowMs: NOW },
      { type: 'IMPORT_OPCERT', nowMs: NOW, opcert: { hotVk: new Uint8Array(32), counter: 0, kesPeriod: 0, sigma: new Uint8Array(64), coldVk: new Uint8Array(32) } },
      { type: 'UPLOAD', nowMs: NOW, force: false },
      { type: 'DROP_STAGED', nowMs: NOW },
      { type: 'DROP_ACTIVE', nowMs: NOW },
    ];
    const [s0] = initialTransition(machine);
    const active = machine.resolveState({ value: { running: 'activeKey' }, context: s0.context });
    for (const s of [s0, active]) for (const c of commands) expect(s.can(c)).toBe(true);
  });
});

describe('failing closed', () => {
  test('a broken key source wipes every key, reports once, and the agent refuses further work', () => {
    let broken = false;
    const h: Harness = Harness.at(timing, KP, 0, {
      generateKey: () => {
        const k = KesSignKey.generate();
        h.keys.push(k);
        if (broken) k.evolve(); // not at evolution 0: the staging slot refuses it
        return k;
      },
    });
    h.install(1, KP);
    const made = h.keys;
    const active = made[0]!;
    broken = true;
    expect(() => h.agent.keygen({ force: false })).toThrow(/failed and every key was wiped/);
    expect(active.destroyed).toBe(true);
    expect(made[1]!.destroyed).toBe(true);
    expect(h.fatal).toHaveLength(1);
    expect(() => h.agent.status()).toThrow(/failed/);
    expect(() => h.agent.withActiveKey(() => 1)).toThrow(/failed/);
    h.stop();
    expect(() => h.agent.status()).toThrow(/failed/);
  });

  test('stop() works from inside onFatal, mid-command (the daemon stops on a fatal error)', () => {
    let broken = false;
    let stopError: unknown = 'not called';
    const h: Harness = Harness.at(timing, KP, 0, {
      generateKey: () => {
        const k = KesSignKey.generate();
        h.keys.push(k);
        if (broken) k.evolve();
        return k;
      },
      onFatal: () => {
        try {
          h.agent.stop();
          stopError = undefined;
        } catch (e) {
          stopError = e;
        }
      },
    });
    h.install(1, KP);
    broken = true;
    expect(() => h.agent.keygen({ force: false })).toThrow(/failed and every key was wiped/);
    expect(stopError).toBeUndefined();
    expect(h.keys.every((k) => k.destroyed)).toBe(true);
  });

  test('a key source that throws (no locked memory left) fails the keygen only: both slots are kept', () => {
    let failing = false;
    const h: Harness = Harness.at(timing, KP, 0, {
      generateKey: () => {
        if (failing) throw new Error('RNG unavailable');
        const k = KesSignKey.generate();
        h.keys.push(k);
        return k;
      },
    });
    const active = h.install(1, KP);
    expect(h.agent.keygen({ force: false }).ok).toBe(true);
    const staged = h.keys.at(-1)!;
    const before = h.slots();
    failing = true;
    expect(() => h.agent.keygen({ force: true })).toThrow('RNG unavailable');
    expect(h.fatal).toHaveLength(0);
    expect(h.slots()).toEqual(before);
    expect(active.destroyed).toBe(false);
    expect(staged.destroyed).toBe(false);
    expect(h.agent.status().active?.evolution).toBe(0);
    h.stop();
  });
});

describe('status', () => {
  let h: Harness;
  afterEach(() => h.stop());

  test('a fresh agent: clock fields and the no-key warning', () => {
    h = new Harness(timing, NOW);
    expect(h.agent.status()).toEqual({
      network: 'genesis:test-genesis.json',
      chainStarted: true,
      currentKesPeriod: KP,
      currentSlot: KP * 10 + 1,
      periodStartMs: periodStartMs(timing, KP),
      nextPeriodMs: periodStartMs(timing, KP + 1),
      slotsPerKesPeriod: 10,
      maxKesEvolutions: 20,
      staged: null,
      active: null,
      expired: null,
      counterFloor: null,
      warnings: ['no active key: the node cannot forge'],
    });
  });

  test('staged key waiting for an opcert', () => {
    h = new Harness(timing, NOW);
    h.agent.keygen({ force: false });
    expect(h.agent.status().warnings).toContain('the staged key has no opcert yet: import one issued for its verification key');
  });

  test(`expiry warning starts at ${EXPIRY_WARNING_PERIODS} remaining periods (as kes-ctl status --check by default)`, () => {
    h = new Harness(timing, NOW);
    h.install(1, KP - (20 - EXPIRY_WARNING_PERIODS) + 1); // 11 periods remaining, counting this one
    const at11 = h.agent.status();
    expect(at11.active?.periodsRemaining).toBe(EXPIRY_WARNING_PERIODS + 1);
    expect(at11.warnings).toEqual([]);
    h.advanceTo(KP + 1);
    const at10 = h.agent.status();
    expect(at10.active?.periodsRemaining).toBe(EXPIRY_WARNING_PERIODS);
    expect(at10.warnings).toEqual([
      `the active key expires in 10 KES period(s), at ${new Date(periodStartMs(timing, KP + 11)).toISOString()}: issue a new opcert and upload a new key`,
    ]);
  });

  // The wire's limits are the control protocol's to apply (test/server/wire-status.test.ts).
  test('warnings are whole: the machine does not cut them to a wire limit', () => {
    const label = 'x'.repeat(400);
    const far = parseGenesis(
      makeTestGenesis({ systemStart: new Date(TEST_SYSTEM_START_MS + 1000 * periodMs(timing)), slotLength: 1, slotsPerKESPeriod: 10, maxKESEvolutions: 6 }),
      label,
    );
    h = new Harness(far, TEST_SYSTEM_START_MS);
    h.agent.keygen({ force: false });
    const w = h.agent.status().warnings;
    expect(w.length).toBeGreaterThanOrEqual(3);
    expect(w[0]).toContain(`the chain (${far.name}) has not started`);
  });
});
