/**
 * Bundles and drops from bootstrap peers (RECEIVE_BUNDLE / RECEIVE_DROP): every check, the
 * Haskell age rule with tombstones (the Haskell kes-agent's `isTaggedBundleAgeValid`), timestamps as machine state, and
 * the future-timestamp bound. Real Sum6 keys and opcerts, simulated time.
 */
import { bytesEqual } from '../../src/crypto/bytes';
import { KesSignKey } from '../../src/crypto/kes';
import { MAX_PEER_CLOCK_AHEAD_MS } from '../../src/machine/agent';
import type { PeerResult } from '../../src/machine/types';
import { COLD_SEED, freshHarnessPerTest, Harness, OTHER_COLD_SEED, coldVkOf, signsAt, testTiming } from './harness';
import { peerRefusalText } from '../../src/protocol/refusal-text';

const timing = testTiming({ maxKESEvolutions: 6 });
const KP = 100;
const PEER = '/run/peer/service.sock';

let h: Harness;
freshHarnessPerTest(timing, KP, (fresh) => {
  h = fresh;
});

function ok<T>(r: PeerResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${peerRefusalText(r)}`);
  return r.value;
}

const nowUs = (): bigint => BigInt(h.now()) * 1000n;

/** A peer's bundle: a fresh key evolved to `evolution`, an opcert for it, our cold vk attached. */
function peerBundle(o: { counter?: number; c0?: number; evolution?: number; coldSeed?: Uint8Array; opcertFor?: Uint8Array } = {}) {
  const key = KesSignKey.generate();
  if ((o.evolution ?? 0) > 0) key.evolveTo(o.evolution!);
  const opcert = h.opcert(o.opcertFor ?? key.verificationKey(), o.counter ?? 1, o.c0 ?? KP, o.coldSeed ?? COLD_SEED);
  return { key, opcert: { ...opcert, coldVk: coldVkOf(COLD_SEED) } };
}

describe('RECEIVE_BUNDLE', () => {
  test('an agent with nothing takes a valid bundle, evolves it, keeps the sender timestamp, and announces it', () => {
    h.advanceTo(KP + 2);
    const { key, opcert } = peerBundle({ evolution: 1 });
    const ts = nowUs() - 5_000_000n;
    const v = ok(h.agent.receiveBundle({ key, opcert, timestampUs: ts, source: PEER }));
    expect(v).toMatchObject({ counter: 1, evolution: 2, timestampUs: ts, replacedActive: false });
    expect(h.changes.at(-1)).toMatchObject({ type: 'installed', evolution: 2, timestampUs: ts, source: PEER });
    expect(h.agent.currentBundle()).toEqual({ kind: 'key', timestampUs: ts });
    expect(h.agent.withActiveKey((k) => signsAt(k, opcert.hotVk, 2))).toBe(true);
  });

  test('an echo (same timestamp) is BUNDLE_NOT_NEWER: the received copy is wiped, the active key stays', () => {
    const { key, opcert } = peerBundle();
    const ts = nowUs();
    ok(h.agent.receiveBundle({ key, opcert, timestampUs: ts, source: PEER }));
    const changes = h.changes.length;
    const again = peerBundle();
    const r = h.agent.receiveBundle({ key: again.key, opcert: again.opcert, timestampUs: ts, source: PEER });
    expect(r).toMatchObject({ ok: false, code: 'BUNDLE_NOT_NEWER' });
    expect(again.key.destroyed).toBe(true);
    expect(key.destroyed).toBe(false);
    expect(h.changes).toHaveLength(changes);
  });

  test('a newer bundle replaces the active key and wipes the old one; the staged key is untouched', () => {
    const first = peerBundle();
    ok(h.agent.receiveBundle({ ...first, timestampUs: nowUs(), source: PEER }));
    h.agent.keygen({ force: false });
    const staged = h.agent.status().staged!.kesVk;
    h.advance(1000);
    const second = peerBundle({ counter: 2 });
    const v = ok(h.agent.receiveBundle({ ...second, timestampUs: nowUs(), source: PEER }));
    expect(v.replacedActive).toBe(true);
    expect(first.key.destroyed).toBe(true);
    expect(bytesEqual(h.agent.status().staged!.kesVk, staged)).toBe(true);
    expect(h.agent.status().counterFloor).toBe(2);
  });

  test.each([
    ['OPCERT_WRONG_COLD_KEY', () => { const b = peerBundle(); return { ...b, opcert: { ...b.opcert, coldVk: coldVkOf(OTHER_COLD_SEED) } }; }],
    ['OPCERT_BAD_SIGNATURE', () => peerBundle({ coldSeed: OTHER_COLD_SEED })],
    ['OPCERT_WRONG_KES_KEY', () => peerBundle({ opcertFor: KesSignKey.generate().verificationKey() })],
    ['OPCERT_EXPIRED', () => peerBundle({ c0: KP - timing.maxKESEvolutions })],
    ['OPCERT_COUNTER_TOO_LOW', () => peerBundle({ counter: 4 })],
    ['KEY_OVER_EVOLVED', () => peerBundle({ counter: 5, evolution: 3 })],
  ] as const)('%s: refused, the key wiped, the active key and its timestamp stay', (code, make) => {
    const mine = h.install(5, KP);
    const before = h.agent.currentBundle();
    const b = make();
    const r = h.agent.receiveBundle({ ...b, timestampUs: nowUs() + 1_000_000n, source: PEER });
    expect(r).toMatchObject({ ok: false, code });
    expect(b.key.destroyed).toBe(true);
    expect(mine.destroyed).toBe(false);
    expect(h.agent.currentBundle()).toEqual(before);
  });

  test(`TIMESTAMP_IN_FUTURE: more than ${MAX_PEER_CLOCK_AHEAD_MS} ms ahead is refused; just inside is taken`, () => {
    const far = peerBundle();
    const limit = nowUs() + BigInt(MAX_PEER_CLOCK_AHEAD_MS) * 1000n;
    const r = h.agent.receiveBundle({ ...far, timestampUs: limit + 1n, source: PEER });
    expect(r).toMatchObject({ ok: false, code: 'TIMESTAMP_IN_FUTURE' });
    expect(r.ok ? '' : peerRefusalText(r)).toMatch(/ahead of this host's clock/);
    expect(far.key.destroyed).toBe(true);
    const near = peerBundle();
    ok(h.agent.receiveBundle({ ...near, timestampUs: limit, source: PEER }));
  });

  test('a peer clock just inside the bound pins the slot for at most that long: an honest newer bundle is taken once our clock passes it', () => {
    const ahead = nowUs() + BigInt(MAX_PEER_CLOCK_AHEAD_MS) * 1000n;
    ok(h.agent.receiveBundle({ ...peerBundle({ counter: 1 }), timestampUs: ahead, source: '/fast-clock' }));
    h.advance(1_000);
    const early = peerBundle({ counter: 2 });
    expect(h.agent.receiveBundle({ ...early, timestampUs: nowUs(), source: PEER })).toMatchObject({ ok: false, code: 'BUNDLE_NOT_NEWER' });
    // (the 10 s test periods expire that key on the way: its tombstone is stamped after the fast one)
    h.advance(MAX_PEER_CLOCK_AHEAD_MS + 1_000);
    ok(h.agent.receiveBundle({ ...peerBundle({ counter: 2, c0: h.kp() }), timestampUs: nowUs(), source: PEER }));
  });

  test('a local install after a peer bundle is stamped after it, even with the peer ahead of our clock', () => {
    const b = peerBundle();
    const ahead = nowUs() + 30_000_000n;
    ok(h.agent.receiveBundle({ ...b, timestampUs: ahead, source: PEER }));
    h.install(2, KP);
    const c = h.changes.at(-1)!;
    expect(c).toMatchObject({ type: 'installed', source: null });
    expect(c.type === 'installed' && c.timestampUs).toBe(ahead + 1n);
  });

  test('local timestamps never go back, even when the wall clock does', () => {
    h.install(1, KP);
    const t1 = h.agent.currentBundle().timestampUs;
    expect(t1).toBe(nowUs());
    h.jump = -5_000;
    h.install(1, KP);
    expect(h.agent.currentBundle().timestampUs).toBe(t1 + 1n);
  });
});

describe('RECEIVE_DROP', () => {
  test('a tombstone older than our key does not remove it; an equal one does (a deletion wins ties)', () => {
    h.install(1, KP);
    const ts = h.agent.currentBundle().timestampUs;
    expect(h.agent.receiveDrop({ timestampUs: ts - 1n, source: PEER })).toMatchObject({ ok: false, code: 'BUNDLE_NOT_NEWER' });
    expect(h.agent.status().active).not.toBeNull();
    expect(ok(h.agent.receiveDrop({ timestampUs: ts, source: PEER }))).toEqual({ hadKey: true, timestampUs: ts });
    expect(h.agent.status().active).toBeNull();
    expect(h.lastKey().destroyed).toBe(true);
    expect(h.changes.at(-1)).toMatchObject({ type: 'dropped', reason: 'peer-drop', timestampUs: ts, source: PEER });
  });

  test('a tombstone is held without a key: an older bundle is then refused, an equal tombstone too', () => {
    const ts = nowUs();
    expect(ok(h.agent.receiveDrop({ timestampUs: ts, source: PEER }))).toEqual({ hadKey: false, timestampUs: ts });
    expect(h.agent.currentBundle()).toEqual({ kind: 'drop', timestampUs: ts });
    expect(h.agent.receiveDrop({ timestampUs: ts, source: PEER })).toMatchObject({ ok: false, code: 'BUNDLE_NOT_NEWER' });
    const b = peerBundle();
    expect(h.agent.receiveBundle({ ...b, timestampUs: ts - 1n, source: PEER })).toMatchObject({ ok: false, code: 'BUNDLE_NOT_NEWER' });
    ok(h.agent.receiveBundle({ ...peerBundle(), timestampUs: ts + 1n, source: PEER }));
  });

  test('a local drop and an expiry are tombstones stamped max(now, last + 1)', () => {
    h.install(1, KP);
    const t1 = h.agent.currentBundle().timestampUs;
    h.agent.dropActive();
    expect(h.agent.currentBundle()).toEqual({ kind: 'drop', timestampUs: t1 + 1n });
    h.install(1, KP);
    h.advanceTo(KP + timing.maxKESEvolutions);
    const c = h.changes.at(-1)!;
    expect(c).toMatchObject({ type: 'dropped', reason: 'expired', source: null });
    expect(h.agent.currentBundle()).toEqual({ kind: 'drop', timestampUs: BigInt(h.now()) * 1000n });
  });

  test('a tombstone from the future is refused and cannot pin the slot', () => {
    h.install(1, KP);
    const far = nowUs() + BigInt(MAX_PEER_CLOCK_AHEAD_MS + 1) * 1000n;
    expect(h.agent.receiveDrop({ timestampUs: far, source: PEER })).toMatchObject({ ok: false, code: 'TIMESTAMP_IN_FUTURE' });
    expect(h.agent.status().active).not.toBeNull();
  });
});

describe('onRefusal (what metrics count)', () => {
  test('hears each refused command and peer bundle with its code, after the refusal; never a success', () => {
    const heard: unknown[] = [];
    const stop = h.agent.onRefusal((r) => heard.push(r));
    expect(h.agent.upload().ok).toBe(false);
    expect(h.agent.dropStaged().ok).toBe(true);
    const wrongCold = peerBundle({ coldSeed: OTHER_COLD_SEED });
    expect(h.agent.receiveBundle({ ...wrongCold, timestampUs: nowUs(), source: PEER }).ok).toBe(false);
    const good = peerBundle();
    expect(h.agent.receiveBundle({ ...good, timestampUs: nowUs(), source: PEER }).ok).toBe(true);
    expect(heard).toEqual([
      { from: 'command', command: 'upload', code: 'NO_STAGED_KEY' },
      { from: 'peer', command: 'receiveBundle', code: 'OPCERT_BAD_SIGNATURE' },
    ]);
    stop();
    expect(h.agent.upload().ok).toBe(false);
    expect(heard).toHaveLength(2);
  });
});
