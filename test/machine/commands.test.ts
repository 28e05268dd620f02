/**
 * The control commands against a running Agent: real Sum6 keys, real opcerts signed by a cold
 * key, simulated time. Every refusal must leave both slots exactly as they were (the Haskell
 * agent loses the staged key on a failed install, docs/haskell-protocol.md §8.2).
 */
import { bytesEqual, toHex } from '../../src/crypto/bytes';
import { isKesError } from '../../src/errors';
import type { Opcert } from '../../src/cardano/opcert';
import { COLD_SEED, coldVkOf, freshHarnessPerTest, Harness, OTHER_COLD_SEED, signsAt, testTiming, ok, refused } from './harness';

const timing = testTiming({ maxKESEvolutions: 6 });
const KP = 100;

let h: Harness;
freshHarnessPerTest(timing, KP, (fresh) => {
  h = fresh;
});

describe('keygen / export-verkey / drop-staged', () => {
  test('keygen stages a fresh key at evolution 0; export-verkey returns its vk', () => {
    const g = ok(h.agent.keygen({ force: false }));
    expect(g.replacedStaged).toBe(false);
    const key = h.lastKey();
    expect(bytesEqual(g.kesVk, key.verificationKey())).toBe(true);
    expect(key.evolution).toBe(0);
    const v = ok(h.agent.exportVerkey());
    expect(v).toEqual({ kesVk: g.kesVk, hasOpcert: false });
    const s = h.agent.status();
    expect(s.staged).toEqual({ kesVk: g.kesVk, opcert: null });
    expect(s.active).toBeNull();
  });

  test('export-verkey with nothing staged is NO_STAGED_KEY', () => {
    refused(h.agent.exportVerkey(), 'NO_STAGED_KEY');
  });

  test('a second keygen without force is STAGED_KEY_EXISTS and keeps the staged key usable', () => {
    const g = ok(h.agent.keygen({ force: false }));
    const before = h.slots();
    refused(h.agent.keygen({ force: false }), 'STAGED_KEY_EXISTS');
    // The key is generated before the machine judges the command; a refused one is wiped at once.
    expect(h.keys).toHaveLength(2);
    expect(h.keys[1]!.destroyed).toBe(true);
    expect(h.slots()).toEqual(before);
    expect(h.keys[0]!.destroyed).toBe(false);
    expect(signsAt(h.keys[0]!, g.kesVk, 0)).toBe(true);
  });

  test('keygen with force replaces the staged key (old one wiped), leaves the active key alone', () => {
    const activeKey = h.install(1, KP);
    const activeBefore = h.agent.status().active;
    const first = ok(h.agent.keygen({ force: false }));
    const firstKey = h.lastKey();
    const second = ok(h.agent.keygen({ force: true }));
    expect(second.replacedStaged).toBe(true);
    expect(firstKey.destroyed).toBe(true);
    expect(bytesEqual(first.kesVk, second.kesVk)).toBe(false);
    expect(bytesEqual(ok(h.agent.exportVerkey()).kesVk, second.kesVk)).toBe(true);
    expect(activeKey.destroyed).toBe(false);
    expect(h.agent.status().active).toEqual(activeBefore);
  });

  test('keygen with force and nothing staged reports replacedStaged false', () => {
    expect(ok(h.agent.keygen({ force: true })).replacedStaged).toBe(false);
  });

  test('drop-staged reports whether there was a key and wipes it', () => {
    expect(ok(h.agent.dropStaged())).toEqual({ hadKey: false });
    ok(h.agent.keygen({ force: false }));
    const key = h.lastKey();
    expect(ok(h.agent.dropStaged())).toEqual({ hadKey: true });
    expect(key.destroyed).toBe(true);
    expect(h.agent.status().staged).toBeNull();
    refused(h.agent.exportVerkey(), 'NO_STAGED_KEY');
  });

  test('keygen refuses a malformed argument with a thrown KesError, not a result', () => {
    expect(() => h.agent.keygen({ force: 'yes' } as unknown as { force: boolean })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('import-opcert', () => {
  test('accepts an opcert for the staged key that starts now', () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const r = ok(h.agent.importOpcert(h.opcert(vk, 3, KP)));
    expect(r).toEqual({ kesVk: vk, counter: 3, startKesPeriod: KP, currentKesPeriod: KP, startsInFuture: false, counterFloor: null });
    expect(ok(h.agent.exportVerkey()).hasOpcert).toBe(true);
    expect(h.agent.status().staged?.opcert).toMatchObject({ counter: 3, kesPeriod: KP });
  });

  test('accepts a future start period (startsInFuture) and the last valid start period', () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    expect(ok(h.agent.importOpcert(h.opcert(vk, 0, KP + 5))).startsInFuture).toBe(true);
    // kp = c0 + max − 1 is the opcert's last valid period (docs/kes-construction.md §7).
    const last = KP - timing.maxKESEvolutions + 1;
    expect(ok(h.agent.importOpcert(h.opcert(vk, 0, last))).startsInFuture).toBe(false);
  });

  test('a second import replaces the staged opcert', () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    ok(h.agent.importOpcert(h.opcert(vk, 3, KP)));
    ok(h.agent.importOpcert(h.opcert(vk, 4, KP - 1)));
    expect(h.agent.status().staged?.opcert).toMatchObject({ counter: 4, kesPeriod: KP - 1 });
  });

  test('the agent keeps its own copy of the opcert', () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const o = h.opcert(vk, 3, KP);
    ok(h.agent.importOpcert(o));
    o.sigma.fill(0);
    o.hotVk.fill(0);
    const staged = h.agent.status().staged?.opcert;
    expect(staged?.sigma.some((b) => b !== 0)).toBe(true);
    expect(bytesEqual(staged!.hotVk, vk)).toBe(true);
  });

  // Each row: how to build the bad opcert from (staged vk); the expected code.
  const badOpcerts: { name: string; code: string; make: (vk: Uint8Array) => Opcert }[] = [
    {
      name: 'issued by another cold key',
      code: 'OPCERT_WRONG_COLD_KEY',
      make: (vk) => h.opcert(vk, 3, KP, OTHER_COLD_SEED),
    },
    {
      name: 'our cold vk but a signature by another key',
      code: 'OPCERT_BAD_SIGNATURE',
      make: (vk) => ({ ...h.opcert(vk, 3, KP, OTHER_COLD_SEED), coldVk: h.opcert(vk, 3, KP).coldVk }),
    },
    {
      name: 'a signature with one bit flipped',
      code: 'OPCERT_BAD_SIGNATURE',
      make: (vk) => {
        const o = h.opcert(vk, 3, KP);
        o.sigma[10]! ^= 1;
        return o;
      },
    },
    {
      name: 'counter changed after signing',
      code: 'OPCERT_BAD_SIGNATURE',
      make: (vk) => ({ ...h.opcert(vk, 3, KP), counter: 4 }),
    },
    {
      name: 'certifying another KES key',
      code: 'OPCERT_WRONG_KES_KEY',
      make: (vk) => h.opcert(vk.map((b, i) => (i === 0 ? b ^ 0xff : b)), 3, KP),
    },
    {
      name: 'already expired (kp = c0 + maxKESEvolutions)',
      code: 'OPCERT_EXPIRED',
      make: (vk) => h.opcert(vk, 3, KP - timing.maxKESEvolutions),
    },
    {
      name: 'long expired (c0 = 0)',
      code: 'OPCERT_EXPIRED',
      make: (vk) => h.opcert(vk, 3, 0),
    },
    {
      name: "counter below the active key's",
      code: 'OPCERT_COUNTER_TOO_LOW',
      make: (vk) => h.opcert(vk, 4, KP),
    },
  ];

  test.each(badOpcerts)('refuses an opcert $name with $code and changes nothing', ({ code, make }) => {
    const activeKey = h.install(5, KP - 2);
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    ok(h.agent.importOpcert(h.opcert(vk, 6, KP))); // a previous good import must survive too
    const stagedKey = h.lastKey();
    const before = h.slots();
    const bad = make(vk);
    const message = refused(h.agent.importOpcert(bad), code);
    // Only public verification keys may appear (for the operator to compare), never anything else in hex.
    const publicVks = new Set([vk, bad.hotVk, bad.coldVk, coldVkOf(COLD_SEED)].map(toHex));
    for (const hex of message.match(/[0-9a-f]{32,}/g) ?? []) expect(publicVks).toContain(hex);
    expect(h.slots()).toEqual(before);
    expect(stagedKey.destroyed).toBe(false);
    expect(stagedKey.evolution).toBe(0);
    expect(signsAt(stagedKey, vk, 0)).toBe(true);
    expect(activeKey.destroyed).toBe(false);
    expect(activeKey.evolution).toBe(2);
  });

  test("OPCERT_WRONG_KES_KEY shows the opcert's KES vk and the staged key's vk", () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const other = vk.map((b, i) => (i === 0 ? b ^ 0xff : b));
    const message = refused(h.agent.importOpcert(h.opcert(other, 3, KP)), 'OPCERT_WRONG_KES_KEY');
    expect(message).toContain(`certifies KES vk ${toHex(other)}, not the staged key's ${toHex(vk)}`);
  });

  test("OPCERT_WRONG_COLD_KEY shows the opcert's cold vk and the agent's", () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const message = refused(h.agent.importOpcert(h.opcert(vk, 3, KP, OTHER_COLD_SEED)), 'OPCERT_WRONG_COLD_KEY');
    expect(message).toContain(`issued by cold vk ${toHex(coldVkOf(OTHER_COLD_SEED))}, not by this agent's cold vk ${toHex(coldVkOf(COLD_SEED))}`);
  });

  test('import with nothing staged is NO_STAGED_KEY', () => {
    const key = h.install(1, KP);
    const before = h.slots();
    refused(h.agent.importOpcert(h.opcert(key.verificationKey(), 2, KP)), 'NO_STAGED_KEY');
    expect(h.slots()).toEqual(before);
  });

  test("an equal counter is accepted (m ≤ n ≤ m + 1 allows n = the active key's counter)", () => {
    h.install(5, KP);
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    expect(ok(h.agent.importOpcert(h.opcert(vk, 5, KP))).counter).toBe(5);
    expect(ok(h.agent.importOpcert(h.opcert(vk, 6, KP))).counter).toBe(6);
  });

  test('OPCERT_EXPIRED names the periods', () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const msg = refused(h.agent.importOpcert(h.opcert(vk, 0, KP - 6)), 'OPCERT_EXPIRED');
    expect(msg).toBe(`the opcert starts at KES period ${KP - 6} and expired at period ${KP}; the current period is ${KP}`);
  });

  test('a malformed opcert throws (malformed is not invalid) and changes nothing', () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const good = h.opcert(vk, 1, KP);
    const before = h.slots();
    for (const bad of [
      { ...good, sigma: good.sigma.subarray(0, 63) },
      { ...good, hotVk: Array.from(good.hotVk) },
      { ...good, counter: -1 },
      { ...good, kesPeriod: 1.5 },
      { ...good, counter: 2 ** 53 },
      null,
    ]) {
      let thrown: unknown;
      try {
        h.agent.importOpcert(bad as unknown as Opcert);
      } catch (e) {
        thrown = e;
      }
      expect(isKesError(thrown)).toBe(true);
    }
    expect(h.slots()).toEqual(before);
  });
});

