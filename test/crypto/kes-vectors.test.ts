/**
 * Sum6KES against real vectors, byte for byte (docs/kes-construction.md §4, §9): Haskell cardano-base output,
 * cardano-cli key files, and 45 block headers signed by cardano-node on public chains.
 */
import { isKesError } from '../../src/errors';
import { toHex } from '../../src/crypto/bytes';
import { loadSodium } from '../../src/crypto/sodium';
import {
  KES_DEPTH,
  KES_PERIODS,
  KES_SEED_BYTES,
  KES_SIGNATURE_BYTES,
  KES_SIGN_KEY_BYTES,
  KES_VK_BYTES,
  KesSignKey,
  kesVkFromRaw,
  verifyKes,
} from '../../src/crypto/kes';
import { signKeyBytes, signatureBytes } from '../../src/crypto/kes/params';
import { EXPAND_INPUT_BYTES, expandSeed } from '../../src/crypto/kes/primitives';
import { WORKSPACE_BYTES, Workspace, genKey, rootVk, signAt, updateInPlace, verifyAt } from '../../src/crypto/kes/sum';
import { hex, readVectorJson, readVectorText } from '../helpers/vectors';

interface SeedVectors {
  seed_hex: string;
  expand_seed_top: { r0_hex: string; r1_hex: string };
  vk_hex: string;
  sk_by_period: Record<string, string>;
  message_hex: string;
  signatures_by_period: Record<string, string>;
  compact_signatures_by_period: Record<string, string>;
}
interface KesVectors {
  haskell_seed: SeedVectors & {
    lower_depths: { sum0_single_sk_hex: string; sum0_vk_hex: string; sum1_sk_hex: string; sum1_vk_hex: string };
  };
  seed_00_1f: SeedVectors;
  cardano_cli_fixture_key: {
    sk_period0_hex: string;
    vk_hex: string;
    sk_by_period: Record<string, string>;
    message_hex: string;
    signatures_by_period: Record<string, string>;
  };
}
interface ChainHeader {
  source: string;
  relative_period_t: number;
  hot_vk_hex: string;
  message_header_body_cbor_hex: string;
  kes_signature_hex: string;
}

const V = readVectorJson<KesVectors>('kes-vectors.json');
const HEADERS = readVectorJson<{ headers: ChainHeader[] }>('chain-headers.json').headers;

/** Minimal cardano-cli envelope reading for tests: the payload after a known CBOR prefix. */
function envelopePayload(file: string, cborPrefix: string): Uint8Array {
  const cborHex = (JSON.parse(readVectorText('cardano-cli', file)) as { cborHex: string }).cborHex;
  expect(cborHex.startsWith(cborPrefix)).toBe(true);
  return hex(cborHex.slice(cborPrefix.length));
}

function rawOf(key: KesSignKey): Uint8Array {
  const out = new Uint8Array(KES_SIGN_KEY_BYTES);
  key.writeRaw(out);
  return out;
}

/** Evolve `key` through 0..63, calling `at` at each evolution before stepping. */
function walk(key: KesSignKey, at: (t: number) => void): void {
  for (let t = 0; t < KES_PERIODS; t++) {
    expect(key.evolution).toBe(t);
    at(t);
    if (t < KES_PERIODS - 1) key.evolve();
  }
}

beforeAll(async () => {
  await loadSodium();
});

test('constants match docs/kes-construction.md §1', () => {
  expect([KES_DEPTH, KES_PERIODS, KES_SIGN_KEY_BYTES, KES_SIGNATURE_BYTES, KES_VK_BYTES, KES_SEED_BYTES]).toEqual([
    6, 64, 608, 448, 32, 32,
  ]);
  expect([0, 1, 2, 3, 4, 5, 6].map(signKeyBytes)).toEqual([32, 128, 224, 320, 416, 512, 608]);
  expect([0, 1, 2, 3, 4, 5, 6].map(signatureBytes)).toEqual([64, 128, 192, 256, 320, 384, 448]);
});

