/**
 * Paths to the shared interop vectors (../shared/vectors, see its README) and hex parsing for
 * test data. The vectors are ground truth: when our code disagrees with them, our code is wrong.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromHex } from '../../src/crypto/bytes';

const REPO = path.join(__dirname, '..', '..');

/**
 * `<repo>/../shared/vectors`; or, in a clone of a local checkout (`git clone . /tmp/x`, a fresh
 * clone check), beside the checkout it was cloned from; or KES_VECTORS_DIR when set.
 */
function findVectorsDir(): string {
  const beside = path.join(REPO, '..', 'shared', 'vectors');
  const fromEnv = process.env['KES_VECTORS_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (fs.existsSync(beside)) return beside;
  try {
    const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], { cwd: REPO, encoding: 'utf8' }).trim();
    const candidate = path.join(origin, '..', 'shared', 'vectors');
    if (path.isAbsolute(origin) && fs.existsSync(candidate)) return candidate;
  } catch {
    // not a git checkout, or no origin: fall through to the usual place, which tests then name
  }
  return beside;
}

export const VECTORS_DIR = findVectorsDir();

export function vectorPath(...parts: string[]): string {
  return path.join(VECTORS_DIR, ...parts);
}

export function readVectorText(...parts: string[]): string {
  return fs.readFileSync(vectorPath(...parts), 'utf8');
}

export function readVectorJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readVectorText(...parts)) as T;
}

/** Hex of test data to bytes; throws on malformed hex so a broken vector fails loudly. */
export function hex(s: string): Uint8Array {
  const out = fromHex(s);
  if (out === undefined) throw new Error(`test vector is not hex: ${s.slice(0, 16)}...`);
  return out;
}
