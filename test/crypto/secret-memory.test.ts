/**
 * Locked secret memory: arena slices are locked (VmLck), wiped on release (the whole slice,
 * even when a sub-view is released), reused, and bounded. This file switches its jest worker to
 * locked mode for good; every other test file runs in its own worker.
 */
import * as fs from 'node:fs';
import { loadNative } from '../../src/native';
import {
  SECRET_ARENA_BYTES,
  SECRET_GRANULE_BYTES,
  allocSecret,
  releaseSecret,
  secretMemoryState,
  setSecretPoolBudget,
  useLockedSecretMemory,
} from '../../src/crypto/secret-memory';

function vmLckKiB(): number {
  const m = /VmLck:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? NaN);
}

describe('plain mode (before useLockedSecretMemory)', () => {
  it('allocates ordinary zeroed buffers and wipes them on release', () => {
    expect(secretMemoryState().locked).toBe(false);
    const b = allocSecret(100);
    expect(b.buffer.byteLength).toBe(100);
    b.fill(7);
    releaseSecret(b);
    expect(b.every((x) => x === 0)).toBe(true);
  });
});

describe('locked mode', () => {
  beforeAll(() => {
    const before = vmLckKiB();
    useLockedSecretMemory(loadNative());
    expect(vmLckKiB() - before).toBe(SECRET_ARENA_BYTES / 1024);
  });

  it('hands out slices of a locked arena, each a fresh zeroed view of the asked length', () => {
    const a = allocSecret(608);
    const b = allocSecret(608);
    expect(a.length).toBe(608);
    expect(a.buffer).toBe(b.buffer);
    expect(a.buffer.byteLength).toBe(SECRET_ARENA_BYTES);
    expect(a.byteOffset % SECRET_GRANULE_BYTES).toBe(0);
    expect(Math.abs(a.byteOffset - b.byteOffset)).toBeGreaterThanOrEqual(640);
    expect(a.every((x) => x === 0) && b.every((x) => x === 0)).toBe(true);
    releaseSecret(a);
    releaseSecret(b);
  });

  it('wipes the whole slice, the granule padding included, and frees it for reuse', () => {
    const a = allocSecret(100); // 2 granules
    const whole = new Uint8Array(a.buffer, a.byteOffset, 2 * SECRET_GRANULE_BYTES);
    whole.fill(0xee); // padding too, as a careless writer past .length would
    const live = secretMemoryState().liveSlices;
    releaseSecret(a);
    expect(whole.every((x) => x === 0)).toBe(true);
    expect(secretMemoryState().liveSlices).toBe(live - 1);
  });

  it('releasing a sub-view wipes and frees the slice it belongs to', () => {
    const a = allocSecret(608);
    a.fill(0x5a);
    const live = secretMemoryState().liveSlices;
    releaseSecret(a.subarray(100, 200));
    expect(a.every((x) => x === 0)).toBe(true);
    expect(secretMemoryState().liveSlices).toBe(live - 1);
  });

  it('grows by whole arenas when full and reuses freed slices, so the locked total stays bounded', () => {
    const arenasBefore = secretMemoryState().arenas;
    const perArena = Math.floor(SECRET_ARENA_BYTES / (11 * SECRET_GRANULE_BYTES));
    const n = perArena * 3;
    for (let round = 0; round < 5; round++) {
      const held = Array.from({ length: n }, () => allocSecret(700));
      for (const h of held) h.fill(round + 1);
      // No two live slices overlap.
      const ranges = held.map((h) => [h.byteOffset, h.byteOffset + 704, h.buffer] as const).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < ranges.length; i++) {
        const prev = ranges[i - 1]!;
        const cur = ranges[i]!;
        if (prev[2] === cur[2]) expect(cur[0]).toBeGreaterThanOrEqual(prev[1]);
      }
      for (const h of held) releaseSecret(h);
    }
    const s = secretMemoryState();
    expect(s.arenas - arenasBefore).toBeLessThanOrEqual(3);
    expect(s.lockedBytes).toBe(s.arenas * SECRET_ARENA_BYTES);
    expect(vmLckKiB()).toBeGreaterThanOrEqual(s.lockedBytes / 1024);
  });

  it('refuses a buffer larger than an arena with a stable code', () => {
    expect(() => allocSecret(SECRET_ARENA_BYTES + 1)).toThrow(expect.objectContaining({ code: 'SECURE_MEMORY_EXHAUSTED' }));
  });

  it('keeps the wire pool apart from the keys: a full wire budget refuses more copies, and keys are still allocated', () => {
    const budget = 8 * 832; // eight queued KEY copies
    setSecretPoolBudget('wire', budget);
    const before = secretMemoryState().liveBytes;
    const copies: Uint8Array[] = [];
    for (;;) {
      try {
        copies.push(allocSecret(769, 'wire'));
      } catch (e) {
        expect(e).toEqual(expect.objectContaining({ code: 'SECURE_MEMORY_EXHAUSTED' }));
        expect((e as Error).message).toBe(`the wire pool of locked memory is full (${budget} of ${budget} bytes in use)`);
        break;
      }
      if (copies.length > 100) throw new Error('the wire budget was not enforced');
    }
    expect(copies).toHaveLength(8);
    expect(secretMemoryState().liveBytes.wire - before.wire).toBe(budget);
    // Copies and keys never share an arena, so copies cannot fragment or fill the keys' memory.
    const key = allocSecret(608);
    expect(key.length).toBe(608);
    for (const c of copies) expect(c.buffer).not.toBe(key.buffer);
    // A released copy makes room for exactly one more.
    releaseSecret(copies.pop());
    const again = allocSecret(769, 'wire');
    expect(() => allocSecret(769, 'wire')).toThrow(expect.objectContaining({ code: 'SECURE_MEMORY_EXHAUSTED' }));
    for (const c of [...copies, again, key]) releaseSecret(c);
    expect(secretMemoryState().liveBytes).toEqual(before);
  });
});
