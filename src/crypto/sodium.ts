/**
 * The one place libsodium is loaded.
 *
 * libsodium-wrappers is a WASM build that must finish instantiating before any `crypto_*`
 * function exists. Entry points `await loadSodium()` once; everything after that calls
 * `sodium()` synchronously, which throws if the library is not ready (a programming error,
 * never a user error).
 *
 * The default import is deliberate: `import * as` copies the module's keys before `ready`
 * adds the `crypto_*` functions (stack.md §2).
 */
import libsodium from 'libsodium-wrappers-sumo';

export type Sodium = typeof libsodium;

let loaded: Sodium | undefined;
let loading: Promise<Sodium> | undefined;

export function loadSodium(): Promise<Sodium> {
  loading ??= libsodium.ready.then(() => {
    loaded = libsodium;
    return libsodium;
  });
  return loading;
}

export function sodium(): Sodium {
  if (loaded === undefined) throw new Error('libsodium used before loadSodium() resolved');
  return loaded;
}
