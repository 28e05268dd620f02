/**
 * Sum6KES rejects what it must: tampered signatures, wrong periods, malformed arguments of every
 * type, forged keys (random bytes ending in the root vk pair, which every KES signature publishes, have the
 * right vk), and any use after destroy().
 */
import { inspect } from 'node:util';
import type { ErrorCode } from '../../src/errors';
import { toHex } from '../../src/crypto/bytes';
import { loadSodium } from '../../src/crypto/sodium';
import { KES_PERIODS, KES_SIGN_KEY_BYTES, KesSignKey, kesVkFromRaw, verifyKes } from '../../src/crypto/kes';
import { hex, readVectorJson } from '../helpers/vectors';

interface Fixture {
  cardano_cli_fixture_key: { sk_period0_hex: string; vk_hex: string };
  seed_00_1f: { seed_hex: string };
}
const FX = readVectorJson<Fixture>('kes-vectors.json');
const CLI_RAW = hex(FX.cardano_cli_fixture_key.sk_period0_hex);
const CLI_VK = hex(FX.cardano_cli_fixture_key.vk_hex);
const SEED = hex(FX.seed_00_1f.seed_hex);
const MSG = new TextEncoder().encode('negative tests');

function codeOf(f: () => unknown): ErrorCode | 'no error' | 'not a KesError' {
  try {
    f();
    return 'no error';
  } catch (e) {
    return (e as { code?: ErrorCode }).code ?? 'not a KesError';
  }
}

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

beforeAll(async () => {
  await loadSodium();
});

describe('tampered signatures', () => {
  test.each([0, 37, 63])('every single-bit flip of a t=%i signature fails to verify', (t) => {
    const key = KesSignKey.fromSeed(SEED);
    key.evolveTo(t);
    const vk = key.verificationKey();
    const sig = key.sign(MSG);
    expect(verifyKes(vk, t, MSG, sig)).toBe(true);
    let accepted = 0;
    for (let i = 0; i < sig.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        sig[i]! ^= 1 << bit;
        if (verifyKes(vk, t, MSG, sig)) accepted++;
        sig[i]! ^= 1 << bit;
      }
    }
    expect(accepted).toBe(0);
    expect(verifyKes(vk, t, MSG, sig)).toBe(true);
    key.destroy();
  });

  test('wrong message, wrong vk, and vk pairs swapped at a level fail', () => {
    const key = KesSignKey.fromSeed(SEED);
    key.evolveTo(5);
    const vk = key.verificationKey();
    const sig = key.sign(MSG);
    expect(verifyKes(vk, 5, new TextEncoder().encode('negative testS'), sig)).toBe(false);
    expect(verifyKes(vk, 5, new Uint8Array(0), sig)).toBe(false);
    const otherVk = vk.slice();
    otherVk[0]! ^= 1;
    expect(verifyKes(otherVk, 5, MSG, sig)).toBe(false);
    // Swapping vk0/vk1 at the bottom level keeps the Ed25519 part but breaks the hash chain.
    const swapped = sig.slice();
    swapped.set(sig.subarray(96, 128), 64);
    swapped.set(sig.subarray(64, 96), 96);
    expect(verifyKes(vk, 5, MSG, swapped)).toBe(false);
    expect(verifyKes(vk, 5, MSG, new Uint8Array(448))).toBe(false);
    key.destroy();
  });

  test('the key signs at its own evolution only (docs/kes-construction.md §4.5)', () => {
    const key = KesSignKey.fromSeed(SEED);
    const vk = key.verificationKey();
    key.evolveTo(33);
    const sig = key.sign(MSG);
    const ok = [];
    for (let t = 0; t < KES_PERIODS; t++) if (verifyKes(vk, t, MSG, sig)) ok.push(t);
    expect(ok).toEqual([33]);
    key.destroy();
  });
});

