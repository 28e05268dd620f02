/**
 * Reading and writing the small key/certificate files, with errors that name the file.
 *
 * Reads are bounded (the size is checked before allocating) and return a Buffer the caller
 * wipes. Writes take an explicit mode and an explicit overwrite decision:
 * - overwrite=false: O_CREAT|O_EXCL at the final path. Never follows a symlink, never clobbers.
 * - overwrite=true: write a sibling temp file (O_EXCL, same mode), fsync, rename over the
 *   target. Readers see the old file or the new one, never half of either, and a file that
 *   existed with looser permissions is replaced, not reused with its old mode.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { KesError } from '../errors';

/** Mode of public files (verification keys, opcerts, counters): like cardano-cli under umask 022. */
export const PUBLIC_FILE_MODE = 0o644;
/** Mode of secret key files. The umask can only remove bits from it. */
export const SECRET_FILE_MODE = 0o600;

function errnoCode(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : 'unknown error';
}

function readFailure(file: string, e: unknown): KesError {
  const code = errnoCode(e);
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
  /** false: fail with FILE_EXISTS if the path exists (including as a dangling symlink). */
  overwrite: boolean;
}

function writeFailure(file: string, e: unknown): KesError {
  if (e instanceof KesError) return e;
  const code = errnoCode(e);
  if (code === 'EEXIST') return new KesError('FILE_EXISTS', `${file}: already exists (not overwritten)`, { cause: e });
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
 * Write `data` to `file` with `mode` (see the module comment for the two strategies).
 * The caller wipes `data` afterwards when it is secret.
 * @throws KesError FILE_EXISTS (overwrite=false), FILE_WRITE_FAILED.
 */
export function writeFileSafely(file: string, data: Uint8Array, opts: WriteOptions): void {
  const target = opts.overwrite
    ? path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
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
    if (opts.overwrite) fs.renameSync(target, file);
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
