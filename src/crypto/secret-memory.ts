/**
 * Where secret bytes live.
 *
 * Every buffer that holds key material (KES keys and their workspace, cold seeds, KEY frames on
 * the wire) is allocated here and released here. Two modes:
 *
 * - plain (default): ordinary ArrayBuffers, wiped on release. What kes-cold and the tests use,
 *   and what the agent falls back to with --allow-unlocked-memory.
 * - locked (useLockedSecretMemory): slices of arenas the kes_native addon maps with mmap +
 *   mlock + MADV_DONTDUMP + MADV_WIPEONFORK: never swapped, never in a core dump, zeros in a
 *   forked child. One mlock'ed page per secret would exhaust RLIMIT_MEMLOCK (8 MiB by default)
 *   with a few thousand node pushes; arenas bound the locked total to what is live at peak.
 *
 * Arenas are never unmapped while the process runs (their addon finalizer would unmap them
 * only after the last view is gone); freed slices are zeroed at once and reused.
 *
 * Two pools, each with arenas of its own, so that one cannot take the other's memory:
 *
 * - 'key' (the default): the keys themselves, their workspace, files and frames being encoded.
 *   No budget of its own: it is what the process exists for, bounded by what it holds.
 * - 'wire': the per-connection copies of a KEY frame queued to a node until the kernel takes
 *   them. Peers decide how long those live (a node that stops reading keeps its copies queued),
 *   so the pool has a byte budget (setSecretPoolBudget), and a peer that exhausts it can only
 *   fail its own and other peers' pushes, never a keygen or an evolution.
 */
import { KesError } from '../errors';
import type { NativeAddon } from '../native';

/** One arena: 16 pages. A KEY frame (~0.7 KiB) takes 11 granules; ~90 fit in an arena. */
export const SECRET_ARENA_BYTES = 64 * 1024;
/** Allocation unit inside an arena. */
export const SECRET_GRANULE_BYTES = 64;
const GRANULES_PER_ARENA = SECRET_ARENA_BYTES / SECRET_GRANULE_BYTES;

/** Which budget a secret buffer is charged to (see above). */
export type SecretPool = 'key' | 'wire';

class Arena {
  readonly buffer: ArrayBuffer;
  /** 1 = granule in use. */
  readonly #used = new Uint8Array(GRANULES_PER_ARENA);
  /** byteOffset of each live slice → its granule count, so a release frees exactly what was allocated. */
  readonly #live = new Map<number, number>();
  #hint = 0;
  /** Free granules: an arena without enough is skipped without a scan. */
  #free = GRANULES_PER_ARENA;

  constructor(buffer: ArrayBuffer, readonly pool: SecretPool) {
    this.buffer = buffer;
  }

  get liveSlices(): number {
    return this.#live.size;
  }

