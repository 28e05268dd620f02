/**
 * How a CLI bin starts: from its one-file bundle when the build made one, else from the
 * compiled modules.
 *
 * Node spends most of a short command's life before the command runs: resolving and reading
 * about a hundred CommonJS files, then compiling them. `npm run build` (scripts/bundle-bins.ts)
 * writes each CLI as one file, dist/bundle/<bin>.js, and beside it V8's code cache for that
 * file, so a start reads two files and compiles almost nothing.
 *
 * This module may load only Node built-ins: it runs before the bundle it chooses.
 *
 * Safety of the cache: V8 checks the cached data against the source text and its own version
 * and flags, and ignores data that does not match (`cachedDataRejected`), compiling from
 * source as usual. So a stale or missing cache, or another Node version, costs only speed.
 * The bundle and its cache are build outputs in dist/, no more trusted or writable than the
 * compiled modules they replace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as vm from 'node:vm';

/** dist/bundle, seen from dist/src/cli (this module once compiled). */
export const BUNDLE_DIR = path.join(__dirname, '..', '..', 'bundle');

export const bundleFile = (bin: string): string => path.join(BUNDLE_DIR, `${bin}.js`);
export const codeCacheFile = (bin: string): string => `${bundleFile(bin)}.cache`;

/** The CommonJS wrapper Node puts around a module's text, so the bundle runs as a module would. */
export function wrapAsModule(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

/** Compile a bundle with its code cache when there is one. */
export function compileBundle(file: string, cachedData: Buffer | undefined): vm.Script {
  return new vm.Script(wrapAsModule(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
}

/** Run a compiled bundle as the module `file`: its require() resolves from the bundle's folder. */
export function runBundle(script: vm.Script, file: string): void {
  const mod = { exports: {} };
  const body = script.runInThisContext() as (...args: unknown[]) => void;
  body.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Start `bin` from dist/bundle if the build wrote it, else call `unbundled` (which requires the
 * compiled modules: under ts-node, or a build made with tsc alone).
 */
export function launch(bin: string, unbundled: () => void): void {
  const file = bundleFile(bin);
  if (!fs.existsSync(file)) {
    unbundled();
    return;
  }
  runBundle(compileBundle(file, readIfPresent(codeCacheFile(bin))), file);
}
