/**
 * The kes_native addon (native/kes_native.c), built by node-gyp at `npm ci`.
 *
 * Loaded lazily and at most once: kes-cold and kes-ctl never need it, and a host without a
 * compiler can still run them. The daemon requires it (or --allow-unlocked-memory).
 */
import { KesError } from '../errors';
import { loadAddonFile, type AddonLoad } from './addon-file';

export interface PeerCred {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

export interface ProcessProtectionReading {
  /** RLIMIT_CORE soft limit in bytes; -1 = unlimited. */
  readonly coreLimit: number;
  /** RLIMIT_MEMLOCK soft limit in bytes; -1 = unlimited. */
  readonly memlockLimit: number;
  readonly memlockHardLimit: number;
  /** prctl(PR_GET_DUMPABLE). */
  readonly dumpable: boolean;
}

export interface NativeAddon {
  /** mmap + mlock + MADV_DONTDUMP + MADV_WIPEONFORK; wiped, unlocked and unmapped when collected. */
  secureBuffer(size: number): ArrayBuffer;
  /** mlock + MADV_DONTDUMP over the pages of an existing ArrayBuffer. */
  lockArrayBuffer(buffer: ArrayBuffer): { lockedBytes: number; dontDump: boolean };
  /** RLIMIT_CORE 0 and PR_SET_DUMPABLE 0. */
  disableCoreDumps(): void;
  processProtection(): ProcessProtectionReading;
  getPeerCred(fd: number): PeerCred;
}

let cached: AddonLoad<NativeAddon> | undefined;

/** The addon, or undefined if it is not built or cannot load (the reason is in nativeLoadError()). */
export function tryLoadNative(): NativeAddon | undefined {
  cached ??= loadAddonFile<NativeAddon>('kes_native');
  return cached.addon;
}

export function nativeLoadError(): string | undefined {
  tryLoadNative();
  return cached?.error;
}

export function loadNative(): NativeAddon {
  const addon = tryLoadNative();
  if (addon === undefined) {
    throw new KesError('NATIVE_ADDON_MISSING', `the kes_native addon cannot be loaded (${nativeLoadError() ?? 'unknown'}); run npm ci (it needs python3, make and a C compiler)`);
  }
  return addon;
}

