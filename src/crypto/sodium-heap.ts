/**
 * Secret-taking libsodium calls, with their arguments placed in libsodium's heap by us.
 *
 * libsodium-wrappers copies every argument into the WASM heap and frees it without wiping, so a
 * signing key survives in HEAPU8 after every call (test/crypto/sodium-heap.test.ts shows it with the plain
 * wrapper). Here each call gets one block from libsodium's own `_malloc`, we copy the inputs in, call the raw
 * export, copy the outputs out, and zero the whole block before `_free`. No other module passes a secret to
 * libsodium.
 *
 * The heap itself is one WASM linear memory. When the process has locked it (lockSodiumHeap),
 * it is mlock'ed and excluded from core dumps; `memory.grow` replaces the buffer, so every call
 * here checks afterwards that the current buffer is still the locked one and re-locks if not.
 * Callers keep inputs small (frames are ≤ 64 KiB) so the heap does not grow in practice.
 */
import { sodium } from './sodium';

/** The emscripten module under libsodium-wrappers (`sodium.libsodium`): raw exports only. */
interface SodiumModule {
  readonly HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _crypto_sign_seed_keypair(pk: number, sk: number, seed: number): number;
  /** mlen is a u64 passed as (low, high) 32-bit halves. */
  _crypto_sign_detached(sig: number, siglenPtr: number, m: number, mlenLo: number, mlenHi: number, sk: number): number;
  _crypto_generichash(out: number, outlen: number, input: number, inlenLo: number, inlenHi: number, key: number, keylen: number): number;
  _randombytes_buf(buf: number, size: number): void;
}

const SEED_BYTES = 32;
const PK_BYTES = 32;
const SK64_BYTES = 64;
const SIG_BYTES = 64;

/** Re-locks the heap after it grew; set by lockSodiumHeap. */
type HeapLocker = (heap: ArrayBuffer) => void;
let locker: HeapLocker | undefined;
let lockedHeap: ArrayBuffer | undefined;
let lockFailures = 0;
let failedHeap: ArrayBuffer | undefined;

function mod(): SodiumModule {
  return (sodium() as unknown as { libsodium: SodiumModule }).libsodium;
}

/**
 * Lock libsodium's heap now and after every growth. `lock` throws if it cannot (the caller
 * decides whether that is fatal); later re-lock failures are counted in sodiumHeapState().
 */
export function lockSodiumHeap(lock: HeapLocker): void {
  const heap = mod().HEAPU8.buffer as ArrayBuffer;
  lock(heap);
  locker = lock;
  lockedHeap = heap;
}

export interface SodiumHeapState {
  /** The heap as it is now is the buffer that was locked. */
  readonly locked: boolean;
  readonly bytes: number;
  /** Heap buffers (after growth) that could not be re-locked. */
  readonly lockFailures: number;
}

export function sodiumHeapState(): SodiumHeapState {
  const heap = mod().HEAPU8.buffer;
  return { locked: lockedHeap !== undefined && heap === lockedHeap, bytes: heap.byteLength, lockFailures };
}

function relockIfGrown(m: SodiumModule): void {
  if (locker === undefined) return;
  const heap = m.HEAPU8.buffer as ArrayBuffer;
  if (heap === lockedHeap) return;
  if (heap === failedHeap) return; // counted once per heap buffer, not once per call
  try {
    locker(heap);
    lockedHeap = heap;
  } catch {
    failedHeap = heap;
    lockFailures++;
  }
}

/**
 * Run `fn` with `size` bytes of libsodium's heap at `ptr`; the block is zeroed and freed
 * afterwards whatever happens. `fn` reads `m.HEAPU8` at each use, never a saved view: growth
 * replaces the view.
 */
function withBlock<T>(size: number, fn: (ptr: number, m: SodiumModule) => T): T {
  const m = mod();
  const ptr = m._malloc(size);
  if (ptr === 0) throw new Error(`libsodium could not allocate ${size} bytes`);
  // _malloc is what grows the heap: re-lock before the secret is copied into the new pages.
  relockIfGrown(m);
  try {
    return fn(ptr, m);
  } finally {
    m.HEAPU8.fill(0, ptr, ptr + size);
    m._free(ptr);
  }
}

/** Ed25519 public key of `seed` into `pkOut` (crypto_sign_seed_keypair). */
export function heapSeedPublicKey(seed: Uint8Array, pkOut: Uint8Array): void {
  withBlock(SEED_BYTES + PK_BYTES + SK64_BYTES, (p, m) => {
    const seedAt = p;
    const pkAt = p + SEED_BYTES;
    const skAt = pkAt + PK_BYTES;
    m.HEAPU8.set(seed.subarray(0, SEED_BYTES), seedAt);
    if (m._crypto_sign_seed_keypair(pkAt, skAt, seedAt) !== 0) throw new Error('crypto_sign_seed_keypair failed');
    pkOut.set(m.HEAPU8.subarray(pkAt, pkAt + PK_BYTES));
  });
}

/** Detached Ed25519 signature with libsodium's 64-byte seed || pk secret key. */
export function heapSignSk64(message: Uint8Array, sk64: Uint8Array): Uint8Array {
  return withBlock(SK64_BYTES + SIG_BYTES + message.length, (p, m) => {
    const skAt = p;
    const sigAt = p + SK64_BYTES;
    const msgAt = sigAt + SIG_BYTES;
    m.HEAPU8.set(sk64.subarray(0, SK64_BYTES), skAt);
    m.HEAPU8.set(message, msgAt);
    if (m._crypto_sign_detached(sigAt, 0, msgAt, message.length, 0, skAt) !== 0) throw new Error('crypto_sign_detached failed');
    return m.HEAPU8.slice(sigAt, sigAt + SIG_BYTES);
  });
}

/** Detached Ed25519 signature from a 32-byte seed: keypair and signature in one wiped block. */
export function heapSignSeed(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return withBlock(SEED_BYTES + PK_BYTES + SK64_BYTES + SIG_BYTES + message.length, (p, m) => {
    const seedAt = p;
    const pkAt = seedAt + SEED_BYTES;
    const skAt = pkAt + PK_BYTES;
    const sigAt = skAt + SK64_BYTES;
    const msgAt = sigAt + SIG_BYTES;
    m.HEAPU8.set(seed.subarray(0, SEED_BYTES), seedAt);
    m.HEAPU8.set(message, msgAt);
    if (m._crypto_sign_seed_keypair(pkAt, skAt, seedAt) !== 0) throw new Error('crypto_sign_seed_keypair failed');
    if (m._crypto_sign_detached(sigAt, 0, msgAt, message.length, 0, skAt) !== 0) throw new Error('crypto_sign_detached failed');
    return m.HEAPU8.slice(sigAt, sigAt + SIG_BYTES);
  });
}

/** Blake2b of a secret `input` into `out` (1..64 bytes; 32 for Blake2b-256). */
export function heapGenericHash(input: Uint8Array, out: Uint8Array): void {
  withBlock(input.length + out.length, (p, m) => {
    const inAt = p;
    const outAt = p + input.length;
    m.HEAPU8.set(input, inAt);
    if (m._crypto_generichash(outAt, out.length, inAt, input.length, 0, 0, 0) !== 0) throw new Error('crypto_generichash failed');
    out.set(m.HEAPU8.subarray(outAt, outAt + out.length));
  });
}

/** Fill `out` from libsodium's CSPRNG (getrandom underneath). */
export function heapRandomBytes(out: Uint8Array): void {
  withBlock(out.length, (p, m) => {
    m._randombytes_buf(p, out.length);
    out.set(m.HEAPU8.subarray(p, p + out.length));
  });
}
