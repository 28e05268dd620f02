/**
 * The kes_client addon (native/kes_client.c) against the real kernel: connectUnix gives a
 * connected, close-on-exec descriptor with the listener's SO_PEERCRED and a receive timeout,
 * or an Error whose code is the errno name, leaving nothing open.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadClientSocket } from '../../src/native/client-socket';
import { tempDir } from '../helpers/processes';

const addon = loadClientSocket();

let dir: string;
beforeEach(() => {
  dir = tempDir('kes-client-socket-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function listen(socketPath: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => s.on('error', () => undefined));
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}

function openFds(): string[] {
  return fs.readdirSync('/proc/self/fd');
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('kes_client connectUnix', () => {
  it('connects, reports who listens (this process), and the descriptor is close-on-exec and times out reads with EAGAIN', async () => {
    const socketPath = path.join(dir, 'a.sock');
    const server = await listen(socketPath);
    try {
      const s = addon.connectUnix(socketPath, 50);
      try {
        expect(s).toEqual({ fd: expect.any(Number), pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
        const flags = /^flags:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${s.fd}`, 'utf8'))?.[1];
        expect(parseInt(flags!, 8) & 0o2000000).not.toBe(0); // O_CLOEXEC
        // The listener never writes: the read gives up after SO_RCVTIMEO instead of blocking forever.
        expect(codeOf(() => fs.readSync(s.fd, Buffer.alloc(16), 0, 16, null))).toBe('EAGAIN');
      } finally {
        fs.closeSync(s.fd);
      }
    } finally {
      server.close();
    }
  });

  it('a missing path, a regular file, a path too long, a NUL, a bad timeout: the errno name as .code, no descriptor left open', () => {
    const before = openFds();
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, '');
    expect(codeOf(() => addon.connectUnix(path.join(dir, 'missing.sock'), 1000))).toBe('ENOENT');
    expect(codeOf(() => addon.connectUnix(path.join(dir, 'no-dir', 'x.sock'), 1000))).toBe('ENOENT');
    expect(codeOf(() => addon.connectUnix(file, 1000))).toBe('ECONNREFUSED');
    expect(codeOf(() => addon.connectUnix(path.join(file, 'x.sock'), 1000))).toBe('ENOTDIR');
    expect(codeOf(() => addon.connectUnix(`/${'a'.repeat(107)}`, 1000))).toBe('ENAMETOOLONG');
    // 36 three-byte characters: 108 bytes, and a cut at a character boundary would not show.
    expect(codeOf(() => addon.connectUnix(`/${'€'.repeat(36)}`, 1000))).toBe('ENAMETOOLONG');
    expect(codeOf(() => addon.connectUnix('/tmp/a\0b', 1000))).toBe('EINVAL');
    expect(codeOf(() => addon.connectUnix('', 1000))).toBe('EINVAL');
    for (const t of [0, -1, 600_001, Number.NaN]) expect(codeOf(() => addon.connectUnix(file, t))).toBe('EINVAL');
    expect(codeOf(() => (addon.connectUnix as (...a: unknown[]) => unknown)(42, 1000))).toBe('EINVAL');
    expect(openFds()).toEqual(before);
  });

  it('a path with non-ASCII characters is connected to as its UTF-8 bytes', async () => {
    const socketPath = path.join(dir, 'kés-€.sock');
    const server = await listen(socketPath);
    try {
      const s = addon.connectUnix(socketPath, 1000);
      fs.closeSync(s.fd);
      expect(s.pid).toBe(process.pid);
    } finally {
      server.close();
    }
  });

  it('a path of exactly 107 bytes fits sun_path; 108 does not', async () => {
    const base = path.join(dir, 's');
    const at107 = base + 'x'.repeat(107 - Buffer.byteLength(base));
    expect(Buffer.byteLength(at107)).toBe(107);
    const server = await listen(at107);
    try {
      const s = addon.connectUnix(at107, 1000);
      fs.closeSync(s.fd);
      expect(codeOf(() => addon.connectUnix(`${at107}y`, 1000))).toBe('ENAMETOOLONG');
    } finally {
      server.close();
    }
  });
});
