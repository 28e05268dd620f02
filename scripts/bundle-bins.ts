/**
 * Build step after tsc: each CLI bin as one file, dist/bundle/<bin>.js, plus V8's code cache
 * for it (src/cli/launch.ts says why and how the bins use them).
 *
 * - Entry: src/cli/<dir>/main.ts, bundled from the TypeScript sources (tsc has type-checked
 *   them already) so that esbuild sees ES modules and leaves out what a bin never imports
 *   (about a third of the code). Whitespace and syntax are minified, names are kept, so an
 *   internal error still names the function.
 * - kes-ctl has a second bundle, kes-ctl-status, for the plain status line alone
 *   (src/cli/ctl/plain-main.ts): 76 KB instead of 226, without clipanion and without node:net
 *   (its socket is the kes_client addon's blocking one: src/client/status-once.ts).
 *   `kes-ctl status --json` went from 1.63x to 1.29x of `node -e 0` (60 interleaved pairs,
 *   median of the pair ratios; 43.6 → 36.8 ms against 27.3 ms), with these parts:
 *   the status bundle and the blocking socket, the launcher inside each bin's file, the bundle
 *   wrapped at build time (no second copy of its text, and with it no young-generation GC),
 *   the bin's own require for the bundle (no node:module), and the addon opened with dlopen.
 * - Each bin's own file (dist/src/bin/<bin>.js) is bundled too, with the launcher inside it;
 *   the compiled modules it falls back on stay outside (bundleLauncher).
 * - libsodium stays outside the bundle: it is loaded only when a command needs crypto, and its
 *   2 MB of JavaScript would make every start read it.
 * - The code cache is written by a child that runs the bundle on the lines it is trained on
 *   (output discarded): V8 then caches the functions those runs really compiled, not just the
 *   top level; a function left out is compiled when first called, as without a cache. The
 *   status bundle is trained on `status` and `status --json` against a throwaway agent started
 *   for the purpose (temp dir, cold key from kes-cold, stopped at once): monitoring runs those
 *   lines over and over, and a cache trained on them took 4-5 ms off each (measured 27 → 22.5
 *   ms from loading the bundle to exit). Where that agent cannot start (no locked memory, say),
 *   it is trained on the same lines against a socket that does not exist, which still covers
 *   everything up to the connect; the build says so and goes on. The other bundles are trained
 *   on `--help`.
 * - kes-agent (the daemon) is bundled too, for memory rather than speed: one minified file
 *   instead of ~150 modules left its idle RSS 2 MiB lower (63.2 vs 65.1 MiB, MALLOC_ARENA_MAX=1).
 *
 * Usage: node dist/scripts/bundle-bins.js                     (all bundles)
 *        node dist/scripts/bundle-bins.js --cache NAME LINES  (internal: the child that writes
 *                                                              NAME's cache, LINES a JSON array of argvs)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { BUNDLE_DIR, bundleFile, codeCacheFile, compileBundle, runBundle, wrapAsModule } from '../src/cli/launch';
import { NodeChild, runOk } from './child-process';
import { withoutBuiltinCopies } from './builtin-copies';
import type { PlainStatusEntry } from '../src/cli/ctl/plain-main';

/** bin name → its folder under src/cli (where main.ts is). */
export const BUNDLED_BINS: Readonly<Record<string, string>> = {
  'kes-ctl': 'ctl',
  'kes-cold': 'cold',
  'kes-node': 'node',
  'kes-agent-control': 'haskell-control',
  'kes-agent': 'agent',
};

/** kes-ctl's bundle for the plain status line, and its entry under src/cli. */
export const STATUS_BUNDLE = 'kes-ctl-status';
const STATUS_ENTRY = path.join('ctl', 'plain-main.ts');

/** Loaded by the bundle on demand from node_modules (see above). */
const EXTERNAL = ['libsodium-wrappers-sumo'];

/** dist/bundle is <root>/dist/bundle. */
const PACKAGE_ROOT = path.join(BUNDLE_DIR, '..', '..');

/** Oldest Node the package supports (package.json engines). */
const TARGET = 'node20';

