/**
 * Real Unix socket pairs for the Haskell codec tests: a server on a temp path under os.tmpdir(),
 * one connection per pair, everything removed by cleanup().
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ByteReader } from '../../../src/protocol/haskell';

export interface Listener {
  path: string;
  server: net.Server;
  /** Connect once: `local` is the accepted end, `remote` the connecting end. */
  pair(): Promise<{ local: net.Socket; remote: net.Socket }>;
  close(): Promise<void>;
}

export async function listen(prefix = 'kes-hs-'): Promise<Listener> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const sockPath = path.join(dir, 's.sock');
  const queue: net.Socket[] = [];
  const waiters: ((s: net.Socket) => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    const w = waiters.shift();
    if (w) w(s);
    else queue.push(s);
  });
  await new Promise<void>((r) => server.listen(sockPath, r));
  return {
    path: sockPath,
    server,
    async pair() {
      const accepted = new Promise<net.Socket>((r) => {
        const q = queue.shift();
        if (q) r(q);
        else waiters.push(r);
      });
      const remote = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(sockPath, () => resolve(c));
        c.once('error', reject);
      });
      remote.on('error', () => undefined);
      sockets.add(remote);
      return { local: await accepted, remote };
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Write `bytes` from the remote end (then end it unless `end: false`) and run `decode` on a ByteReader of the local end. */
export async function decodeFrom<T>(l: Listener, bytes: Uint8Array, decode: (r: ByteReader) => Promise<T>, opts: { end?: boolean } = {}): Promise<T> {
  const { local, remote } = await l.pair();
  const r = new ByteReader(local);
  try {
    if (opts.end === false) remote.write(bytes);
    else remote.end(bytes);
    return await decode(r);
  } finally {
    r.destroy();
    local.destroy();
    remote.destroy();
  }
}

/** Hex with spaces/newlines allowed, for hand-written golden bytes. */
export function h(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error('bad golden hex');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** `n` zero bytes as hex. */
export const z = (n: number): string => '00'.repeat(n);