describe.each([
  ['haskell_seed', V.haskell_seed],
  ['seed_00_1f', V.seed_00_1f],
] as const)('%s', (_name, vec) => {
  test('expandSeed gives r0/r1 of the vector (docs/kes-construction.md §4.1)', () => {
    const r0 = new Uint8Array(32);
    const r1 = new Uint8Array(32);
    const input = new Uint8Array(EXPAND_INPUT_BYTES);
    expandSeed(hex(vec.seed_hex), r0, r1, input);
    expect(toHex(r0)).toBe(vec.expand_seed_top.r0_hex);
    expect(toHex(r1)).toBe(vec.expand_seed_top.r1_hex);
    expect(input.every((b) => b === 0)).toBe(true);
  });

  test('fromSeed + evolutions reproduce sk_by_period and signatures_by_period byte for byte', () => {
    const seed = hex(vec.seed_hex);
    const seedCopy = seed.slice();
    const key = KesSignKey.fromSeed(seed);
    expect(seed).toEqual(seedCopy);
    expect(toHex(key.verificationKey())).toBe(vec.vk_hex);
    const msg = hex(vec.message_hex);
    let skChecked = 0;
    let sigChecked = 0;
    walk(key, (t) => {
      const sk = vec.sk_by_period[String(t)];
      if (sk !== undefined) {
        expect(toHex(rawOf(key))).toBe(sk);
        skChecked++;
      }
      const sig = key.sign(msg);
      expect(sig.length).toBe(KES_SIGNATURE_BYTES);
      const want = vec.signatures_by_period[String(t)];
      if (want !== undefined) {
        expect(toHex(sig)).toBe(want);
        sigChecked++;
      }
      expect(verifyKes(key.verificationKey(), t, msg, sig)).toBe(true);
    });
    expect(skChecked).toBe(Object.keys(vec.sk_by_period).length);
    expect(sigChecked).toBe(Object.keys(vec.signatures_by_period).length);
    expect(toHex(key.verificationKey())).toBe(vec.vk_hex);
    key.destroy();
  });

  test('fromBytes accepts each sk_by_period at its own evolution only, and signs the vector signature', () => {
    const msg = hex(vec.message_hex);
    const vk = hex(vec.vk_hex);
    for (const [tText, skHex] of Object.entries(vec.sk_by_period)) {
      const t = Number(tText);
      const key = KesSignKey.fromBytes(hex(skHex), t, { expectedVk: vk });
      expect(key.evolution).toBe(t);
      const want = vec.signatures_by_period[tText];
      if (want !== undefined) expect(toHex(key.sign(msg))).toBe(want);
      key.destroy();
      for (let other = 0; other < KES_PERIODS; other++) {
        if (other === t) continue;
        expect(() => KesSignKey.fromBytes(hex(skHex), other)).toThrow(
          expect.objectContaining({ code: 'KES_KEY_INVALID' }),
        );
      }
    }
  });

  test('the 288-byte CompactSum signatures are a different scheme', () => {
    const msg = hex(vec.message_hex);
    const vk = hex(vec.vk_hex);
    for (const [tText, compactHex] of Object.entries(vec.compact_signatures_by_period)) {
      const compact = hex(compactHex);
      expect(compact.length).toBe(288);
      const sum = vec.signatures_by_period[tText];
      if (sum !== undefined) expect(sum).not.toBe(compactHex);
      expect(() => verifyKes(vk, Number(tText), msg, compact)).toThrow(expect.objectContaining({ code: 'INVALID_LENGTH' }));
    }
  });
});

describe('haskell_seed lower depths (Haskell key0.bin, key1.bin)', () => {
  const low = V.haskell_seed.lower_depths;

  test.each([
    [0, low.sum0_single_sk_hex, low.sum0_vk_hex],
    [1, low.sum1_sk_hex, low.sum1_vk_hex],
  ])('depth %i: genKey, vk, sign/verify at every period, update to exhaustion', (depth, skHex, vkHex) => {
    const ws = new Workspace(new Uint8Array(WORKSPACE_BYTES));
    const sk = new Uint8Array(signKeyBytes(depth));
    const vk = new Uint8Array(32);
    genKey(depth, hex(V.haskell_seed.seed_hex), sk, vk, ws);
    expect(toHex(sk)).toBe(skHex);
    expect(toHex(vk)).toBe(vkHex);
    expect(toHex(rootVk(depth, sk))).toBe(vkHex);
    const msg = hex(V.haskell_seed.message_hex);
    for (let t = 0; t < 2 ** depth; t++) {
      const sig = signAt(depth, sk, t, msg, ws);
      expect(sig.length).toBe(signatureBytes(depth));
      for (let other = 0; other < 2 ** depth; other++) {
        expect(verifyAt(depth, vk, other, msg, sig)).toBe(other === t);
      }
      expect(updateInPlace(depth, sk, t, ws)).toBe(t < 2 ** depth - 1);
    }
    expect(ws.buffer.every((b) => b === 0)).toBe(true);
  });
});