describe('malformed arguments throw stable codes', () => {
  const NOT_BYTES: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['a string', 'a'.repeat(32)],
    ['number[]', new Array<number>(32).fill(0)],
    ['bigint', 32n],
    ['{length:32}', { length: 32 }],
    ['NaN', NaN],
    ['DataView', new DataView(new ArrayBuffer(32))],
    ['ArrayBuffer', new ArrayBuffer(32)],
    ['Uint16Array', new Uint16Array(16)],
  ];
  const NOT_PERIODS: [string, unknown, ErrorCode][] = [
    ['64', 64, 'OUT_OF_RANGE'],
    ['-1', -1, 'OUT_OF_RANGE'],
    ['1.5', 1.5, 'INVALID_ARGUMENT'],
    ['NaN', NaN, 'INVALID_ARGUMENT'],
    ['Infinity', Infinity, 'INVALID_ARGUMENT'],
    ['"3"', '3', 'INVALID_ARGUMENT'],
    ['3n', 3n, 'INVALID_ARGUMENT'],
    ['null', null, 'INVALID_ARGUMENT'],
    ['undefined', undefined, 'INVALID_ARGUMENT'],
  ];

  let key: KesSignKey;
  let vk: Uint8Array;
  let sig: Uint8Array;
  beforeAll(() => {
    key = KesSignKey.fromSeed(SEED);
    vk = key.verificationKey();
    sig = key.sign(MSG);
  });
  afterAll(() => key.destroy());

  /** Every function that takes bytes, with the bytes argument replaced by `x`. */
  const byteTakers: [string, (x: unknown) => unknown][] = [
    ['fromSeed(seed)', (x) => KesSignKey.fromSeed(x as Uint8Array)],
    ['fromBytes(raw)', (x) => KesSignKey.fromBytes(x as Uint8Array, 0)],
    ['fromBytes(expectedVk)', (x) => KesSignKey.fromBytes(CLI_RAW, 0, { expectedVk: x as Uint8Array })],
    ['sign(message)', (x) => key.sign(x as Uint8Array)],
    ['writeRaw(target)', (x) => key.writeRaw(x as Uint8Array)],
    ['verifyKes(vk)', (x) => verifyKes(x as Uint8Array, 0, MSG, sig)],
    ['verifyKes(message)', (x) => verifyKes(vk, 0, x as Uint8Array, sig)],
    ['verifyKes(signature)', (x) => verifyKes(vk, 0, MSG, x as Uint8Array)],
    ['kesVkFromRaw(raw)', (x) => kesVkFromRaw(x as Uint8Array)],
  ];

  test.each(byteTakers)('%s rejects every non-Uint8Array with INVALID_ARGUMENT', (name, f) => {
    // An expectedVk of undefined means "not given" (tested below); every other value is checked.
    const table = name === 'fromBytes(expectedVk)' ? NOT_BYTES.filter(([label]) => label !== 'undefined') : NOT_BYTES;
    const got = table.map(([label, x]) => [label, codeOf(() => f(x))]);
    expect(got).toEqual(table.map(([label]) => [label, 'INVALID_ARGUMENT']));
  });

  test('fromBytes with expectedVk: undefined is the same as not giving it', () => {
    const k = KesSignKey.fromBytes(CLI_RAW, 0, { expectedVk: undefined });
    expect(k.verificationKey()).toEqual(CLI_VK);
    k.destroy();
  });

  test('a Node Buffer is a Uint8Array and is accepted', () => {
    expect(verifyKes(Buffer.from(vk), 0, Buffer.from(MSG), Buffer.from(sig))).toBe(true);
  });

  test.each([
    ['fromSeed(seed)', (n: number) => KesSignKey.fromSeed(new Uint8Array(n)), [0, 31, 33, 64]],
    ['fromBytes(raw)', (n: number) => KesSignKey.fromBytes(new Uint8Array(n), 0), [0, 607, 609, 612]],
    [
      'fromBytes(expectedVk)',
      (n: number) => KesSignKey.fromBytes(CLI_RAW, 0, { expectedVk: new Uint8Array(n) }),
      [0, 31, 33],
    ],
    ['writeRaw(target)', (n: number) => key.writeRaw(new Uint8Array(n)), [0, 607]],
    ['verifyKes(vk)', (n: number) => verifyKes(new Uint8Array(n), 0, MSG, sig), [0, 31, 33, 64]],
    ['verifyKes(signature)', (n: number) => verifyKes(vk, 0, MSG, new Uint8Array(n)), [0, 64, 288, 447, 449, 896]],
    ['kesVkFromRaw(raw)', (n: number) => kesVkFromRaw(new Uint8Array(n)), [0, 64, 607, 612]],
  ] as const)('%s rejects truncated/oversized input with INVALID_LENGTH', (_name, f, lengths) => {
    for (const n of lengths) expect([n, codeOf(() => f(n))]).toEqual([n, 'INVALID_LENGTH']);
  });

  test('verifyKes also rejects a truncated/oversized real signature (INVALID_LENGTH)', () => {
    expect(codeOf(() => verifyKes(vk, 0, MSG, sig.subarray(0, 447)))).toBe('INVALID_LENGTH');
    const long = new Uint8Array(449);
    long.set(sig);
    expect(codeOf(() => verifyKes(vk, 0, MSG, long))).toBe('INVALID_LENGTH');
  });

  const numberTakers: [string, (x: unknown) => unknown][] = [
    ['verifyKes(period)', (x) => verifyKes(vk, x as number, MSG, sig)],
    ['fromBytes(evolution)', (x) => KesSignKey.fromBytes(CLI_RAW, x as number)],
    ['evolveTo(evolution)', (x) => key.clone().evolveTo(x as number)],
  ];
  test.each(numberTakers)('%s: t = 64, -1, 1.5, NaN, … throw', (_name, f) => {
    const got = NOT_PERIODS.map(([label, x]) => [label, codeOf(() => f(x))]);
    expect(got).toEqual(NOT_PERIODS.map(([label, , code]) => [label, code]));
  });

  test('writeRaw offset must be an integer that leaves room for 608 bytes', () => {
    const target = new Uint8Array(KES_SIGN_KEY_BYTES + 10);
    key.writeRaw(target, 10);
    const direct = new Uint8Array(KES_SIGN_KEY_BYTES);
    key.writeRaw(direct);
    expect(target.subarray(10)).toEqual(direct);
    expect(target.subarray(0, 10).every((b) => b === 0)).toBe(true);
    expect(codeOf(() => key.writeRaw(target, 11))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => key.writeRaw(target, -1))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => key.writeRaw(target, 1.5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => key.writeRaw(target, NaN))).toBe('INVALID_ARGUMENT');
  });

  test('evolveTo backwards is OUT_OF_RANGE and changes nothing; evolveTo(current) is a no-op', () => {
    const k = KesSignKey.fromSeed(SEED);
    k.evolveTo(3);
    const before = new Uint8Array(KES_SIGN_KEY_BYTES);
    k.writeRaw(before);
    expect(codeOf(() => k.evolveTo(2))).toBe('OUT_OF_RANGE');
    k.evolveTo(3);
    const after = new Uint8Array(KES_SIGN_KEY_BYTES);
    k.writeRaw(after);
    expect(k.evolution).toBe(3);
    expect(after).toEqual(before);
    k.destroy();
  });

  test('the constructor cannot be reached around the factories', () => {
    const Ctor = KesSignKey as unknown as new (...args: unknown[]) => unknown;
    expect(codeOf(() => new Ctor(Symbol('KesSignKey.construct'), new Uint8Array(608), null, 0))).toBe('INVALID_ARGUMENT');
  });
});

