/**
 * The kes_native addon against the real kernel: what it claims to lock, disable and read is
 * read back from /proc and from real sockets.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNative, tryLoadNative } from '../../src/native';

const native = loadNative();

function vmLckKiB(): number {
  const m = /VmLck:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (m?.[1] === undefined) throw new Error('no VmLck in /proc/self/status');
  return Number(m[1]);
}

describe('kes_native addon', () => {
  it('loads once and is the same object each time', () => {
    expect(tryLoadNative()).toBe(native);
  });

  it('secureBuffer maps locked memory: VmLck grows by whole pages, and the buffer is usable', () => {
    const before = vmLckKiB();
    const held: ArrayBuffer[] = [];
    for (let i = 0; i < 4; i++) held.push(native.secureBuffer(5000)); // 2 pages each
    expect(vmLckKiB() - before).toBe(4 * 2 * 4);
    const view = new Uint8Array(held[0]!);
    expect(view.length).toBe(5000);
    expect(view.every((b) => b === 0)).toBe(true);
    view.fill(0xa5);
    expect(view[4999]).toBe(0xa5);
  });

  it('secureBuffer marks its mapping DONTDUMP (dd) and WIPEONFORK (wf) in smaps VmFlags', () => {
    const buf = native.secureBuffer(4096);
    new Uint8Array(buf).fill(1);
    const smaps = fs.readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
    const ours = smaps.filter((e) => /^VmFlags:.*\bdd\b.*\bwf\b|^VmFlags:.*\bwf\b.*\bdd\b/m.test(e) && /^Locked:\s+4 kB/m.test(e));
    expect(ours.length).toBeGreaterThanOrEqual(1);
    expect(ours[0]).toMatch(/^VmFlags:.*\blo\b/m);
  });

  it('secureBuffer rejects a zero or negative size with a TypeError', () => {
    expect(() => native.secureBuffer(0)).toThrow(/positive integer/);
    expect(() => native.secureBuffer(-1)).toThrow();
  });

  it('lockArrayBuffer locks the pages of an existing buffer and reports DONTDUMP', () => {
    const before = vmLckKiB();
    // A WASM memory is page aligned, like libsodium's heap: 4 × 64 KiB.
    const wasm = new (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory({ initial: 4 });
    const r = native.lockArrayBuffer(wasm.buffer);
    expect(r.lockedBytes).toBe(4 * 65536);
    expect(r.dontDump).toBe(true);
    expect(vmLckKiB() - before).toBe(256);
    expect(() => native.lockArrayBuffer({} as ArrayBuffer)).toThrow(/expected an ArrayBuffer/);
  });

  it('processProtection reads the limits the kernel reports in /proc/self/limits', () => {
    const p = native.processProtection();
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const memlock = /Max locked memory\s+(\S+)\s+(\S+)/.exec(limits);
    expect(memlock).not.toBeNull();
    const expectSoft = memlock![1] === 'unlimited' ? -1 : Number(memlock![1]);
    expect(p.memlockLimit).toBe(expectSoft);
    expect(typeof p.dumpable).toBe('boolean');
  });

  it('getPeerCred reads the real peer of a Unix socket: our own pid, uid and gid', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-peer-'));
    const sockPath = path.join(dir, 's.sock');
    const server = net.createServer();
    try {
      const seen = await new Promise<{ pid: number; uid: number; gid: number }>((resolve, reject) => {
        server.on('connection', (s) => {
          try {
            const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
            resolve(native.getPeerCred(fd));
          } catch (e) {
            reject(e);
          } finally {
            s.destroy();
          }
        });
        server.on('error', reject);
        server.listen(sockPath, () => net.connect(sockPath).on('error', () => undefined));
      });
      expect(seen).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('getPeerCred on something that is not a socket fails with ENOTSOCK', () => {
    const fd = fs.openSync('/dev/null', 'r');
    try {
      expect(() => native.getPeerCred(fd)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('disableCoreDumps (in a child process: it changes the process for good)', () => {
  it('sets RLIMIT_CORE to 0 and the process non-dumpable, as the kernel reports it', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const addonPath = path.join(__dirname, '..', '..', 'build', 'Release', 'kes_native.node');
    const script = `
      const fs = require('fs');
      const n = require(${JSON.stringify(addonPath)});
      const before = n.processProtection();
      n.disableCoreDumps();
      const after = n.processProtection();
      const limits = fs.readFileSync('/proc/self/limits', 'utf8').match(/Max core file size\\s+(\\S+)\\s+(\\S+)/);
      console.log(JSON.stringify({ before, after, soft: limits[1], hard: limits[2] }));`;
    // Start with core dumps allowed, as a careless shell would.
    const out = execFileSync('bash', ['-c', 'ulimit -S -c unlimited 2>/dev/null || ulimit -S -c 1000; exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8' });
    const r = JSON.parse(out) as { before: { coreLimit: number; dumpable: boolean }; after: { coreLimit: number; dumpable: boolean }; soft: string; hard: string };
    expect(r.before.coreLimit).not.toBe(0);
    expect(r.before.dumpable).toBe(true);
    expect(r.after).toMatchObject({ coreLimit: 0, dumpable: false });
    expect([r.soft, r.hard]).toEqual(['0', '0']);
  });
});
