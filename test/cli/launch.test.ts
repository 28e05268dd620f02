/**
 * The CLI bins start from their one-file bundles (src/cli/launch.ts, scripts/bundle-bins.ts).
 * These tests run the built bins as processes and check that the bundle is what runs, that it
 * behaves exactly as the compiled modules do, and that a bad code cache costs nothing but speed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, run, tempDir } from '../helpers/processes';

const BUNDLED = {
  'kes-ctl': 'ctl',
  'kes-cold': 'cold',
  'kes-node': 'node',
  'kes-agent-control': 'haskell-control',
  'kes-agent': 'agent',
} as const;

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const binFile = (bin: string): string => path.join(ROOT, 'dist', 'src', 'bin', `${bin}.js`);
const bundleFile = (bin: string): string => path.join(ROOT, 'dist', 'bundle', `${bin}.js`);

/** A script for `node -e` that starts `entry` with argv and reports which of our modules loaded. */
function probe(entry: string, argv: readonly string[]): string {
  return `
    process.argv = [process.argv[0], ${JSON.stringify(entry)}, ...${JSON.stringify(argv)}];
    require(${JSON.stringify(entry)});
    process.on('exit', () => {
      const ours = Object.keys(require.cache).filter((f) => f.includes('/dist/src/cli/'));
      process.stderr.write('LOADED ' + JSON.stringify(ours) + '\\n');
    });`;
}

describe('CLI bins start from their bundles', () => {
  it.each(Object.keys(BUNDLED))('%s runs dist/bundle, not the compiled modules', async (bin) => {
    expect(fs.existsSync(bundleFile(bin))).toBe(true);
    expect(fs.existsSync(`${bundleFile(bin)}.cache`)).toBe(true);
    const r = await run('-e', [probe(binFile(bin), ['--version'])]);
    expect(r.stdout).toBe(`${bin} ${VERSION}\n`);
    const loaded = JSON.parse(/LOADED (.*)/.exec(r.stderr)?.[1] ?? 'null') as string[];
    // Nothing comes from dist/src/cli: the launcher is inside the bin's file, the rest in the bundle.
    expect(loaded).toEqual([]);
  });

  it.each(Object.entries(BUNDLED))('%s: bundle and compiled modules print the same help and errors', async (bin, dir) => {
    const main = path.join(ROOT, 'dist', 'src', 'cli', dir, 'main.js');
    for (const argv of [['--help'], ['--version'], ['no-such-command']]) {
      const bundled = await run(binFile(bin), argv);
      const compiled = await run('-e', [probe(main, argv)]);
      expect({ code: bundled.code, stdout: bundled.stdout }).toEqual({ code: compiled.code, stdout: compiled.stdout });
      expect(bundled.stderr).toBe(compiled.stderr.replace(/LOADED .*\n/, ''));
    }
  });

  it('a code cache V8 rejects (another Node, a stale build, garbage) still runs the bin', async () => {
    const dir = tempDir();
    try {
      // A copy of the package's dist/ whose kes-ctl cache is garbage; node_modules by symlink.
      fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      fs.writeFileSync(path.join(dir, 'dist', 'bundle', 'kes-ctl.js.cache'), Buffer.alloc(4096, 0x5a));
      const check = await run('-e', [`
        const { compileBundle } = require(${JSON.stringify(path.join(dir, 'dist', 'src', 'cli', 'launch.js'))});
        const fs = require('node:fs');
        const file = ${JSON.stringify(path.join(dir, 'dist', 'bundle', 'kes-ctl.js'))};
        console.log(compileBundle(file, fs.readFileSync(file + '.cache')).cachedDataRejected);`]);
      expect(check.stdout).toBe('true\n');
      const r = await run(path.join(dir, 'dist', 'src', 'bin', 'kes-ctl.js'), ['--version']);
      expect(r).toMatchObject({ code: 0, stdout: `kes-ctl ${VERSION}\n`, stderr: '' });

      // Without a bundle at all (a build made with tsc alone), the bin runs the compiled modules.
      fs.rmSync(path.join(dir, 'dist', 'bundle'), { recursive: true });
      const plain = await run(path.join(dir, 'dist', 'src', 'bin', 'kes-ctl.js'), ['--version']);
      expect(plain).toMatchObject({ code: 0, stdout: `kes-ctl ${VERSION}\n`, stderr: '' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