  /** First fit from the last allocation point (next fit); undefined when no run of `n` is free. */
  take(n: number): Uint8Array | undefined {
    if (this.#free < n) return undefined;
    for (let pass = 0; pass < 2; pass++) {
      let run = 0;
      const from = pass === 0 ? this.#hint : 0;
      const to = pass === 0 ? GRANULES_PER_ARENA : this.#hint + n;
      for (let g = from; g < Math.min(to, GRANULES_PER_ARENA); g++) {
        run = this.#used[g] === 0 ? run + 1 : 0;
        if (run === n) {
          const start = g - n + 1;
          this.#used.fill(1, start, g + 1);
          this.#free -= n;
          this.#live.set(start * SECRET_GRANULE_BYTES, n);
          this.#hint = (g + 1) % GRANULES_PER_ARENA;
          return new Uint8Array(this.buffer, start * SECRET_GRANULE_BYTES, n * SECRET_GRANULE_BYTES);
        }
      }
    }
    return undefined;
  }

  /**
   * Zero the whole slice that contains `byteOffset` (not just the view passed in: a subarray
   * release must not leave the rest of the secret behind) and mark it free.
   */
  give(byteOffset: number): number {
    let start = byteOffset;
    let n = this.#live.get(start);
    if (n === undefined) {
      for (const [s, count] of this.#live) {
        if (byteOffset >= s && byteOffset < s + count * SECRET_GRANULE_BYTES) {
          start = s;
          n = count;
          break;
        }
      }
    }
    if (n === undefined) return 0;
    new Uint8Array(this.buffer, start, n * SECRET_GRANULE_BYTES).fill(0);
    this.#live.delete(start);
    this.#free += n;
    this.#used.fill(0, start / SECRET_GRANULE_BYTES, start / SECRET_GRANULE_BYTES + n);
    return n;
  }
}

let addon: NativeAddon | undefined;
const arenas: Arena[] = [];
const arenaOf = new WeakMap<ArrayBuffer, Arena>();
/** Bytes (whole granules) in live slices, per pool. */
const liveBytes: Record<SecretPool, number> = { key: 0, wire: 0 };
/** Most bytes a pool may hold in live slices; no entry = no budget. */
const budgets: Partial<Record<SecretPool, number>> = {};

function newArena(native: NativeAddon, pool: SecretPool): Arena {
  const arena = new Arena(native.secureBuffer(SECRET_ARENA_BYTES), pool);
  arenas.push(arena);
  arenaOf.set(arena.buffer, arena);
  return arena;
}

/**
 * Switch to locked memory. Maps the first arena (the key pool's) at once, so a too-low
 * RLIMIT_MEMLOCK fails here, at start-up, with the addon's errno in `.code` (ENOMEM/EPERM),
 * rather than at the first push. Idempotent. Buffers allocated before the switch stay plain
 * until released.
 */
export function useLockedSecretMemory(native: NativeAddon): void {
  if (addon !== undefined) return;
  newArena(native, 'key');
  addon = native;
}

/**
 * Cap what `pool` may hold in live slices (whole granules), in locked mode. An allocation that
 * would go over it fails with SECURE_MEMORY_EXHAUSTED; the pool's arenas never grow past what
 * the budget needs.
 */
export function setSecretPoolBudget(pool: SecretPool, bytes: number): void {
  if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new KesError('INVALID_ARGUMENT', 'secret pool budget: expected a non-negative integer number of bytes');
  budgets[pool] = bytes;
}

export interface SecretMemoryState {
  readonly locked: boolean;
  readonly arenas: number;
  readonly lockedBytes: number;
  readonly liveSlices: number;
  /** Bytes in live slices (whole granules), per pool. */
  readonly liveBytes: Readonly<Record<SecretPool, number>>;
}

export function secretMemoryState(): SecretMemoryState {
  return {
    locked: addon !== undefined,
    arenas: arenas.length,
    lockedBytes: arenas.length * SECRET_ARENA_BYTES,
    liveSlices: arenas.reduce((n, a) => n + a.liveSlices, 0),
    liveBytes: { ...liveBytes },
  };
}

/**
 * A zeroed buffer for a secret of `length` bytes, charged to `pool`: a slice of a locked arena
 * of that pool in locked mode, an ordinary buffer otherwise.
 * @throws KesError SECURE_MEMORY_EXHAUSTED over the pool's budget or past one arena; the
 *   addon's error (ENOMEM) when no new arena can be locked.
 */
export function allocSecret(length: number, pool: SecretPool = 'key'): Uint8Array {
  if (addon === undefined || length === 0) return new Uint8Array(length);
  if (length > SECRET_ARENA_BYTES) {
    throw new KesError('SECURE_MEMORY_EXHAUSTED', `a ${length}-byte secret buffer exceeds the ${SECRET_ARENA_BYTES}-byte secure arena`);
  }
  const granules = Math.ceil(length / SECRET_GRANULE_BYTES);
  const bytes = granules * SECRET_GRANULE_BYTES;
  const budget = budgets[pool];
  if (budget !== undefined && liveBytes[pool] + bytes > budget) {
    throw new KesError('SECURE_MEMORY_EXHAUSTED', `the ${pool} pool of locked memory is full (${liveBytes[pool]} of ${budget} bytes in use)`);
  }
  for (const arena of arenas) {
    if (arena.pool !== pool) continue;
    const slice = arena.take(granules);
    if (slice !== undefined) {
      liveBytes[pool] += bytes;
      return slice.subarray(0, length);
    }
  }
  // A new arena can fail with ENOMEM at RLIMIT_MEMLOCK; that surfaces as the addon's error, and
  // the caller's operation fails rather than putting a key in unlocked memory.
  const slice = newArena(addon, pool).take(granules);
  if (slice === undefined) throw new KesError('SECURE_MEMORY_EXHAUSTED', 'a fresh secure arena has no room');
  liveBytes[pool] += bytes;
  return slice.subarray(0, length);
}

/**
 * Wipe `buffer`; if it is an arena slice, wipe the whole slice and free it. Call it once, and keep
 * no view of a released buffer: its bytes may already belong to the next secret, which a second
 * release would wipe.
 */
export function releaseSecret(buffer: Uint8Array | undefined): void {
  if (buffer === undefined) return;
  buffer.fill(0);
  const arena = arenaOf.get(buffer.buffer as ArrayBuffer);
  if (arena !== undefined) liveBytes[arena.pool] -= arena.give(buffer.byteOffset) * SECRET_GRANULE_BYTES;
}