describe('cardano_cli_fixture_key (cardano-cli key, evolved)', () => {
  const fx = V.cardano_cli_fixture_key;

  test('fromBytes(sk_period0) evolves to sk_by_period and signs signatures_by_period byte for byte', () => {
    const vk = hex(fx.vk_hex);
    const key = KesSignKey.fromBytes(hex(fx.sk_period0_hex), 0, { expectedVk: vk });
    const msg = hex(fx.message_hex);
    let checked = 0;
    walk(key, (t) => {
      const sk = fx.sk_by_period[String(t)];
      if (sk !== undefined) {
        expect(toHex(rawOf(key))).toBe(sk);
        checked++;
      }
      const sig = key.sign(msg);
      const want = fx.signatures_by_period[String(t)];
      if (want !== undefined) {
        expect(toHex(sig)).toBe(want);
        checked++;
      }
      expect(verifyKes(vk, t, msg, sig)).toBe(true);
    });
    expect(checked).toBe(Object.keys(fx.sk_by_period).length + Object.keys(fx.signatures_by_period).length);
    key.destroy();
  });
});

describe('cardano-cli kes.skey / kes.vkey files', () => {
  const raw = envelopePayload('kes.skey', '590260');
  const vk = envelopePayload('kes.vkey', '5820');

  test('payload sizes and vk = Blake2b-256(last 64 bytes) (docs/kes-construction.md §4.3, §6)', () => {
    expect(raw.length).toBe(KES_SIGN_KEY_BYTES);
    expect(vk.length).toBe(KES_VK_BYTES);
    expect(toHex(kesVkFromRaw(raw))).toBe(toHex(vk));
    expect(toHex(vk)).toBe(V.cardano_cli_fixture_key.vk_hex);
  });

  test('evolve 0..63: every signature verifies under kes.vkey at its own t only; evolving past 63 fails, key unchanged', () => {
    const key = KesSignKey.fromBytes(raw, 0, { expectedVk: vk });
    const msg = new TextEncoder().encode('a header body stands in here');
    const sigs: Uint8Array[] = [];
    walk(key, (t) => {
      const sig = key.sign(msg);
      expect(verifyKes(vk, t, msg, sig)).toBe(true);
      sigs.push(sig);
    });
    // A valid signature verifies only at its own period (docs/kes-construction.md §4.6), checked every t × every t.
    for (let t = 0; t < KES_PERIODS; t++) {
      for (let other = 0; other < KES_PERIODS; other++) {
        if (other !== t) expect(verifyKes(vk, other, msg, sigs[t]!)).toBe(false);
      }
    }
    const before = rawOf(key);
    let caught: unknown;
    try {
      key.evolve();
    } catch (e) {
      caught = e;
    }
    expect(isKesError(caught, 'KES_KEY_EXHAUSTED')).toBe(true);
    expect(key.evolution).toBe(63);
    expect(rawOf(key)).toEqual(before);
    expect(key.sign(msg)).toEqual(sigs[63]);
    expect(toHex(key.verificationKey())).toBe(toHex(vk));
    key.destroy();
  });
});

describe('45 real block headers (docs/kes-construction.md §7, §8)', () => {
  test('the vector file has the 45 headers', () => {
    expect(HEADERS.length).toBe(45);
  });

  test.each(HEADERS.map((h, i) => [i, h.source, h] as const))('#%i %s verifies at t and not at t±1', (_i, _src, h) => {
    const vk = hex(h.hot_vk_hex);
    const body = hex(h.message_header_body_cbor_hex);
    const sig = hex(h.kes_signature_hex);
    const t = h.relative_period_t;
    expect(sig.length).toBe(KES_SIGNATURE_BYTES);
    expect(verifyKes(vk, t, body, sig)).toBe(true);
    if (t > 0) expect(verifyKes(vk, t - 1, body, sig)).toBe(false);
    if (t < KES_PERIODS - 1) expect(verifyKes(vk, t + 1, body, sig)).toBe(false);
  });
});
