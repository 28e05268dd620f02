/**
 * Build step after tsc: each CLI bin as one file, dist/bundle/<bin>.js, plus V8's code cache
 * for it (src/cli/launch.ts says why and how the bins use them).
 *
 * - Entry: src/cli/<dir>/main.ts, bundled from the TypeScript sources (tsc has type-checked
 *   them already) so that esbuild sees ES modules and leaves out what a bin never imports
 *   (about a third of the code). Whitespace and syntax are minified, names are kept, so an
 *   internal error still names the function.
 * - libsodium stays outside the bundle: it is loaded only when a command needs crypto, and its
 *   2 MB of JavaScript would make every start read it.
 * - The code cache is written by a child that runs the bundle once with `--help` (output
 *   discarded): V8 then caches the functions that start-up really compiled, not just the
 *   top level.
 * - kes-agent (the daemon) is not bundled: it starts once and runs for months.
 *
 * Usage: node dist/scripts/bundle-bins.js            (all bins)
 *        node dist/scripts/bundle-bins.js --cache BIN (internal: the child that writes BIN's cache)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { BUNDLE_DIR, bundleFile, codeCacheFile, compileBundle, runBundle } from '../src/cli/launch';

/** bin name → its folder under src/cli (where main.ts is). */
export const BUNDLED_BINS: Readonly<Record<string, string>> = {
  'kes-ctl': 'ctl',
  'kes-cold': 'cold',
  'kes-node': 'node',
  'kes-agent-control': 'haskell-control',
};

/** Loaded by the bundle on demand from node_modules (see above). */
const EXTERNAL = ['libsodium-wrappers-sumo'];

/** dist/bundle is <root>/dist/bundle. */
const PACKAGE_ROOT = path.join(BUNDLE_DIR, '..', '..');

/** Oldest Node the package supports (package.json engines). */
const TARGET = 'node20';

function bundle(bin: string, dir: string): void {
  const entry = path.join(PACKAGE_ROOT, 'src', 'cli', dir, 'main.ts');
  buildSync({
    entryPoints: [entry],
    outfile: bundleFile(bin),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: TARGET,
    external: EXTERNAL,
    minifyWhitespace: true,
    minifySyntax: true,
    tsconfig: path.join(PACKAGE_ROOT, 'tsconfig.build.json'),
    logLevel: 'warning',
  });
}

function writeCodeCache(bin: string): void {
  const file = bundleFile(bin);
  const script = compileBundle(file, undefined);
  process.argv = [process.argv[0] ?? 'node', file, '--help'];
  process.on('exit', () => fs.writeFileSync(codeCacheFile(bin), script.createCachedData()));
  runBundle(script, file);
}

function main(argv: readonly string[]): void {
  if (argv[0] === '--cache' && argv[1] !== undefined) {
    writeCodeCache(argv[1]);
    return;
  }
  fs.mkdirSync(BUNDLE_DIR, { recursive: true });
  for (const [bin, dir] of Object.entries(BUNDLED_BINS)) {
    bundle(bin, dir);
    const r = spawnSync(process.execPath, [__filename, '--cache', bin], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0 || !fs.existsSync(codeCacheFile(bin))) {
      throw new Error(`bundle-bins: writing the code cache of ${bin} failed (exit ${String(r.status)})`);
    }
  }
}

main(process.argv.slice(2));
