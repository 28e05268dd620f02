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
 * - The code cache is written by a child that runs the bundle on the lines it is trained on
 *   (output discarded): V8 then caches the functions those runs really compiled, not just the
 *   top level; a function left out is compiled when first called, as without a cache. kes-ctl
 *   is trained on `status` and `status --json` against a throwaway agent started for the
 *   purpose (temp dir, cold key from kes-cold, stopped at once): monitoring runs those lines
 *   over and over, and a cache trained on them took 4-5 ms off each (measured 27 → 22.5 ms
 *   from loading the bundle to exit). Where that agent cannot start (no locked memory, say),
 *   kes-ctl is trained on `--help` like the other bins; the build says so and goes on.
 * - kes-agent (the daemon) is bundled too, for memory rather than speed: one minified file
 *   instead of ~150 modules left its idle RSS 2 MiB lower (63.2 vs 65.1 MiB, MALLOC_ARENA_MAX=1).
 *
 * Usage: node dist/scripts/bundle-bins.js                  (all bins)
 *        node dist/scripts/bundle-bins.js --cache BIN LINES (internal: the child that writes BIN's
 *                                                           cache, LINES a JSON array of argvs)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { BUNDLE_DIR, bundleFile, codeCacheFile, compileBundle, runBundle } from '../src/cli/launch';
import { NodeChild, runOk } from './child-process';
import { withoutBuiltinCopies } from './builtin-copies';

/** bin name → its folder under src/cli (where main.ts is). */
export const BUNDLED_BINS: Readonly<Record<string, string>> = {
  'kes-ctl': 'ctl',
  'kes-cold': 'cold',
  'kes-node': 'node',
  'kes-agent-control': 'haskell-control',
  'kes-agent': 'agent',
};

/** Loaded by the bundle on demand from node_modules (see above). */
const EXTERNAL = ['libsodium-wrappers-sumo'];

/** dist/bundle is <root>/dist/bundle. */
const PACKAGE_ROOT = path.join(BUNDLE_DIR, '..', '..');

/** Oldest Node the package supports (package.json engines). */
const TARGET = 'node20';

function bundle(bin: string, dir: string): void {
  const entry = path.join(PACKAGE_ROOT, 'src', 'cli', dir, 'main.ts');
  const file = bundleFile(bin);
  buildSync({
    entryPoints: [entry],
    outfile: file,
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
  fs.writeFileSync(file, withoutBuiltinCopies(fs.readFileSync(file, 'utf8'), bin));
}

/** The lines a bin's cache is trained on when nothing better is at hand. */
const HELP_LINE: readonly string[] = ['--help'];

/** dist/src/bin/<bin>.js: the bins as npm links them. */
const binFile = (bin: string): string => path.join(BUNDLE_DIR, '..', 'src', 'bin', `${bin}.js`);

/**
 * In the child: run the bundle once per line, concurrently, and write the cache when all have
 * ended. The exit code is the cache's, not the lines': a line that failed only trained less.
 */
function writeCodeCache(bin: string, lines: readonly (readonly string[])[]): void {
  const file = bundleFile(bin);
  const script = compileBundle(file, undefined);
  process.on('exit', () => {
    fs.writeFileSync(codeCacheFile(bin), script.createCachedData());
    process.exitCode = 0;
  });
  for (const line of lines) {
    process.argv = [process.argv[0] ?? 'node', file, ...line];
    runBundle(script, file);
  }
}

function cacheChild(bin: string, lines: readonly (readonly string[])[]): void {
  const r = spawnSync(process.execPath, [__filename, '--cache', bin, JSON.stringify(lines)], { stdio: ['ignore', 'ignore', 'ignore'] });
  if (r.status !== 0 || !fs.existsSync(codeCacheFile(bin))) {
    throw new Error(`bundle-bins: writing the code cache of ${bin} failed (exit ${String(r.status)})`);
  }
}

/**
 * Run `train` with the control socket of a throwaway agent, stopped and removed afterwards.
 * Resolves false, having printed why, when the agent cannot be started here or `train` failed.
 */
async function withThrowawayAgent(train: (controlSocket: string) => void): Promise<boolean> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-build-'));
  const p = (name: string): string => path.join(dir, name);
  let agent: NodeChild | undefined;
  try {
    await runOk('kes-cold keygen', [binFile('kes-cold'), 'keygen', '--cold-vkey', p('cold.vkey'), '--cold-skey', p('cold.skey'), '--counter', p('cold.counter')]);
    agent = new NodeChild([binFile('kes-agent'), 'run', '--cold-vkey', p('cold.vkey'), '--control-socket', p('control.sock'), '--service-socket', p('service.sock')], { name: 'kes-agent (cache training)' });
    await agent.waitFor('agent: started');
    train(p('control.sock'));
    return true;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    process.stderr.write(`bundle-bins: kes-ctl's code cache is trained on --help only: training it on status failed (${why})\n`);
    return false;
  } finally {
    await agent?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === '--cache' && argv[1] !== undefined) {
    writeCodeCache(argv[1], JSON.parse(argv[2] ?? '[]') as string[][]);
    return;
  }
  fs.mkdirSync(BUNDLE_DIR, { recursive: true });
  for (const [bin, dir] of Object.entries(BUNDLED_BINS)) {
    bundle(bin, dir);
    if (bin !== 'kes-ctl') cacheChild(bin, [HELP_LINE]);
  }
  // After the loop: the agent and kes-cold it needs run from their bundles.
  const trained = await withThrowawayAgent((socket) => cacheChild('kes-ctl', [['status', '--socket', socket], ['status', '--socket', socket, '--json']]));
  if (!trained) cacheChild('kes-ctl', [HELP_LINE]);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
