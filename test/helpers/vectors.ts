/**
 * Paths to the shared interop vectors (../shared/vectors, see its README) and hex parsing for
 * test data. The vectors are ground truth: when our code disagrees with them, our code is wrong.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromHex } from '../../src/crypto/bytes';

/** `<repo>/../shared/vectors` */
export const VECTORS_DIR = path.join(__dirname, '..', '..', '..', 'shared', 'vectors');

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
