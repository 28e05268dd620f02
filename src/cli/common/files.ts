/**
 * File-safety rules shared by the CLIs.
 *
 * cardano-cli silently overwrites key files. We refuse to replace an existing key or counter
 * file unless --force is given (a lost cold key or a rolled-back counter cannot be undone),
 * and say so naming the file. Public outputs that are meant to be regenerated (an opcert)
 * are replaced atomically like cardano-cli does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from 'clipanion';
import { KesError } from '../../errors';
import { pathExists } from '../../cardano/file-io';

/** @throws KesError FILE_EXISTS naming the first existing file, unless `force`. */
export function refuseToOverwrite(files: readonly string[], force: boolean): void {
  if (force) return;
  for (const f of files) {
    if (pathExists(f)) {
      throw new KesError('FILE_EXISTS', `${f}: already exists; refusing to overwrite it (pass --force to replace it)`);
    }
  }
}

/** @throws UsageError when two options name the same file. */
export function requireDistinctPaths(files: Record<string, string>): void {
  const seen = new Map<string, string>();
  for (const [option, file] of Object.entries(files)) {
    const key = path.resolve(file);
    const other = seen.get(key);
    if (other !== undefined) throw new UsageError(`${other} and ${option} name the same file (${file})`);
    seen.set(key, option);
  }
}

/**
 * Check before a step that cannot be repeated (keygen stages a key) that its output file can be
 * written: its directory exists, is a directory, and is writable.
 * @throws KesError FILE_WRITE_FAILED naming the file and its directory.
 */
export function assertWritableDir(file: string): void {
  const dir = path.dirname(path.resolve(file));
  let ok = false;
  try {
    ok = fs.statSync(dir).isDirectory();
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    ok = false;
  }
  if (!ok) throw new KesError('FILE_WRITE_FAILED', `${file}: directory ${dir} does not exist, is not a directory, or is not writable`);
}
