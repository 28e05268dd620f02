/**
 * The one place libsodium is loaded.
 *
 * libsodium-wrappers is a WASM build that must finish instantiating before any `crypto_*`
 * function exists. Entry points `await loadSodium()` once; everything after that calls
 * `sodium()` synchronously, which throws if the library is not ready (a programming error,
 * never a user error).
 *
 * The module is required lazily, inside loadSodium(): loading its 1.2 MB of JS and WASM takes
 * ~30 ms, and commands that never touch a key (kes-ctl status) should not pay for it. The
 * default export is used deliberately: `import * as` would copy the module's keys before
 * `ready` adds the `crypto_*` functions (esModuleInterop's `__importStar` copies them at require time).
 */
export type Sodium = typeof import('libsodium-wrappers-sumo');

let loaded: Sodium | undefined;
let loading: Promise<Sodium> | undefined;

export function loadSodium(): Promise<Sodium> {
  loading ??= (async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('libsodium-wrappers-sumo') as { default?: Sodium } & Sodium;
    const lib = mod.default ?? mod;
    await lib.ready;
    loaded = lib;
    return lib;
  })();
  return loading;
}

export function sodium(): Sodium {
  if (loaded === undefined) throw new Error('libsodium used before loadSodium() resolved');
  return loaded;
}
