/**
 * libsodium-wrappers leaves every secret argument in its WASM heap. Our heap
 * helper must not: after keygen, signing and evolving, no 16-byte window of the key, the seed or
 * the cold seed is anywhere in HEAPU8. The positive control shows the scan finds what the plain
 * wrapper leaves behind.
 */
import { loadSodium, sodium } from '../../src/crypto/sodium';
import { KesSignKey, KES_SIGN_KEY_BYTES } from '../../src/crypto/kes';
import { ed25519Sign } from '../../src/crypto/ed25519';
import { lockSodiumHeap, sodiumHeapState } from '../../src/crypto/sodium-heap';
import { loadNative } from '../../src/native';

const WINDOW = 16;

function heap(): Uint8Array {
  return (sodium() as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium.HEAPU8;
}

/** Every WINDOW-byte window of `secret` found in the heap, by offset into the secret. */
function windowsInHeap(secret: Uint8Array): number[] {
  const h = Buffer.from(heap().buffer, heap().byteOffset, heap().byteLength);
  const found: number[] = [];
  for (let i = 0; i + WINDOW <= secret.length; i += WINDOW) {
    const w = secret.subarray(i, i + WINDOW);
    if (w.every((b) => b === 0)) continue; // wiped levels of an evolved key are zeros
    if (h.indexOf(Buffer.from(w)) >= 0) found.push(i);
  }
  return found;
}

beforeAll(async () => {
  await loadSodium();
});

describe('secrets in libsodium heap', () => {
  it('positive control: the plain wrapper leaves a signing seed in the heap, and the scan finds it', () => {
    const seed = sodium().randombytes_buf(32);
    const kp = sodium().crypto_sign_seed_keypair(seed);
    sodium().crypto_sign_detached(new Uint8Array([1, 2, 3]), kp.privateKey);
    expect(windowsInHeap(kp.privateKey).length).toBeGreaterThan(0);
  });

  it('KES keygen, sign and evolve through our helper leave no window of any evolution in the heap', () => {
    const key = KesSignKey.generate();
    const raw = new Uint8Array(KES_SIGN_KEY_BYTES);
    const leaks: string[] = [];
    try {
      for (let t = 0; t < 6; t++) {
        key.sign(new Uint8Array([t]));
        key.writeRaw(raw);
        const found = windowsInHeap(raw);
        if (found.length > 0) leaks.push(`evolution ${t}: ${found.length} windows`);
        key.evolve();
      }
    } finally {
      raw.fill(0);
      key.destroy();
    }
    expect(leaks).toEqual([]);
  });

  it('cold-key Ed25519 signing leaves neither the seed nor seed||pk in the heap', () => {
    const seed = sodium().randombytes_buf(32);
    const sig = ed25519Sign(seed, new Uint8Array(100));
    expect(sig.length).toBe(64);
    expect(windowsInHeap(seed)).toEqual([]);
  });

  it('lockSodiumHeap locks the heap and re-locks it after the heap grows', () => {
    const native = loadNative();
    let locks = 0;
    lockSodiumHeap((b) => {
      locks++;
      native.lockArrayBuffer(b);
    });
    expect(sodiumHeapState()).toMatchObject({ locked: true, lockFailures: 0 });
    const before = heap().buffer;
    // Hash 8 MiB of public data through the wrapper: the heap must grow past its 4 MiB.
    sodium().crypto_generichash(32, new Uint8Array(8 * 1024 * 1024), null);
    expect(heap().buffer).not.toBe(before);
    expect(sodiumHeapState().locked).toBe(false);
    // Our next secret call notices and re-locks.
    ed25519Sign(new Uint8Array(32).fill(9), new Uint8Array(1));
    expect(sodiumHeapState()).toMatchObject({ locked: true, lockFailures: 0 });
    expect(locks).toBe(2);
  });
});