describe('upload', () => {
  test('installs the staged bundle evolved to the current period, empties staging, tells listeners', () => {
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    ok(h.agent.importOpcert(h.opcert(vk, 7, KP - 3)));
    const key = h.lastKey();
    const u = ok(h.agent.upload());
    expect(u).toEqual({ kesVk: vk, counter: 7, startKesPeriod: KP - 3, evolution: 3, replacedActive: false });
    expect(key.evolution).toBe(3);
    expect(signsAt(key, vk, 3)).toBe(true);
    refused(h.agent.exportVerkey(), 'NO_STAGED_KEY');
    expect(h.changes).toEqual([{ type: 'installed', seq: 1, kesVk: vk, counter: 7, startKesPeriod: KP - 3, evolution: 3, timestampUs: BigInt(h.now()) * 1000n, source: null }]);
    const s = h.agent.status();
    expect(s.staged).toBeNull();
    expect(s.active).toMatchObject({ kesVk: vk, evolution: 3, periodsRemaining: 3, installedAtMs: h.now() });
    expect(s.active?.opcert.counter).toBe(7);
    expect(s.active?.expiresAtMs).toBe(timing.shelleyStartMs + (KP + 3) * 10_000);
  });

  test('listeners never see the key before it is evolved (no broadcast-before-evolve race)', () => {
    const seen: number[] = [];
    h.agent.onActiveChange((c) => {
      if (c.type === 'installed') seen.push(h.agent.withActiveKey((k) => k.evolution) ?? -1, c.evolution);
    });
    h.install(1, KP - 4);
    expect(seen).toEqual([4, 4]);
  });

  test('replaces the active key: the old one is wiped, counters and seq move on', () => {
    const oldKey = h.install(1, KP);
    const newKey = h.install(2, KP);
    expect(oldKey.destroyed).toBe(true);
    expect(newKey.destroyed).toBe(false);
    expect(h.changes.map((c) => [c.type, c.seq])).toEqual([
      ['installed', 1],
      ['installed', 2],
    ]);
    const vk = h.agent.status().active?.kesVk;
    expect(bytesEqual(vk!, newKey.verificationKey())).toBe(true);
  });

  test('upload reports replacedActive', () => {
    h.install(1, KP);
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    ok(h.agent.importOpcert(h.opcert(vk, 1, KP)));
    expect(ok(h.agent.upload()).replacedActive).toBe(true);
  });

  test('NO_STAGED_KEY and NO_OPCERT leave both slots intact', () => {
    const activeKey = h.install(1, KP);
    let before = h.slots();
    refused(h.agent.upload(), 'NO_STAGED_KEY');
    expect(h.slots()).toEqual(before);
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    before = h.slots();
    refused(h.agent.upload(), 'NO_OPCERT');
    expect(h.slots()).toEqual(before);
    expect(signsAt(h.lastKey(), vk, 0)).toBe(true);
    expect(activeKey.destroyed).toBe(false);
    expect(h.changes).toHaveLength(1);
  });

  test('expiry is re-checked at upload time: an opcert that expired since import is refused, nothing lost', () => {
    const activeKey = h.install(1, KP);
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const c0 = KP - timing.maxKESEvolutions + 1; // last valid period is KP
    ok(h.agent.importOpcert(h.opcert(vk, 2, c0)));
    h.advanceTo(KP + 1);
    const before = h.slots();
    const msg = refused(h.agent.upload(), 'OPCERT_EXPIRED');
    expect(msg).toContain(`period ${KP + 1}`);
    expect(h.slots()).toEqual(before);
    const staged = h.lastKey();
    expect(staged.destroyed).toBe(false);
    expect(signsAt(staged, vk, 0)).toBe(true);
    expect(ok(h.agent.exportVerkey()).hasOpcert).toBe(true);
    expect(activeKey.destroyed).toBe(false);
    expect(status().warnings).toContain(
      `the staged key's opcert (start period ${c0}) has expired: issue a new opcert for the staged key`,
    );
  });

  function status() {
    return h.agent.status();
  }
});

