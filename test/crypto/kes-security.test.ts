/**
 * Sum6KES forward security and hygiene (docs/kes-construction.md §4.7): evolution erases exactly the seeds it
 * must, in place; every secret buffer and every libsodium result holding a secret is wiped; key
 * generation and evolution cost exactly the primitives the scheme requires.
 */
import * as secretMemory from '../../src/crypto/secret-memory';
import { bytesEqual } from '../../src/crypto/bytes';
import { loadSodium, sodium } from '../../src/crypto/sodium';
import { KES_PERIODS, KES_SIGN_KEY_BYTES, KesSignKey, verifyKes } from '../../src/crypto/kes';
import { evolutionLevel, r1Offset } from '../../src/crypto/kes/params';
import { type PrimitiveCalls, primitiveCalls, resetPrimitiveCalls } from '../../src/crypto/kes/primitives';
import { hex, readVectorJson } from '../helpers/vectors';

const SEED = hex(readVectorJson<{ seed_00_1f: { seed_hex: string } }>('kes-vectors.json').seed_00_1f.seed_hex);
const MSG = new TextEncoder().encode('security tests');

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

function raw(key: KesSignKey): Uint8Array {
  const out = new Uint8Array(KES_SIGN_KEY_BYTES);
  key.writeRaw(out);
  return out;
}

function r1(sk: Uint8Array, level: number): Uint8Array {
  return sk.subarray(r1Offset(level), r1Offset(level) + 32);
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (bytesEqual(haystack.subarray(i, i + needle.length), needle)) return true;
  }
  return false;
}

/** Buffers handed out by allocSecret while `f` runs (spy calls through: real allocation). */
function capturingSecrets<T>(f: () => T): { result: T; buffers: Uint8Array[] } {
  const spy = jest.spyOn(secretMemory, 'allocSecret');
  try {
    const result = f();
    return { result, buffers: spy.mock.results.map((r) => r.value as Uint8Array) };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  await loadSodium();
});

describe('forward security (docs/kes-construction.md §4.7)', () => {
  test('at every t, r1 of level l is zero exactly when bit l−1 of t is set', () => {
    const key = KesSignKey.fromSeed(SEED);
    for (let t = 0; t < KES_PERIODS; t++) {
      const sk = raw(key);
      const pattern = [1, 2, 3, 4, 5, 6].map((l) => (isZero(r1(sk, l)) ? 1 : 0));
      expect([t, pattern]).toEqual([t, [1, 2, 3, 4, 5, 6].map((l) => (t >> (l - 1)) & 1)]);
      if (t < KES_PERIODS - 1) key.evolve();
    }
    key.destroy();
  });

  test('t = 5 = 0b000101: r1 erased at levels 1 and 3, present at 2, 4, 5, 6 (Haskell key6update5.bin layout)', () => {
    const key = KesSignKey.fromSeed(SEED);
    key.evolveTo(5);
    const sk = raw(key);
    expect([1, 2, 3, 4, 5, 6].map((l) => !isZero(r1(sk, l)))).toEqual([false, true, false, true, true, true]);
    key.destroy();
  });

  test('no earlier leaf seed or consumed r1 survives anywhere in the key or its workspace', () => {
    const { result: key, buffers } = capturingSecrets(() => KesSignKey.fromSeed(SEED));
    expect(buffers.length).toBeGreaterThanOrEqual(2);
    const past: Uint8Array[] = [];
    for (let t = 0; t < KES_PERIODS - 1; t++) {
      const sk = raw(key);
      past.push(sk.slice(0, 32));
      const level = evolutionLevel(t);
      const consumed = r1(sk, level).slice();
      key.evolve();
      // At level 1 the consumed r1 IS the new leaf seed (genKey(0, r1) = r1); above that it is
      // expanded and must be gone. The previous leaf seed must always be gone.
      if (level > 1) past.push(consumed);
      for (const buf of buffers) {
        for (const p of past) expect(contains(buf, p)).toBe(false);
      }
    }
    key.destroy();
  });
});

