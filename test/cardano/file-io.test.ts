/**
 * writeFileSafely's rule for what is already at the path, on real files: created, unchanged,
 * refused, replaced (atomically, with the new mode), and a symbolic link or a directory refused
 * whatever the overwrite decision.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SECRET_FILE_MODE, PUBLIC_FILE_MODE, writeFileSafely } from '../../src/cardano/file-io';
import { tempDir } from '../helpers/processes';

let dir: string;
beforeEach(() => {
  dir = tempDir('kes-file-io-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const bytes = Buffer.from('new content\n');
const f = (name: string): string => path.join(dir, name);

test('nothing there: created with the mode asked for', () => {
  expect(writeFileSafely(f('a'), bytes, { mode: SECRET_FILE_MODE, overwrite: false })).toBe('created');
  expect(fs.statSync(f('a')).mode & 0o777).toBe(0o600);
  expect(fs.readFileSync(f('a'))).toEqual(bytes);
});

test.each([false, true])('the same bytes with no looser mode: unchanged, the file untouched (overwrite %s)', (overwrite) => {
  fs.writeFileSync(f('a'), bytes, { mode: 0o600 });
  const before = fs.statSync(f('a'));
  expect(writeFileSafely(f('a'), bytes, { mode: PUBLIC_FILE_MODE, overwrite })).toBe('unchanged');
  const after = fs.statSync(f('a'));
  expect([after.ino, after.mtimeMs, after.mode & 0o777]).toEqual([before.ino, before.mtimeMs, 0o600]);
});

test('the same bytes with a looser mode than a secret needs: refused without overwrite, rewritten 0600 with it', () => {
  fs.writeFileSync(f('s'), bytes);
  fs.chmodSync(f('s'), 0o644);
  expect(() => writeFileSafely(f('s'), bytes, { mode: SECRET_FILE_MODE, overwrite: false })).toThrow(
    expect.objectContaining({ code: 'FILE_EXISTS', message: `${f('s')}: already holds these bytes, but with mode 0644, looser than 0600; refusing to leave it so (pass --overwrite to rewrite it with mode 0600)` }),
  );
  expect(writeFileSafely(f('s'), bytes, { mode: SECRET_FILE_MODE, overwrite: true })).toBe('replaced');
  expect(fs.statSync(f('s')).mode & 0o777).toBe(0o600);
});

test('other content: refused without overwrite (file kept), replaced with it (a new inode, no temp file left)', () => {
  fs.writeFileSync(f('a'), 'old');
  expect(() => writeFileSafely(f('a'), bytes, { mode: PUBLIC_FILE_MODE, overwrite: false })).toThrow(expect.objectContaining({ code: 'FILE_EXISTS' }));
  expect(fs.readFileSync(f('a'), 'utf8')).toBe('old');
  const ino = fs.statSync(f('a')).ino;
  expect(writeFileSafely(f('a'), bytes, { mode: PUBLIC_FILE_MODE, overwrite: true })).toBe('replaced');
  expect(fs.readFileSync(f('a'))).toEqual(bytes);
  expect(fs.statSync(f('a')).ino).not.toBe(ino);
  expect(fs.readdirSync(dir)).toEqual(['a']);
});

test.each([false, true])('a symbolic link (to a file, or dangling) is refused, overwrite %s: link and target untouched', (overwrite) => {
  fs.writeFileSync(f('target'), 'precious');
  fs.symlinkSync(f('target'), f('link'));
  fs.symlinkSync(f('nowhere'), f('dangling'));
  for (const link of [f('link'), f('dangling')]) {
    expect(() => writeFileSafely(link, bytes, { mode: PUBLIC_FILE_MODE, overwrite })).toThrow(expect.objectContaining({ code: 'FILE_IS_SYMLINK' }));
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  }
  expect(fs.readFileSync(f('target'), 'utf8')).toBe('precious');
  expect(fs.existsSync(f('nowhere'))).toBe(false);
});

test('a directory at the path is refused with overwrite too', () => {
  fs.mkdirSync(f('d'));
  expect(() => writeFileSafely(f('d'), bytes, { mode: PUBLIC_FILE_MODE, overwrite: true })).toThrow(
    expect.objectContaining({ code: 'FILE_WRITE_FAILED', message: `${f('d')}: exists and is not a regular file; refusing to replace it` }),
  );
});