describe('drop-active', () => {
  test('wipes the active key, tells listeners, reports hadKey', () => {
    const key = h.install(1, KP);
    expect(ok(h.agent.dropActive())).toEqual({ hadKey: true });
    expect(key.destroyed).toBe(true);
    expect(h.agent.status().active).toBeNull();
    expect(h.agent.withActiveKey(() => 1)).toBeUndefined();
    expect(h.changes.at(-1)).toEqual({ type: 'dropped', seq: 2, reason: 'drop-active', timestampUs: expect.any(BigInt), source: null });
  });

  test('with no active key: hadKey false, nobody is told', () => {
    expect(ok(h.agent.dropActive())).toEqual({ hadKey: false });
    expect(h.changes).toEqual([]);
  });

  test('leaves the staged key alone', () => {
    h.install(1, KP);
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    ok(h.agent.dropActive());
    expect(bytesEqual(ok(h.agent.exportVerkey()).kesVk, vk)).toBe(true);
    expect(h.lastKey().destroyed).toBe(false);
  });
});

describe('the counter floor: the highest counter of any key active since the agent started', () => {
  const LOW_TEXT = "the chain refuses a counter below one it has seen; issue the opcert from the cold host's current counter file";

  test('a fresh agent has none: import accepts any counter and says it had no floor; status says none', () => {
    expect(h.agent.status().counterFloor).toBeNull();
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    expect(ok(h.agent.importOpcert(h.opcert(vk, 5, KP))).counterFloor).toBeNull();
    expect(h.agent.status().counterFloor).toBeNull(); // an import alone sets no floor
    ok(h.agent.upload());
    expect(h.agent.status().counterFloor).toBe(5);
    const vk2 = ok(h.agent.keygen({ force: false })).kesVk;
    expect(ok(h.agent.importOpcert(h.opcert(vk2, 6, KP))).counterFloor).toBe(5);
  });

  test('after drop-active an opcert below the dropped key\'s counter is refused, naming both numbers; nothing changes', () => {
    h.install(26, KP);
    ok(h.agent.dropActive());
    expect(h.agent.status()).toMatchObject({ active: null, expired: null, counterFloor: 26 });
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const before = h.slots();
    const msg = refused(h.agent.importOpcert(h.opcert(vk, 5, KP)), 'OPCERT_COUNTER_TOO_LOW');
    expect(msg).toBe(`opcert counter 5 is lower than 26, the counter of a key this agent had active earlier (since it started): ${LOW_TEXT}`);
    expect(h.slots()).toEqual(before);
    expect(h.lastKey().destroyed).toBe(false);
    // Equal is allowed (m ≤ n ≤ m + 1), and so is the next one.
    expect(ok(h.agent.importOpcert(h.opcert(vk, 26, KP))).counterFloor).toBe(26);
    expect(ok(h.agent.importOpcert(h.opcert(vk, 27, KP))).counterFloor).toBe(26);
    expect(ok(h.agent.upload()).counter).toBe(27);
    expect(h.agent.status().counterFloor).toBe(27);
  });

  test('after the key expires the floor stays: a lower counter is refused at import', () => {
    h.install(26, KP - timing.maxKESEvolutions + 1); // last valid period is KP
    h.advanceTo(KP + 1);
    expect(h.agent.status()).toMatchObject({ active: null, expired: { counter: 26 }, counterFloor: 26 });
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    refused(h.agent.importOpcert(h.opcert(vk, 25, KP + 1)), 'OPCERT_COUNTER_TOO_LOW');
    ok(h.agent.dropActive()); // forgets the expiry record, not the floor
    expect(h.agent.status()).toMatchObject({ expired: null, counterFloor: 26 });
    refused(h.agent.importOpcert(h.opcert(vk, 25, KP + 1)), 'OPCERT_COUNTER_TOO_LOW');
  });

  test('with the floor set by the active key, the message says so', () => {
    h.install(5, KP);
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    const msg = refused(h.agent.importOpcert(h.opcert(vk, 4, KP)), 'OPCERT_COUNTER_TOO_LOW');
    expect(msg).toBe(`opcert counter 4 is lower than 5, the counter of the active key: ${LOW_TEXT}`);
  });

  test('the floor is the highest counter ever active, not the last one replaced', () => {
    h.install(7, KP);
    h.install(9, KP);
    ok(h.agent.dropActive());
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    expect(refused(h.agent.importOpcert(h.opcert(vk, 8, KP)), 'OPCERT_COUNTER_TOO_LOW')).toContain('lower than 9,');
  });

  test('an opcert that was only imported does not raise the floor: a too-high counter can be re-issued lower', () => {
    h.install(26, KP);
    const vk = ok(h.agent.keygen({ force: false })).kesVk;
    ok(h.agent.importOpcert(h.opcert(vk, 28, KP))); // one too many: the chain would refuse it
    expect(h.agent.status().counterFloor).toBe(26);
    expect(ok(h.agent.importOpcert(h.opcert(vk, 27, KP))).counter).toBe(27);
    expect(ok(h.agent.upload()).counter).toBe(27);
  });
});

