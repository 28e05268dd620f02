/**
 * Reading and writing the small key/certificate files, with errors that name the file.
 *
 * Reads are bounded (the size is checked before allocating) and return a Buffer the caller
 * wipes. Writes take an explicit mode and an explicit overwrite decision, and follow one rule
 * for what is already at the path (docs/operator-guide.md, "Files the tools write"):
 * - nothing: created with O_CREAT|O_EXCL at the final path (a file or link that appears
 *   meanwhile is never clobbered);
 * - a symbolic link (even dangling): refused, with or without overwrite. Writing through it
 *   would change a file elsewhere (a pool's cold key, say), and replacing the link would
 *   silently leave that file stale; either surprise can cost a key, so the operator decides;
 * - anything but a regular file: refused;
 * - a regular file with exactly these bytes and no looser mode: left alone ('unchanged');
 * - any other regular file: refused unless overwrite; then a sibling temp file (O_EXCL, same
 *   mode) is written, fsynced and renamed over it. Readers see the old file or the new one,
 *   never half of either; rename replaces the directory entry, so a link put there after the
 *   check is replaced, not followed; and the new file has `mode`, not the old file's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KesError } from '../errors';
import { errnoOf } from '../platform/errno';

/**
 * Six random bytes as hex, for a temporary file's name. node:crypto is loaded here, at the first
 * replacing write, not with this module: loading it took ~2.5 ms of every short command's start,
 * `kes-ctl status` included, which never writes a file.
 */
function randomSuffix(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  return randomBytes(6).toString('hex');
}

/** Mode of public files (verification keys, opcerts, counters): like cardano-cli under umask 022. */
export const PUBLIC_FILE_MODE = 0o644;
/** Mode of secret key files. The umask can only remove bits from it. */
export const SECRET_FILE_MODE = 0o600;

function readFailure(file: string, e: unknown): KesError {
  const code = errnoOf(e);
  const why =
    code === 'ENOENT' ? 'no such file'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EISDIR' ? 'is a directory, expected a file'
    : code === 'ENOTDIR' ? 'a parent path is not a directory'
    : code === 'ELOOP' ? 'too many symbolic links'
    : `cannot be read (${code})`;
  return new KesError('FILE_UNREADABLE', `${file}: ${why}`, { cause: e });
}

/**
 * Read a whole regular file of at most `maxBytes`. The caller wipes the returned buffer when the
 * file may hold secrets.
 * @throws KesError FILE_UNREADABLE (missing, directory, permissions), FILE_TOO_LARGE.
 */
export function readFileBounded(file: string, maxBytes: number, kind: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw readFailure(file, e);
  }
  let buf: Buffer | undefined;
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new KesError('FILE_UNREADABLE', `${file}: is a directory, expected a file`);
    if (!st.isFile()) throw new KesError('FILE_UNREADABLE', `${file}: not a regular file`);
    if (st.size > maxBytes) {
      throw new KesError('FILE_TOO_LARGE', `${file}: ${st.size} bytes is too large for ${kind} (at most ${maxBytes})`);
    }
    // Buffer.alloc, not allocUnsafe: never hand out pooled memory that other data shared.
    buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n !== buf.length) throw new KesError('FILE_UNREADABLE', `${file}: changed size while being read`);
    return buf;
  } catch (e) {
    buf?.fill(0);
    if (e instanceof KesError) throw e;
    throw readFailure(file, e);
  } finally {
    fs.closeSync(fd);
  }
}

export interface WriteOptions {
  mode: number;
  /** false: fail with FILE_EXISTS if a file with other content is at the path. */
  overwrite: boolean;
}

/** What a write did: made a new file, replaced one, or found these exact bytes already there. */
export type WriteOutcome = 'created' | 'replaced' | 'unchanged';

/** What is at an output path before a write (lstat: a link is never followed). */
export type OutputPathState = 'absent' | 'regular-file';

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * The checks a write makes before it writes, for commands that must refuse before a step that
 * cannot be undone (staging a key): a symlink or a non-file at `file` is refused.
 * @throws KesError FILE_IS_SYMLINK, FILE_WRITE_FAILED
 */