describe('forged and corrupted keys are rejected by fromBytes', () => {
  /**
   * Random bytes + the root vk pair (bytes 384..448 of any signature the pool published) pass a naive
   * derived-vk check.
   */
  function forged(): Uint8Array {
    const raw = new Uint8Array(KES_SIGN_KEY_BYTES).fill(0xab);
    raw.set(CLI_RAW.subarray(544, 608), 544);
    return raw;
  }

  test('the dingo forged key has the real vk, and fromBytes rejects it at every evolution, without echoing bytes', () => {
    const raw = forged();
    expect(kesVkFromRaw(raw)).toEqual(CLI_VK);
    for (let t = 0; t < KES_PERIODS; t++) {
      const f = (): unknown => KesSignKey.fromBytes(raw, t, { expectedVk: CLI_VK });
      expect([t, codeOf(f)]).toEqual([t, 'KES_KEY_INVALID']);
      expect([t, codeOf(() => KesSignKey.fromBytes(raw, t))]).toEqual([t, 'KES_KEY_INVALID']);
      const msg = messageOf(f).toLowerCase();
      expect(msg).not.toMatch(/abab|[0-9a-f]{16}/);
      expect(msg).not.toContain(toHex(CLI_VK).slice(0, 8));
    }
  });

  test('a variant that also copies the level-5 pair (consistent hash chain at the top) is rejected', () => {
    const raw = forged();
    raw.set(CLI_RAW.subarray(448, 512), 448);
    expect(codeOf(() => KesSignKey.fromBytes(raw, 0, { expectedVk: CLI_VK }))).toBe('KES_KEY_INVALID');
  });

  test('a real key with the wrong expectedVk is rejected', () => {
    const wrong = CLI_VK.slice();
    wrong[31]! ^= 0x80;
    expect(codeOf(() => KesSignKey.fromBytes(CLI_RAW, 0, { expectedVk: wrong }))).toBe('KES_KEY_INVALID');
  });

  test('any single-byte change anywhere in a real evolution-0 key is rejected', () => {
    const raw = CLI_RAW.slice();
    const accepted: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      raw[i]! ^= 0x01 << i % 8;
      if (codeOf(() => KesSignKey.fromBytes(raw, 0).destroy()) !== 'KES_KEY_INVALID') accepted.push(i);
      raw[i]! ^= 0x01 << i % 8;
    }
    expect(accepted).toEqual([]);
  });

  test('any single-byte change in a real evolution-63 key is rejected when the vk is known', () => {
    const k = KesSignKey.fromBytes(CLI_RAW, 0);
    k.evolveTo(63);
    const raw = new Uint8Array(KES_SIGN_KEY_BYTES);
    k.writeRaw(raw);
    k.destroy();
    expect(codeOf(() => KesSignKey.fromBytes(raw, 63, { expectedVk: CLI_VK }).destroy())).toBe('no error');
    const accepted: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      raw[i]! ^= 0x80 >> i % 8;
      if (codeOf(() => KesSignKey.fromBytes(raw, 63, { expectedVk: CLI_VK }).destroy()) !== 'KES_KEY_INVALID') {
        accepted.push(i);
      }
      raw[i]! ^= 0x80 >> i % 8;
    }
    raw.fill(0);
    expect(accepted).toEqual([]);
  });

  test('all zeros and all 0xff are rejected', () => {
    for (const fill of [0x00, 0xff]) {
      const raw = new Uint8Array(KES_SIGN_KEY_BYTES).fill(fill);
      for (const t of [0, 1, 31, 63]) expect(codeOf(() => KesSignKey.fromBytes(raw, t))).toBe('KES_KEY_INVALID');
    }
  });

  test('fromBytes copies: changing the caller buffer afterwards does not change the key', () => {
    const raw = CLI_RAW.slice();
    const k = KesSignKey.fromBytes(raw, 0);
    raw.fill(0);
    const out = new Uint8Array(KES_SIGN_KEY_BYTES);
    k.writeRaw(out);
    expect(out).toEqual(CLI_RAW);
    k.destroy();
  });
});

