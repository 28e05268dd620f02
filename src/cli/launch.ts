/**
 * How a CLI bin starts: from its one-file bundle when the build made one, else from the
 * compiled modules.
 *
 * Node spends most of a short command's life before the command runs: resolving and reading
 * about a hundred CommonJS files, then compiling them. `npm run build` (scripts/bundle-bins.ts)
 * writes each CLI as one file, dist/bundle/<bin>.js, and beside it V8's code cache for that
 * file, so a start reads two files and compiles almost nothing.
 *
 * This module may load only Node built-ins: it runs before the bundle it chooses. The build
 * also bundles each bin's own file (dist/src/bin/<bin>.js) with this module inside it, so that
 * a start does not resolve, read and compile it as a module of its own (about 1 ms of
 * `kes-ctl status`).
 *
 * The bundle file holds its text already wrapped as a CommonJS module (wrapAsModule, at build
 * time) and is ASCII only (esbuild escapes the rest), so it is read as latin1, without UTF-8
 * decoding, and given to V8 as it is. Wrapping it at each start made a second copy of the text,
 * and that allocation alone was enough to cost `kes-ctl status` a young-generation GC (0.7 ms).
 *
 * A bundle's `require` is the bin's own. Bundles require only Node built-ins and libsodium
 * (found in the same node_modules from dist/src/bin as from dist/bundle), and open the addons by
 * their full path (process.dlopen), so the bin's require finds the same files; `createRequire`
 * would have loaded node:module and Node's ES module loader into every start for nothing (about
 * 1 ms of `kes-ctl status`).
 *
 * Safety of the cache: V8 checks the cached data against the source text and its own version
 * and flags, and ignores data that does not match (`cachedDataRejected`), compiling from
 * source as usual. So a stale or missing cache, or another Node version, costs only speed.
 * The bundle and its cache are build outputs in dist/, no more trusted or writable than the
 * compiled modules they replace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** dist/bundle, seen from dist/src/cli (this module once compiled) or dist/src/bin (inside a bin's file). */
export const BUNDLE_DIR = path.join(__dirname, '..', '..', 'bundle');

export const bundleFile = (bin: string): string => path.join(BUNDLE_DIR, `${bin}.js`);
export const codeCacheFile = (bin: string): string => `${bundleFile(bin)}.cache`;

/** The CommonJS wrapper Node puts around a module's text, so the bundle runs as a module would. */
export function wrapAsModule(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

/** Compile a bundle (wrapped at build time) with its code cache when there is one. */
export function compileBundle(file: string, cachedData: Buffer | undefined): vm.Script {
  return new vm.Script(fs.readFileSync(file, 'latin1'), { filename: file, cachedData });
}

/** Run a compiled bundle as the module `file`, with `req` as its require(); its exports. */
export function runBundle(script: vm.Script, file: string, req: NodeJS.Require): unknown {
  const mod = { exports: {} };
  const body = script.runInThisContext() as (...args: unknown[]) => void;
  body.call(mod.exports, mod.exports, req, mod, file, path.dirname(file));
  return mod.exports;
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Load the bundle `name` from dist/bundle if the build wrote it, else call `unbundled` (which
 * requires the compiled modules: under ts-node, or a build made with tsc alone). Either way,
 * the entry module's exports. `req` is the calling bin's require.
 */
export function launch(name: string, req: NodeJS.Require, unbundled: () => unknown): unknown {
  const file = bundleFile(name);
  if (!fs.existsSync(file)) return unbundled();
  return runBundle(compileBundle(file, readIfPresent(codeCacheFile(name))), file, req);
}
