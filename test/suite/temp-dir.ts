/**
 * The suite's own temp dir, and the check that it is left empty.
 *
 * Before any test file runs, jest's globalSetup gives the whole run (its workers and every
 * process they start) a fresh TMPDIR. After the last one, globalTeardown fails the run if
 * anything is left in it, naming each entry, or if a `kes-*` entry appeared in the temp dir the
 * run started with (code that ignores TMPDIR). Every test, helper and script must remove what
 * it creates, even when it fails.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SUITE_TMP_ENV = 'KES_TEST_SUITE_TMPDIR';
const OUTER_TMP_ENV = 'KES_TEST_OUTER_TMPDIR';
const OUTER_BEFORE_ENV = 'KES_TEST_OUTER_BEFORE';

/** Our prefix in the temp dir: what the suite would leave if some code ignored TMPDIR. */
const OURS = /^kes-/;

function ours(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => OURS.test(n)).sort();
}

export function setUpSuiteTempDir(): void {
  const outer = os.tmpdir();
  const suite = fs.mkdtempSync(path.join(outer, 'kes-suite-'));
  // Tests that run a peer as another uid (nobody) need to reach sockets in dirs below this one.
  fs.chmodSync(suite, 0o755);
  process.env[SUITE_TMP_ENV] = suite;
  process.env[OUTER_TMP_ENV] = outer;
  process.env[OUTER_BEFORE_ENV] = JSON.stringify(ours(outer).filter((n) => path.join(outer, n) !== suite));
  process.env['TMPDIR'] = suite;
}

/** @throws Error naming every entry left behind; the suite dir is removed either way. */
export function checkSuiteTempDir(): void {
  const suite = process.env[SUITE_TMP_ENV];
  const outer = process.env[OUTER_TMP_ENV];
  if (suite === undefined || outer === undefined) return;
  const left = fs.readdirSync(suite).sort();
  fs.rmSync(suite, { recursive: true, force: true });
  const before = new Set(JSON.parse(process.env[OUTER_BEFORE_ENV] ?? '[]') as string[]);
  // Another run's own suite dir (a second jest on the same machine) is that run's to check.
  const escaped = ours(outer).filter((n) => !before.has(n) && !n.startsWith('kes-suite-'));
  const problems: string[] = [];
  if (left.length > 0) problems.push(`the tests left ${left.length} entries in the temp dir: ${left.join(', ')}`);
  if (escaped.length > 0) problems.push(`the tests created ${escaped.length} entries outside TMPDIR, in ${outer}: ${escaped.join(', ')}`);
  if (problems.length > 0) throw new Error(`temp-dir check failed: ${problems.join('; ')}`);
}
