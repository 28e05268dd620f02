/**
 * Upload and install must not swap an active key that signs now for one whose opcert starts
 * later (nodes could not forge until then), unless the upload is forced. Real keys and opcerts,
 * simulated time: every instant is computed from the test timing.
 */
import { freshHarnessPerTest, Harness, signsAt, testTiming, ok, refused } from './harness';

const timing = testTiming({ maxKESEvolutions: 6 });
const KP = 100;

let h: Harness;
freshHarnessPerTest(timing, KP, (fresh) => {
  h = fresh;
});

/** keygen + import of an opcert starting at c0; returns the staged vk. */
function stage(counter: number, c0: number): Uint8Array {
  const vk = ok(h.agent.keygen({ force: true })).kesVk;
  ok(h.agent.importOpcert(h.opcert(vk, counter, c0)));
  return vk;
}

describe('upload of a not-yet-valid opcert over a usable active key', () => {
  test('is refused with OPCERT_NOT_YET_VALID naming both periods; both slots stay as they were', () => {
    const activeKey = h.install(1, KP - 2);
    const vk = stage(2, KP + 3);
    const staged = h.lastKey();
    const before = h.slots();
    const msg = refused(h.agent.upload(), 'OPCERT_NOT_YET_VALID');
    expect(msg).toContain(`starts at KES period ${KP + 3}`);
    expect(msg).toContain(`current period ${KP}`);
    expect(msg).toContain(`KES periods ${KP - 2}..${KP - 2 + timing.maxKESEvolutions - 1}`);
    expect(msg).toContain('--force');
    expect(h.slots()).toEqual(before);
    expect(activeKey.destroyed).toBe(false);
    expect(signsAt(activeKey, h.agent.status().active!.kesVk, 2)).toBe(true);
    expect(staged.destroyed).toBe(false);
    expect(ok(h.agent.exportVerkey())).toEqual({ kesVk: vk, hasOpcert: true });
    expect(h.changes).toHaveLength(1);
  });

  test('with force it goes ahead: the old key is wiped, the new one waits at evolution 0', () => {
    const activeKey = h.install(1, KP - 2);
    const vk = stage(2, KP + 3);
    const u = ok(h.agent.upload({ force: true }));
    expect(u).toMatchObject({ kesVk: vk, counter: 2, startKesPeriod: KP + 3, evolution: 0, replacedActive: true });
    expect(activeKey.destroyed).toBe(true);
    expect(h.agent.status().active?.periodsRemaining).toBe(timing.maxKESEvolutions);
  });

  test('once the new start period has come, the same staged key uploads without force', () => {
    h.install(1, KP - 2);
    stage(2, KP + 1);
    refused(h.agent.upload(), 'OPCERT_NOT_YET_VALID');
    h.advanceTo(KP + 1);
    expect(ok(h.agent.upload()).evolution).toBe(0);
  });

  test('a new opcert usable now replaces a usable key as before', () => {
    h.install(1, KP - 2);
    stage(2, KP);
    expect(ok(h.agent.upload()).replacedActive).toBe(true);
  });
});

describe('nothing usable would be lost: a not-yet-valid upload is allowed', () => {
  test('with no active key', () => {
    stage(1, KP + 3);
    expect(ok(h.agent.upload())).toMatchObject({ startKesPeriod: KP + 3, evolution: 0, replacedActive: false });
  });

  test('when the active key is itself not valid yet', () => {
    ok(h.agent.keygen({ force: true }));
    ok(h.agent.importOpcert(h.opcert(h.agent.status().staged!.kesVk, 1, KP + 5)));
    ok(h.agent.upload());
    stage(2, KP + 3);
    expect(ok(h.agent.upload()).replacedActive).toBe(true);
  });

  test('after the active key expired (the agent dropped it at the boundary)', () => {
    h.install(1, KP - timing.maxKESEvolutions + 1); // KP is its last period
    h.advanceTo(KP + 1);
    expect(h.agent.status().active).toBeNull();
    stage(2, KP + 3);
    expect(ok(h.agent.upload()).startKesPeriod).toBe(KP + 3);
  });

  test('import of a future opcert still answers startsInFuture, whatever is active', () => {
    h.install(1, KP - 2);
    const vk = ok(h.agent.keygen({ force: true })).kesVk;
    expect(ok(h.agent.importOpcert(h.opcert(vk, 2, KP + 3)))).toMatchObject({ startsInFuture: true, currentKesPeriod: KP });
  });
});

describe('install (the Haskell InstallKey) has no force', () => {
  test('it is refused the same way, and the staged key stays without the new opcert', () => {
    const activeKey = h.install(1, KP - 2);
    const vk = ok(h.agent.keygen({ force: true })).kesVk;
    const before = h.slots();
    const msg = refused(h.agent.install(h.opcert(vk, 2, KP + 3)), 'OPCERT_NOT_YET_VALID');
    expect(msg).toContain(`starts at KES period ${KP + 3}`);
    expect(msg).toContain(`current period ${KP}`);
    expect(h.slots()).toEqual(before);
    expect(activeKey.destroyed).toBe(false);
    expect(h.lastKey().destroyed).toBe(false);
  });

  test('without a usable active key it installs', () => {
    const vk = ok(h.agent.keygen({ force: true })).kesVk;
    expect(ok(h.agent.install(h.opcert(vk, 1, KP + 3))).evolution).toBe(0);
  });
});
