/**
 * The two slots own their keys: they refuse keys in the wrong state, hand out copies of public
 * data only, move a key exactly once, and wipe on destroy.
 */
import { inspect } from 'node:util';
import { loadSodium } from '../../src/crypto/sodium';
import { KesSignKey } from '../../src/crypto/kes';
import { bytesEqual, toHex } from '../../src/crypto/bytes';
import { isKesError } from '../../src/errors';
import { issueOpcert, type Opcert } from '../../src/cardano/opcert';
import { ActiveSlot, StagedSlot } from '../../src/slots';

const COLD_SEED = new Uint8Array(32).fill(9);
const SEED_A = new Uint8Array(32).fill(1);
const SEED_B = new Uint8Array(32).fill(2);

beforeAll(async () => {
  await loadSodium();
});

function opcertFor(key: KesSignKey, counter = 1, kesPeriod = 10): Opcert {
  return issueOpcert({ hotVk: key.verificationKey(), counter, kesPeriod, coldSeed: COLD_SEED });
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isKesError(e) ? e.code : `not a KesError: ${String(e)}`;
  }
  return undefined;
}

describe('StagedSlot', () => {
  test('takes only a live key at evolution 0', () => {
    const evolved = KesSignKey.fromSeed(SEED_A);
    evolved.evolve();
    expect(code(() => new StagedSlot(evolved))).toBe('OUT_OF_RANGE');
    expect(evolved.destroyed).toBe(false); // refusing is not taking ownership
    evolved.destroy();
    const dead = KesSignKey.fromSeed(SEED_A);
    dead.destroy();
    expect(code(() => new StagedSlot(dead))).toBe('KES_KEY_DESTROYED');
  });

  test('attaches only an opcert for its own key, and keeps a copy', () => {
    const a = KesSignKey.fromSeed(SEED_A);
    const b = KesSignKey.fromSeed(SEED_B);
    const slot = new StagedSlot(a);
    expect(code(() => slot.attachOpcert(opcertFor(b)))).toBe('INVALID_ARGUMENT');
    expect(slot.opcert).toBeNull();
    const o = opcertFor(a, 4);
    slot.attachOpcert(o);
    o.sigma.fill(0);
    expect(slot.opcert?.sigma.some((x) => x !== 0)).toBe(true);
    slot.opcert!.hotVk.fill(0); // a copy: mutating it changes nothing inside
    expect(bytesEqual(slot.opcert!.hotVk, a.verificationKey())).toBe(true);
    expect(bytesEqual(slot.kesVk, a.verificationKey())).toBe(true);
    slot.destroy();
    b.destroy();
  });

  test('moves its key out exactly once; destroy afterwards does not touch the moved key', () => {
    const a = KesSignKey.fromSeed(SEED_A);
    const slot = new StagedSlot(a);
    expect(code(() => slot.takeBundle())).toBe('INVALID_ARGUMENT'); // no opcert yet
    expect(slot.holdsKey).toBe(true);
    slot.attachOpcert(opcertFor(a));
    const { key, opcert } = slot.takeBundle();
    expect(key).toBe(a);
    expect(opcert.counter).toBe(1);
    expect(slot.holdsKey).toBe(false);
    expect(code(() => slot.takeBundle())).toBe('KES_KEY_DESTROYED');
    slot.destroy();
    expect(a.destroyed).toBe(false);
    a.destroy();
  });

  test('destroy wipes the key; it is idempotent', () => {
    const a = KesSignKey.fromSeed(SEED_A);
    const slot = new StagedSlot(a);
    slot.destroy();
    slot.destroy();
    expect(a.destroyed).toBe(true);
    expect(slot.holdsKey).toBe(false);
    const twin = KesSignKey.fromSeed(SEED_A);
    expect(code(() => slot.attachOpcert(opcertFor(twin)))).toBe('KES_KEY_DESTROYED');
    twin.destroy();
  });

  test('JSON and inspect show no key bytes', () => {
    const a = KesSignKey.fromSeed(SEED_A);
    const slot = new StagedSlot(a);
    const raw = new Uint8Array(608);
    a.writeRaw(raw);
    expect(JSON.stringify(slot)).toBe('{}');
    expect(inspect(slot, { depth: Infinity, showHidden: true })).toBe('StagedSlot <no opcert>');
    expect(inspect(slot)).not.toContain(toHex(raw.subarray(0, 16)));
    raw.fill(0);
    slot.destroy();
  });
});

describe('ActiveSlot', () => {
  test('refuses an opcert for another key and a destroyed key', () => {
    const a = KesSignKey.fromSeed(SEED_A);
    const b = KesSignKey.fromSeed(SEED_B);
    expect(code(() => new ActiveSlot(a, opcertFor(b), 0))).toBe('INVALID_ARGUMENT');
    b.destroy();
    expect(code(() => new ActiveSlot(b, opcertFor(a), 0))).toBe('KES_KEY_DESTROYED');
    a.destroy();
  });

  test('exposes public facts, evolves forward only, lends the key, wipes on destroy', () => {
    const a = KesSignKey.fromSeed(SEED_A);
    const vk = a.verificationKey();
    const slot = new ActiveSlot(a, opcertFor(a, 7, 42), 1_700_000_000_000);
    expect([slot.counter, slot.startKesPeriod, slot.installedAtMs, slot.evolution]).toEqual([7, 42, 1_700_000_000_000, 0]);
    expect(bytesEqual(slot.kesVk, vk)).toBe(true);
    slot.evolveTo(3);
    expect(slot.evolution).toBe(3);
    slot.evolveTo(1); // a clock stepping back: no-op, no error
    expect(slot.evolution).toBe(3);
    expect(slot.borrow((k) => k)).toBe(a);
    expect(inspect(slot)).toBe('ActiveSlot <counter 7, c0 42, evolution 3>');
    expect(JSON.stringify(slot)).toBe('{}');
    slot.destroy();
    slot.destroy();
    expect(a.destroyed).toBe(true);
    expect(slot.holdsKey).toBe(false);
    expect(code(() => slot.borrow(() => 1))).toBe('KES_KEY_DESTROYED');
    expect(code(() => slot.evolution)).toBe('KES_KEY_DESTROYED');
    expect(slot.counter).toBe(7); // public facts outlive the key
  });
});
