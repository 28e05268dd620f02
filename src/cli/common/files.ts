/**
 * File-safety rules shared by the CLIs (docs/operator-guide.md, "Files the tools write").
 *
 * cardano-cli silently overwrites key files. Every command here that writes a file refuses to
 * replace an existing one with other content unless --overwrite is given (a lost cold key or a
 * rolled-back counter cannot be undone), finds a file that already holds exactly the bytes it
 * would write unchanged (exit 0, said so), and never writes through or replaces a symbolic link
 * (src/cardano/file-io.ts has the rule). A command whose output comes after a step that cannot
 * be repeated (staging a key) checks its output path before that step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option, UsageError } from 'clipanion';
import { KesError } from '../../errors';
import { inspectOutputPath, type WriteOutcome } from '../../cardano/file-io';

/** The one flag, in every CLI, that lets a write replace a file with other content. */
export const OVERWRITE_FLAG = '--overwrite';

/** `--overwrite`, as every writing command declares it. */
export function overwriteOption(names: string = OVERWRITE_FLAG): boolean {
  return Option.Boolean(names, false, { description: 'Replace an output file that exists with other content (never a symbolic link)' });
}

export interface OutputCheck {
  overwrite: boolean;
  /**
   * True when the command may find its exact bytes already there (exporting a key that was
   * exported before): then an existing file is judged at the write, by its content. False for
   * a fresh key, which no existing file can hold: an existing file is refused at once.
   */
  mayBeUnchanged: boolean;
}

/**
 * Check, before a step that cannot be undone, that `file` will be written: its directory exists
 * and is writable, it is no symbolic link and no directory, and (for fresh output, without
 * --overwrite) nothing is there yet.
 * @throws KesError FILE_IS_SYMLINK, FILE_EXISTS, FILE_WRITE_FAILED naming the file.
 */
export function checkOutputFile(file: string, check: OutputCheck): void {
  assertWritableDir(file);
  const state = inspectOutputPath(file);
  if (state === 'regular-file' && !check.overwrite && !check.mayBeUnchanged) {
    throw new KesError('FILE_EXISTS', `${file}: already exists; refusing to replace it (pass ${OVERWRITE_FLAG} to replace it)`);
  }
}

/** "<what> written to F", with "(replaced the previous file)", or "F unchanged (...)". */
export function describeWrite(file: string, outcome: WriteOutcome, what: string): string {
  if (outcome === 'unchanged') return `${file} unchanged: it already held exactly this ${what}`;
  return `${what} written to ${file}${outcome === 'replaced' ? ' (replaced the previous file)' : ''}`;
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