describe('use after destroy', () => {
  test('every method throws KES_KEY_DESTROYED; destroy is idempotent; destroyed is readable', () => {
    const key = KesSignKey.fromSeed(SEED);
    expect(key.destroyed).toBe(false);
    key.destroy();
    key.destroy();
    expect(key.destroyed).toBe(true);
    const uses: [string, () => unknown][] = [
      ['evolution', () => key.evolution],
      ['verificationKey', () => key.verificationKey()],
      ['sign', () => key.sign(MSG)],
      ['evolve', () => key.evolve()],
      ['evolveTo', () => key.evolveTo(5)],
      ['writeRaw', () => key.writeRaw(new Uint8Array(KES_SIGN_KEY_BYTES))],
      ['clone', () => key.clone()],
    ];
    expect(uses.map(([n, f]) => [n, codeOf(f)])).toEqual(uses.map(([n]) => [n, 'KES_KEY_DESTROYED']));
  });

  test('a clone is independent of its origin', () => {
    const a = KesSignKey.fromSeed(SEED);
    a.evolveTo(2);
    const b = a.clone();
    expect(b.evolution).toBe(2);
    b.evolve();
    expect(a.evolution).toBe(2);
    a.destroy();
    expect(b.destroyed).toBe(false);
    expect(verifyKes(b.verificationKey(), 3, MSG, b.sign(MSG))).toBe(true);
    b.destroy();
  });

  test('inspect and JSON never show key bytes', () => {
    const key = KesSignKey.fromSeed(SEED);
    key.evolveTo(7);
    expect(inspect(key)).toBe('KesSignKey <evolution 7>');
    expect(JSON.stringify(key)).toBe('{"type":"KesSignKey","evolution":7}');
    expect(String(key)).toBe('[object Object]');
    key.destroy();
    expect(inspect(key)).toBe('KesSignKey <destroyed>');
  });
});