describe('the facade', () => {
  test('a listener may call the agent; withActiveKey callbacks may not', () => {
    const statuses: boolean[] = [];
    h.agent.onActiveChange(() => statuses.push(h.agent.status().active !== null));
    h.install(1, KP);
    expect(statuses).toEqual([true]);
    expect(() => h.agent.withActiveKey(() => h.agent.status())).toThrow(/borrowed/);
    expect(() => h.agent.withActiveKey(() => h.agent.dropActive())).toThrow(/borrowed/);
    expect(h.agent.status().active).not.toBeNull();
  });

  test('onActiveChange returns an unsubscribe function', () => {
    const got: string[] = [];
    const off = h.agent.onActiveChange((c) => got.push(c.type));
    h.install(1, KP);
    off();
    h.agent.dropActive();
    expect(got).toEqual(['installed']);
  });

  test('withActiveKey lends the current key with its public info', () => {
    const key = h.install(9, KP - 1);
    const info = h.agent.withActiveKey((k, i) => {
      expect(k).toBe(key);
      return i;
    });
    expect(info).toMatchObject({ counter: 9, startKesPeriod: KP - 1, evolution: 1 });
    expect(bytesEqual(info!.kesVk, key.verificationKey())).toBe(true);
    expect(bytesEqual(info!.opcert.hotVk, key.verificationKey())).toBe(true);
  });

  test('stop() wipes the staged and the active key, and the agent refuses further calls', () => {
    const active = h.install(1, KP);
    ok(h.agent.keygen({ force: false }));
    const staged = h.lastKey();
    h.agent.stop();
    expect(active.destroyed).toBe(true);
    expect(staged.destroyed).toBe(true);
    expect(() => h.agent.status()).toThrow(/stopped/);
    expect(() => h.agent.keygen({ force: true })).toThrow(/stopped/);
    h.agent.stop(); // idempotent
  });

  test('the cold key is checked when the agent is built', () => {
    expect(() => new Harness(timing, h.t0, { coldVk: new Uint8Array(31) })).toThrow(
      expect.objectContaining({ code: 'INVALID_LENGTH' }),
    );
  });
});
