/**
 * Loading one of the package's addons (binding.gyp) from build/Release, where node-gyp puts
 * them at `npm ci`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** An addon, or why it could not be loaded (its file and the first line of the error). */
export type AddonLoad<T> = { readonly addon: T; readonly error?: undefined } | { readonly addon?: undefined; readonly error: string };

/** The package root: the nearest ancestor of this module with a package.json (src/, dist/src/ and dist/bundle all work). */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return __dirname;
    dir = up;
  }
  return dir;
}

/** build/Release/<name>.node. The caller keeps the result: call this once per process. */
export function loadAddonFile<T>(name: string): AddonLoad<T> {
  const file = path.join(packageRoot(), 'build', 'Release', `${name}.node`);
  try {
    // process.dlopen, not require: the file is known, and the module resolver's lookups cost
    // every `kes-ctl status` about 0.3 ms.
    const mod = { exports: {} };
    process.dlopen(mod, file);
    return { addon: mod.exports as T };
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { error: `${file}: ${why}` };
  }
}
