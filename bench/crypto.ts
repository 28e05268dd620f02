/**
 * Sum6KES cost against the libsodium primitives it is made of (target ratio ≤ 1.2 each).
 *
 * Baselines call libsodium-wrappers directly, with inputs prepared outside the timed loop:
 *  - sign:    1 crypto_sign_detached with a prepared 64-byte seed||pk (docs/kes-construction.md §4.5: the leaf
 *             pk is already in the key, so no keypair derivation is needed).
 *  - verify:  1 crypto_sign_verify_detached + 6 Blake2b-256 of 64-byte vk pairs (docs/kes-construction.md §4.6).
 *  - keygen:  64 crypto_sign_seed_keypair + 126 Blake2b-256 of 33 bytes (63 seed expansions)
 *             + 63 Blake2b-256 of 64 bytes (one vk per inner node) (docs/kes-construction.md §4.2).
 *  - evolve 0→63: the step t → t+1 must rebuild the subtree of depth d = trailing ones of t
 *    from its seed r1 (docs/kes-construction.md §4.7). Its own vk is already stored, so it costs 2^d keypairs
 *    (0 when d = 0: the seed is the leaf), 2^d − 1 expansions and 2^d − 2 pair hashes (d ≥ 1).
 *    Over t = 0..62 there are 2^(5−d) steps of depth d (d = 0..5), so the totals are
 *    Σ 2^(5−d)·2^d for d = 1..5 = 160 keypairs, Σ 2^(5−d)·(2^d − 1) = 129 expansions
 *    = 258 hashes of 33 bytes, and Σ 2^(5−d)·(2^d − 2) for d = 1..5 = 98 hashes of 64 bytes.
 *    test/crypto/kes-security.test.ts checks these counts against the implementation.
 */
import { loadSodium, sodium } from '../src/crypto/sodium';
import { KesSignKey, verifyKes } from '../src/crypto/kes';
import { type BenchRow, type RatioCase, measureRatio, timed } from './harness';

export type { BenchRow } from './harness';

const TARGET = 1.2;
/** About the size of a Babbage/Conway header body, which is what a KES key signs (docs/kes-construction.md §8). */
const MESSAGE_BYTES = 900;

export const KEYGEN_PRIMITIVES = { seedKeypair: 64, hash33: 126, hash64: 63 } as const;
export const FULL_EVOLUTION_PRIMITIVES = { seedKeypair: 160, hash33: 258, hash64: 98 } as const;
const FULL_EVOLUTION_STEPS = 63;

function primitiveBatch(counts: { seedKeypair: number; hash33: number; hash64: number }): (n: number) => number {
  const s = sodium();
  const seeds = Array.from({ length: counts.seedKeypair }, () => s.randombytes_buf(32));
  const in33 = s.randombytes_buf(33);
  const in64 = s.randombytes_buf(64);
  return (n) =>
    timed(() => {
      for (let i = 0; i < n; i++) {
        for (const seed of seeds) s.crypto_sign_seed_keypair(seed);
        for (let j = 0; j < counts.hash33; j++) s.crypto_generichash(32, in33, null);
        for (let j = 0; j < counts.hash64; j++) s.crypto_generichash(32, in64, null);
      }
    });
}

export async function runCryptoBench(): Promise<BenchRow[]> {
  await loadSodium();
  const s = sodium();
  const message = s.randombytes_buf(MESSAGE_BYTES);
  const seed = s.randombytes_buf(32);

  const key = KesSignKey.fromSeed(seed);
  key.evolveTo(21);
  const vk = key.verificationKey();
  const kesSig = key.sign(message);

  const leaf = s.crypto_sign_seed_keypair(s.randombytes_buf(32));
  const edSig = s.crypto_sign_detached(message, leaf.privateKey);
  const pairs = Array.from({ length: 6 }, (_, i) => kesSig.slice(64 + 64 * i, 128 + 64 * i));

  const cases: RatioCase[] = [
    {
      name: 'kes.sign',
      target: TARGET,
      baseline: '1 Ed25519 sign',
      ours: (n) => timed(() => { for (let i = 0; i < n; i++) key.sign(message); }),
      base: (n) => timed(() => { for (let i = 0; i < n; i++) s.crypto_sign_detached(message, leaf.privateKey); }),
    },
    {
      name: 'kes.verify',
      target: TARGET,
      baseline: '1 Ed25519 verify + 6 Blake2b-256(64 B)',
      ours: (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) if (!verifyKes(vk, 21, message, kesSig)) throw new Error('bench: KES verify failed');
        }),
      base: (n) =>
        timed(() => {
          for (let i = 0; i < n; i++) {
            for (const p of pairs) s.crypto_generichash(32, p, null);
            if (!s.crypto_sign_verify_detached(edSig, message, leaf.publicKey)) throw new Error('bench: verify failed');
          }
        }),
    },
    {
      name: 'kes.keygen',
      target: TARGET,
      baseline: '64 seed keypairs + 126 Blake2b-256(33 B) + 63 Blake2b-256(64 B)',
      ours: (n) => timed(() => { for (let i = 0; i < n; i++) KesSignKey.fromSeed(seed).destroy(); }),
      base: primitiveBatch(KEYGEN_PRIMITIVES),
    },
    {
      name: 'kes.evolve_0_to_63',
      target: TARGET,
      baseline: '160 seed keypairs + 258 Blake2b-256(33 B) + 98 Blake2b-256(64 B)',
      ours: (n) => {
        const fresh = KesSignKey.fromSeed(seed);
        const keys = Array.from({ length: n }, () => fresh.clone());
        fresh.destroy();
        const ns = timed(() => {
          for (const k of keys) for (let step = 0; step < FULL_EVOLUTION_STEPS; step++) k.evolve();
        });
        for (const k of keys) k.destroy();
        return ns;
      },
      base: primitiveBatch(FULL_EVOLUTION_PRIMITIVES),
    },
  ];

  try {
    return cases.map(measureRatio);
  } finally {
    key.destroy();
  }
}