describe('wiping', () => {
  test('fromSeed: the seed copy and the workspace are zero afterwards; destroy() zeroes the key buffer', () => {
    const { result: key, buffers } = capturingSecrets(() => KesSignKey.fromSeed(SEED));
    const skBuf = buffers.find((b) => b.length === KES_SIGN_KEY_BYTES);
    expect(skBuf).toBeDefined();
    expect(bytesEqual(skBuf!, raw(key))).toBe(true);
    for (const b of buffers) if (b !== skBuf) expect(isZero(b)).toBe(true);
    key.sign(MSG);
    key.evolve();
    for (const b of buffers) if (b !== skBuf) expect(isZero(b)).toBe(true);
    expect(isZero(skBuf!)).toBe(false);
    key.destroy();
    for (const b of buffers) expect(isZero(b)).toBe(true);
  });

  test('generate(): fresh keys differ, sign and verify; our random seed buffer is wiped', () => {
    const { result: a, buffers } = capturingSecrets(() => KesSignKey.generate());
    const b = KesSignKey.generate();
    expect(bytesEqual(a.verificationKey(), b.verificationKey())).toBe(false);
    expect(verifyKes(a.verificationKey(), 0, MSG, a.sign(MSG))).toBe(true);
    const seedBuf = buffers.find((x) => x.length === 32);
    expect(seedBuf).toBeDefined();
    expect(isZero(seedBuf!)).toBe(true);
    a.destroy();
    b.destroy();
  });

  // The wrapper copies arguments into the WASM heap and frees them unwiped, and returns secrets in
  // fresh arrays. Secret calls must bypass it entirely; what they leave in the heap
  // is checked by scanning HEAPU8 in sodium-heap.test.ts.
  test('keygen, evolution and signing never pass a secret through libsodium-wrappers', () => {
    const s = sodium();
    const spies = (['crypto_sign_seed_keypair', 'crypto_sign_detached', 'randombytes_buf', 'crypto_sign_keypair'] as const).map((name) => jest.spyOn(s, name));
    const gh = jest.spyOn(s, 'crypto_generichash');
    try {
      const key = KesSignKey.fromSeed(SEED);
      key.evolveTo(40);
      key.sign(MSG);
      key.destroy();
      KesSignKey.generate().destroy();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
      // The wrapper's Blake2b sees only public data: 64-byte vk pairs, never a 33-byte prefixed seed.
      expect(gh.mock.calls.length).toBeGreaterThan(0);
      expect(gh.mock.calls.every((c) => (c[1] as Uint8Array).length === 64)).toBe(true);
    } finally {
      for (const spy of spies) spy.mockRestore();
      gh.mockRestore();
    }
  });

  test('a failed fromBytes leaves nothing behind in its secret buffers', () => {
    const real = KesSignKey.fromSeed(SEED);
    const forged = new Uint8Array(KES_SIGN_KEY_BYTES).fill(0xab);
    forged.set(raw(real).subarray(544), 544);
    const { buffers } = capturingSecrets(() => {
      expect(() => KesSignKey.fromBytes(forged, 0)).toThrow();
    });
    expect(buffers.length).toBeGreaterThanOrEqual(2);
    for (const b of buffers) expect(isZero(b)).toBe(true);
    real.destroy();
  });
});

describe('primitive call counts', () => {
  function counted(f: () => void): PrimitiveCalls {
    resetPrimitiveCalls();
    f();
    return primitiveCalls();
  }

  test('keygen = 64 seed keypairs + 126 expansion hashes + 63 pair hashes (docs/kes-construction.md §4.2)', () => {
    let key: KesSignKey | undefined;
    expect(counted(() => (key = KesSignKey.fromSeed(SEED)))).toEqual({
      seedKeypair: 64,
      expandHash: 126,
      pairHash: 63,
      sign: 0,
      verify: 0,
    });
    key!.destroy();
  });

  test('each step t → t+1 regenerates only the level-(trailing ones + 1) subtree; 0 → 63 totals 160/258/98', () => {
    const key = KesSignKey.fromSeed(SEED);
    const total: PrimitiveCalls = { seedKeypair: 0, expandHash: 0, pairHash: 0, sign: 0, verify: 0 };
    for (let t = 0; t < KES_PERIODS - 1; t++) {
      const d = evolutionLevel(t) - 1; // depth of the regenerated subtree
      const c = counted(() => key.evolve());
      expect([t, c]).toEqual([
        t,
        {
          seedKeypair: d === 0 ? 0 : 2 ** d,
          expandHash: 2 * (2 ** d - 1),
          pairHash: d === 0 ? 0 : 2 ** d - 2,
          sign: 0,
          verify: 0,
        },
      ]);
      for (const k of Object.keys(total) as (keyof PrimitiveCalls)[]) total[k] += c[k];
    }
    expect(total).toEqual({ seedKeypair: 160, expandHash: 258, pairHash: 98, sign: 0, verify: 0 });
    key.destroy();
  });

  test('sign = 1 Ed25519 sign; verify = 6 pair hashes + 1 Ed25519 verify', () => {
    const key = KesSignKey.fromSeed(SEED);
    key.evolveTo(21);
    let sig: Uint8Array = new Uint8Array(0);
    expect(counted(() => (sig = key.sign(MSG)))).toEqual({ seedKeypair: 0, expandHash: 0, pairHash: 0, sign: 1, verify: 0 });
    const vk = key.verificationKey();
    expect(counted(() => expect(verifyKes(vk, 21, MSG, sig)).toBe(true))).toEqual({
      seedKeypair: 0,
      expandHash: 0,
      pairHash: 6,
      sign: 0,
      verify: 1,
    });
    key.destroy();
  });
});
