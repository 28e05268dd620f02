/**
 * The BUILT binary, as an operator runs it: `node dist/src/bin/kes-cold.js`. `npm test` builds
 * first; run alone, this suite rebuilds dist when it is missing or older than the sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { readVectorText, vectorPath } from '../helpers/vectors';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'dist', 'src', 'bin', 'kes-cold.js');
const SOURCES = ['src/cardano', 'src/cli', 'src/bin', 'src/time', 'src/crypto'].map((d) => path.join(ROOT, d));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function ensureBuilt(): void {
  const fresh = fs.existsSync(BIN) && fs.statSync(BIN).mtimeMs >= Math.max(...SOURCES.filter(fs.existsSync).map(newestMtime));
  if (fresh) return;
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    // tsc emits even when files outside kes-cold fail to type-check; the checks below decide.
  }
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} missing after the build: run npm run build`);
}

function run(args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-cold-bin-'));
}, 180_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('issue-opcert with cardano-cli inputs and the counter at 7 reproduces opcert.cert and opcert.counter byte for byte', () => {
  fs.copyFileSync(vectorPath('cardano-cli', 'kes.vkey'), path.join(dir, 'kes.vkey'));
  fs.copyFileSync(vectorPath('cardano-cli', 'cold.skey'), path.join(dir, 'cold.skey'));
  fs.writeFileSync(
    path.join(dir, 'opcert.counter'),
    readVectorText('cardano-cli', 'opcert.counter').replace('number: 8', 'number: 7').replace('"cborHex": "8208', '"cborHex": "8207'),
  );
  const r = run(
    ['issue-opcert', '--kes-vkey', 'kes.vkey', '--cold-skey', 'cold.skey', '--counter', 'opcert.counter', '--kes-period', '1430', '--out', 'opcert.cert'],
    dir,
  );
  expect(r.err).toBe('');
  expect(r.code).toBe(EXIT.OK);
  expect(fs.readFileSync(path.join(dir, 'opcert.cert'), 'utf8')).toBe(readVectorText('cardano-cli', 'opcert.cert'));
  expect(fs.readFileSync(path.join(dir, 'opcert.counter'), 'utf8')).toBe(readVectorText('cardano-cli', 'opcert.counter'));
  expect(fs.statSync(path.join(dir, 'opcert.cert')).mode & 0o022).toBe(0);

  // Issuing again consumes number 8.
  const again = run(
    ['issue-opcert', '--kes-vkey', 'kes.vkey', '--cold-skey', 'cold.skey', '--counter', 'opcert.counter', '--kes-period', '1431', '--out', 'opcert2.cert'],
    dir,
  );
  expect(again.code).toBe(EXIT.OK);
  expect(fs.readFileSync(path.join(dir, 'opcert.counter'), 'utf8')).toContain('"description": "Next certificate issue number: 9"');
});

test('--version reads the version from package.json at runtime', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  expect(run(['--version'], dir)).toEqual({ code: EXIT.OK, out: `kes-cold ${pkg.version}\n`, err: '' });
});

test('--help goes to stdout with exit 0', () => {
  const r = run(['issue-opcert', '--help'], dir);
  expect(r.code).toBe(EXIT.OK);
  expect(r.err).toBe('');
  expect(r.out).toContain('Issue an operational certificate');
});

test('a usage error: exit 2, one line on stderr, stdout empty', () => {
  const r = run(['issue-opcert', '--kes-period', 'soon'], dir);
  expect(r.code).toBe(EXIT.USAGE);
  expect(r.out).toBe('');
  expect(r.err).toMatch(/^kes-cold: error: [^\n]+\n$/);
});

test('an expected failure: its exit code and one line with the error code, no stack trace', () => {
  const r = run(['inspect', 'no-such-file'], dir);
  expect(r.code).toBe(EXIT.BAD_INPUT);
  expect(r.out).toBe('');
  expect(r.err).toBe('kes-cold: error: no-such-file: no such file [FILE_UNREADABLE]\n');
});

test('inspect of a secret key never prints the secret', () => {
  const r = run(['inspect', vectorPath('cardano-cli', 'cold.skey')], dir);
  expect(r.code).toBe(EXIT.OK);
  expect(r.out).toContain('2151d26921ab6079bbc9366377f4299de729c3e45c3db70362b9a25e8c89f61b');
  expect(r.out).not.toContain('bbb52476');
});
