/**
 * `npm run test:load`: the whole jest suite, several times in a row, with CPU-bound busy
 * processes running beside it, as on a shared CI machine. Prints each run's outcome and how many
 * runs passed; exits 0 only if every run did.
 *
 *     node dist/scripts/test-load.js [--runs N] [--hogs N]
 *
 * Defaults: 3 runs, 2 busy processes (one per core of the 2-core machine CI uses). The caller
 * builds first (`npm run test:load` does), so every run tests the same dist/. A failed run's
 * whole output is printed; a passing run shows jest's closing counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');

const USAGE = 'usage: node dist/scripts/test-load.js [--runs N] [--hogs N]';

function parseArgs(argv: string[]): { runs: number; hogs: number } {
  const out = { runs: 3, hogs: 2 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag !== '--runs' && flag !== '--hogs') throw new Error(`test-load: unexpected argument ${JSON.stringify(flag)} (${USAGE})`);
    if (value === undefined || !/^\d+$/.test(value)) throw new Error(`test-load: ${flag} expects a whole number, got ${JSON.stringify(value ?? '')} (${USAGE})`);
    out[flag === '--runs' ? 'runs' : 'hogs'] = Number(value);
    i++;
  }
  if (out.runs < 1) throw new Error(`test-load: --runs must be at least 1 (${USAGE})`);
  return out;
}

/** A process that keeps one core busy until it is killed. */
function hog(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

function jestRun(): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [JEST], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

async function main(): Promise<number> {
  const { runs, hogs } = parseArgs(process.argv.slice(2));
  const busy = Array.from({ length: hogs }, hog);
  const stopHogs = (): void => {
    for (const h of busy) h.kill('SIGKILL');
  };
  process.once('exit', stopHogs);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stopHogs();
      process.exit(130);
    });
  }
  console.log(`test-load: ${runs} run(s) of the jest suite beside ${hogs} busy process(es)`);
  let passed = 0;
  for (let n = 1; n <= runs; n++) {
    const r = await jestRun();
    const ok = r.code === 0;
    if (ok) passed++;
    const counts = r.output.split('\n').filter((l) => /^(Test Suites|Tests):/.test(l)).join('; ');
    console.log(`run ${n}: ${ok ? 'passed' : `FAILED (exit ${String(r.code)})`} in ${(r.ms / 1000).toFixed(1)} s: ${counts}`);
    if (!ok) console.log(r.output);
  }
  stopHogs();
  console.log(`test-load: ${passed} of ${runs} runs passed`);
  return passed === runs ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 2;
  },
);