export function inspectOutputPath(file: string): OutputPathState {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return 'absent';
    throw writeFailure(file, e);
  }
  if (st.isSymbolicLink()) {
    throw new KesError(
      'FILE_IS_SYMLINK',
      `${file}: is a symbolic link; refusing to write through it or replace it, with or without --overwrite (name the real file, or remove the link)`,
    );
  }
  if (!st.isFile()) throw new KesError('FILE_WRITE_FAILED', `${file}: exists and is not a regular file; refusing to replace it`);
  return 'regular-file';
}

/** Does the regular file at `file` hold exactly `data`? Its mode, for the caller to judge. */
function compareFile(file: string, data: Uint8Array): { same: boolean; mode: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    throw writeFailure(file, e);
  }
  // One byte more than `data`: a file that changed size meanwhile still compares unequal.
  const buf = Buffer.alloc(data.length + 1);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== data.length) return { same: false, mode: st.mode };
    let n = 0;
    while (n < buf.length) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return { same: n === data.length && buf.subarray(0, n).equals(data), mode: st.mode };
  } finally {
    // The file may be a secret key: its bytes do not outlive the comparison.
    buf.fill(0);
    fs.closeSync(fd);
  }
}

function writeFailure(file: string, e: unknown): KesError {
  if (e instanceof KesError) return e;
  const code = errnoOf(e);
  if (code === 'EEXIST') return new KesError('FILE_EXISTS', `${file}: appeared while being written; not replaced`, { cause: e });
  const why =
    code === 'ENOENT' ? 'directory does not exist'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EISDIR' ? 'is a directory'
    : code === 'ENOSPC' ? 'no space left on device'
    : `cannot be written (${code})`;
  return new KesError('FILE_WRITE_FAILED', `${file}: ${why}`, { cause: e });
}

function writeAllAndSync(fd: number, data: Uint8Array): void {
  let n = 0;
  while (n < data.length) n += fs.writeSync(fd, data, n, data.length - n);
  fs.fsyncSync(fd);
}

/** Best effort: make the rename durable. Some filesystems refuse fsync on a directory. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Durability of the directory entry is not worth failing a completed write for.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Write `data` to `file` with `mode`, by the rule in the module comment.
 * The caller wipes `data` afterwards when it is secret.
 * @throws KesError FILE_EXISTS (other content and overwrite=false), FILE_IS_SYMLINK, FILE_WRITE_FAILED.
 */
export function writeFileSafely(file: string, data: Uint8Array, opts: WriteOptions): WriteOutcome {
  const exists = inspectOutputPath(file) === 'regular-file';
  if (exists) {
    const old = compareFile(file, data);
    const looser = (old.mode & 0o777 & ~opts.mode) !== 0;
    if (old.same && !looser) return 'unchanged';
    if (!opts.overwrite) {
      throw new KesError(
        'FILE_EXISTS',
        old.same
          ? `${file}: already holds these bytes, but with mode ${modeText(old.mode)}, looser than ${modeText(opts.mode)}; refusing to leave it so (pass --overwrite to rewrite it with mode ${modeText(opts.mode)})`
          : `${file}: already exists with other content; refusing to replace it (pass --overwrite to replace it)`,
      );
    }
  }
  const target = exists
    ? path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomSuffix()}.tmp`)
    : file;
  let fd: number;
  try {
    fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, opts.mode);
  } catch (e) {
    throw writeFailure(file, e);
  }
  let done = false;
  try {
    try {
      writeAllAndSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    if (exists) fs.renameSync(target, file);
    done = true;
  } catch (e) {
    throw writeFailure(file, e);
  } finally {
    if (!done) {
      try {
        fs.unlinkSync(target);
      } catch {
        // Already gone or never created: nothing left to clean.
      }
    }
  }
  syncDir(path.dirname(file));
  return exists ? 'replaced' : 'created';
}

/** True when something (file, directory, or symlink, even dangling) exists at `file`. */
export function pathExists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
