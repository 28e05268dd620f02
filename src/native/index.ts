/**
 * The kes_native addon (native/kes_native.c), built by node-gyp at `npm ci`.
 *
 * Loaded lazily and at most once: kes-cold and kes-ctl never need it, and a host without a
 * compiler can still run them. The daemon requires it (or --allow-unlocked-memory).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KesError } from '../errors';

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

/** Where node-gyp puts the addon, relative to the package root. */
const ADDON_RELATIVE_PATH = path.join('build', 'Release', 'kes_native.node');

let cached: { addon?: NativeAddon; error?: string } | undefined;

/** The package root: the nearest ancestor of this module with a package.json (src/ and dist/src/ both work). */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return __dirname;
    dir = up;
  }
  return dir;
}

/** The addon, or undefined if it is not built or cannot load (the reason is in nativeLoadError()). */
export function tryLoadNative(): NativeAddon | undefined {
  if (cached === undefined) {
    const file = path.join(packageRoot(), ADDON_RELATIVE_PATH);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = { addon: require(file) as NativeAddon };
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      cached = { error: `${file}: ${why}` };
    }
  }
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