/** Bundle src/cli/<entry> into dist/bundle/<name>.js. */
function bundle(name: string, entry: string): void {
  const file = bundleFile(name);
  buildSync({
    entryPoints: [path.join(PACKAGE_ROOT, 'src', 'cli', entry)],
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
  const text = withoutBuiltinCopies(fs.readFileSync(file, 'utf8'), name);
  // launch.ts reads the file as latin1: esbuild's default charset escapes everything else.
  if (!/^[\x00-\x7f]*$/.test(text)) throw new Error(`bundle-bins: ${name}: the bundle is not ASCII only`);
  fs.writeFileSync(file, wrapAsModule(text));
}

/**
 * dist/src/bin/<bin>.js as one file with the launcher inside (src/cli/launch.ts says why). The
 * compiled modules it falls back on stay outside: it requires them from dist/src/cli as before.
 */
function bundleLauncher(bin: string): void {
  const file = binFile(bin);
  buildSync({
    entryPoints: [path.join(PACKAGE_ROOT, 'src', 'bin', `${bin}.ts`)],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: TARGET,
    // The entries' compiled modules (../cli/<dir>/main, ../cli/ctl/plain-main), not the launcher.
    external: ['../cli/*main'],
    tsconfig: path.join(PACKAGE_ROOT, 'tsconfig.build.json'),
    logLevel: 'warning',
  });
  fs.writeFileSync(file, withoutBuiltinCopies(fs.readFileSync(file, 'utf8'), bin));
  fs.chmodSync(file, 0o755);
}

/** The lines a bin's cache is trained on when nothing better is at hand. */
const HELP_LINE: readonly string[] = ['--help'];

/** dist/src/bin/<bin>.js: the bins as npm links them. */
const binFile = (bin: string): string => path.join(BUNDLE_DIR, '..', 'src', 'bin', `${bin}.js`);

/**
 * In the child: run the bundle once per line, concurrently, and write the cache when all have
 * ended. The exit code is the cache's, not the lines': a line that failed only trained less.
 * The status bundle runs nothing when loaded: each line is put to its `answer`.
 */
function writeCodeCache(name: string, lines: readonly (readonly string[])[]): void {
  const file = bundleFile(name);
  const script = compileBundle(file, undefined);
  process.on('exit', () => {
    fs.writeFileSync(codeCacheFile(name), script.createCachedData());
    process.exitCode = 0;
  });
  if (name === STATUS_BUNDLE) {
    const { plainStatusEntry } = runBundle(script, file, require) as { plainStatusEntry: PlainStatusEntry };
    for (const line of lines) plainStatusEntry.answer(line);
    return;
  }
  for (const line of lines) {
    process.argv = [process.argv[0] ?? 'node', file, ...line];
    runBundle(script, file, require);
  }
}

function cacheChild(name: string, lines: readonly (readonly string[])[]): void {
  const r = spawnSync(process.execPath, [__filename, '--cache', name, JSON.stringify(lines)], { stdio: ['ignore', 'ignore', 'ignore'] });
  if (r.status !== 0 || !fs.existsSync(codeCacheFile(name))) {
    throw new Error(`bundle-bins: writing the code cache of ${name} failed (exit ${String(r.status)})`);
  }
}

/** The plain status lines, against the control socket at `socket`. */
const statusLines = (socket: string): string[][] => [
  ['status', '--socket', socket],
  ['status', '--socket', socket, '--json'],
];

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
    process.stderr.write(`bundle-bins: the status bundle's code cache is trained without an agent (up to the connect): starting one failed (${why})\n`);
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
    bundle(bin, path.join(dir, 'main.ts'));
    bundleLauncher(bin);
    cacheChild(bin, [HELP_LINE]);
  }
  bundle(STATUS_BUNDLE, STATUS_ENTRY);
  // After the loop: the agent and kes-cold it needs run from their bundles.
  const trained = await withThrowawayAgent((socket) => cacheChild(STATUS_BUNDLE, statusLines(socket)));
  if (!trained) {
    // An empty directory of our own: nothing can be listening at the path.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-build-'));
    try {
      cacheChild(STATUS_BUNDLE, statusLines(path.join(dir, 'control.sock')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
