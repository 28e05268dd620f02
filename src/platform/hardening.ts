/**
 * Process hardening at agent start: core dumps off, key memory locked, libsodium's
 * heap locked. Every step runs before any key exists, so refusing to start loses nothing.
 *
 * Never mlockall: V8 aborts when it cannot MADV_DONTNEED a locked page (the kernel refuses it on locked
 * mappings with EINVAL and V8 treats that as fatal: measured on Node 20 and 22, exit 133 under GC churn).
 * Only the pages that hold secrets are locked: our arenas and libsodium's WASM heap.
 */
import { KesError } from '../errors';
import { secretMemoryState, useLockedSecretMemory } from '../crypto/secret-memory';
import { lockSodiumHeap, sodiumHeapState } from '../crypto/sodium-heap';
import { nativeLoadError, tryLoadNative, type NativeAddon } from '../native';
import { errnoOf } from './errno';
import type { Protection } from '../protocol';

/**
 * RLIMIT_MEMLOCK the agent asks for: libsodium's 4 MiB heap, the key pool's first 64 KiB arena
 * and the wire pool's budget for queued KEY copies (WIRE_SECRET_BUDGET_BYTES, 3.25 MiB: every
 * allowed node holding its quota). That is 7.3 MiB; the Linux default of 8 MiB leaves 0.7 MiB
 * (11 more arenas) for the keys themselves, far more than a staged and an active key use. The
 * pools are separate, so nodes cannot take the keys' share however they behave. A libsodium
 * heap that grows needs more: systemd units set LimitMEMLOCK=64M for headroom.
 */
export const REQUIRED_MEMLOCK_BYTES = 8 * 1024 * 1024;


export interface Hardening {
  /** The addon, when it loaded: the daemon needs it for SO_PEERCRED. */
  readonly native: NativeAddon | undefined;
  /** Why protection is partial, one line each; empty when everything is in force. */
  readonly warnings: readonly string[];
  /** What is in force, read back from the kernel and the allocators whenever asked (STATUS). */
  protection(): Protection;
}

export interface HardeningOptions {
  /** Run even if memory cannot be locked (development, CI without a memlock limit). */
  readonly allowUnlockedMemory: boolean;
}

const KIB = 1024;

function describeLimit(bytes: number): string {
  return bytes < 0 ? 'unlimited' : `${Math.floor(bytes / KIB)} KiB`;
}

function raiseHint(allowed: boolean): string {
  const raise = `raise RLIMIT_MEMLOCK to at least ${REQUIRED_MEMLOCK_BYTES / KIB / KIB} MiB (systemd: LimitMEMLOCK=64M; shell: ulimit -l ${REQUIRED_MEMLOCK_BYTES / KIB})`;
  return allowed ? `${raise} to protect the key` : `${raise}, or pass --allow-unlocked-memory (never in production)`;
}

function addonMissing(): KesError {
  return new KesError('NATIVE_ADDON_MISSING', `memory protection unavailable: the kes_native addon cannot be loaded (${nativeLoadError() ?? 'unknown'}); run npm ci, which builds it (needs python3, make and a C compiler)`);
}

function memlockTooLow(limit: number, allowed: boolean): KesError | undefined {
  if (limit < 0 || limit >= REQUIRED_MEMLOCK_BYTES) return undefined;
  return new KesError('MEMORY_LOCK_FAILED', `cannot lock memory for key material: RLIMIT_MEMLOCK is ${describeLimit(limit)}; ${raiseHint(allowed)}`);
}

/**
 * What hardenProcess would refuse to start for that can be known without changing the process:
 * the addon, and RLIMIT_MEMLOCK. Locks nothing, disables nothing (`kes-agent check-config`).
 * With `allowUnlockedMemory` nothing is refused (run would warn and carry on).
 * @throws KesError NATIVE_ADDON_MISSING, MEMORY_LOCK_FAILED, as hardenProcess words them.
 */
export function checkProtectionPossible(opts: HardeningOptions): void {
  if (opts.allowUnlockedMemory) return;
  const native = tryLoadNative();
  if (native === undefined) throw addonMissing();
  const tooLow = memlockTooLow(native.processProtection().memlockLimit, false);
  if (tooLow !== undefined) throw tooLow;
}

/**
 * Lock down this process. Throws a KesError (exit 11) when a protection cannot be had and
 * `allowUnlockedMemory` is false; otherwise returns what is in force with a warning for each gap.
 * libsodium must already be loaded (its heap is locked here).
 */
export function hardenProcess(opts: HardeningOptions): Hardening {
  const warnings: string[] = [];
  const fail = (e: KesError): void => {
    if (!opts.allowUnlockedMemory) throw e;
    warnings.push(e.message);
  };

  const native = tryLoadNative();
  if (native === undefined) {
    fail(addonMissing());
  } else {
    try {
      native.disableCoreDumps();
    } catch (e) {
      fail(new KesError('CORE_DUMPS_NOT_DISABLED', `core dumps cannot be disabled (${errnoOf(e)}); set LimitCORE=0 in the unit or ulimit -c 0`));
    }
    const limits = native.processProtection();
    const tooLow = memlockTooLow(limits.memlockLimit, opts.allowUnlockedMemory);
    if (tooLow !== undefined) {
      fail(tooLow);
    } else {
      try {
        useLockedSecretMemory(native);
        lockSodiumHeap((heap) => void native.lockArrayBuffer(heap));
      } catch (e) {
        fail(new KesError('MEMORY_LOCK_FAILED', `cannot lock memory for key material: mlock failed (${errnoOf(e)}) with RLIMIT_MEMLOCK ${describeLimit(limits.memlockLimit)}; ${raiseHint(opts.allowUnlockedMemory)}`));
      }
    }
  }

  return {
    native,
    warnings,
    protection: () => {
      const reading = native?.processProtection();
      return {
        keyMemoryLocked: secretMemoryState().locked,
        sodiumHeapLocked: sodiumHeapState().locked,
        coreDumpsDisabled: reading !== undefined && reading.coreLimit === 0 && !reading.dumpable,
        peerCredentialsChecked: native !== undefined,
        unlockedMemoryAllowed: opts.allowUnlockedMemory,
      };
    },
  };
}
