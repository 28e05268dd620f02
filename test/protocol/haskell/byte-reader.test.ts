/**
 * ByteReader over real Unix socket pairs: reads across chunks, EOF at a boundary vs a short read,
 * socket errors, timeouts, the buffering cap (the socket is paused), wiping of consumed bytes,
 * secret reads, and the handover of leftover bytes to the next reader (a plain 'data' consumer
 * and our own FramedSocket) after the version handshake.
 */
import type * as net from 'node:net';
import * as secretMemory from '../../../src/crypto/secret-memory';
import { encodeMessage } from '../../../src/protocol';
import { FramedSocket } from '../../../src/protocol/framed-socket';
import { ByteReader, PeerClosedError, ReadTimeoutError, readAnswer } from '../../../src/protocol/haskell';
import { eventually } from '../../helpers/eventually';
import { SV2 } from './golden-hex';
import { h, hexOf, listen, type Listener } from './pair';

const ACCEPT = h('01' + SV2);

let l: Listener;
beforeAll(async () => {
  l = await listen();
});
afterAll(() => l.close());

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const write = (s: net.Socket, b: Uint8Array): Promise<void> => new Promise((r) => s.write(b, () => r()));


test('fields split across many chunks are assembled in order', async () => {
  const { local, remote } = await l.pair();
  const r = new ByteReader(local);
  const bytes = h('01' + '0203' + '04050607' + '08090a0b0c0d0e0f' + 'fffffffffffffffe' + '00');
  const reading = (async () => [await r.readU8(), await r.readU16(), await r.readU32(), await r.readU64(), await r.readI64(), await r.readBool()])();
  for (const b of bytes) {
    await write(remote, Uint8Array.of(b));
    await tick();
  }
  expect(await reading).toEqual([1, 0x0203, 0x04050607, 0x08090a0b0c0d0e0fn, -2n, false]);
  r.destroy();
  remote.destroy();
});

test('EOF: clean at a message boundary, a short read inside a message or a field', async () => {
  {
    const { local, remote } = await l.pair();
    const r = new ByteReader(local);
    remote.end(h('00000001'));
    r.beginMessage();
    expect(await r.readU32()).toBe(1);
    r.beginMessage();
    const e = await r.readU32().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PeerClosedError);
    expect(e).toMatchObject({ clean: true, reason: 'eof' });
    r.destroy();
  }
  {
    const { local, remote } = await l.pair();
    const r = new ByteReader(local);
    remote.end(h('00000001'));
    r.beginMessage();
    expect(await r.readU32()).toBe(1);
    // same message: the field boundary is not a message boundary
    await expect(r.readU32()).rejects.toMatchObject({ clean: false, reason: 'eof' });
    r.destroy();
  }
  {
    const { local, remote } = await l.pair();
    const r = new ByteReader(local);
    remote.end(h('0000'));
    r.beginMessage();
    await expect(r.readU32()).rejects.toMatchObject({ clean: false, reason: 'eof' });
    r.destroy();
  }
});

test('a socket error rejects the pending read as not clean', async () => {
  const { local, remote } = await l.pair();
  const r = new ByteReader(local);
  const p = r.readU32();
  local.destroy(new Error('boom'));
  await expect(p).rejects.toMatchObject({ clean: false, reason: 'socket-error' });
  remote.destroy();
});

test('a timeout leaves the reader usable; one read at a time', async () => {
  const { local, remote } = await l.pair();
  const r = new ByteReader(local);
  await expect(r.readExact(4, { timeoutMs: 30 })).rejects.toBeInstanceOf(ReadTimeoutError);
  const p = r.readExact(4);
  await expect(r.readExact(1)).rejects.toThrow(/another read is pending/);
  await write(remote, h('0a0b0c0d'));
  expect(hexOf(await p)).toBe('0a0b0c0d');
  r.destroy();
  remote.destroy();
});

test('consumed bytes are wiped in the socket chunks; a secret read lands in allocSecret memory', async () => {
  const { local, remote } = await l.pair();
  const chunks: Buffer[] = [];
  local.on('data', (c: Buffer) => chunks.push(c)); // before the reader: the same Buffer objects
  const r = new ByteReader(local);
  const alloc = jest.spyOn(secretMemory, 'allocSecret');
  try {
    const key = new Uint8Array(608).fill(0x5a);
    await write(remote, key);
    await write(remote, h('01020304'));
    const sk = await r.readExact(608, { secret: true });
    expect(alloc).toHaveBeenCalledWith(608);
    expect(alloc.mock.results[0]!.value).toBe(sk);
    expect(sk.every((b) => b === 0x5a)).toBe(true);
    expect(await r.readU32()).toBe(0x01020304);
    expect(chunks.length).toBeGreaterThan(0);
    for (const c of chunks) expect(c.every((b) => b === 0)).toBe(true);
    secretMemory.releaseSecret(sk);
  } finally {
    alloc.mockRestore();
  }
  // Bytes never consumed are wiped when the reader is destroyed.
  await write(remote, h('ffffffff'));
  await eventually('4 bytes buffered', () => r.buffered === 4, 5_000);
  r.destroy();
  for (const c of chunks) expect(c.every((b) => b === 0)).toBe(true);
  remote.destroy();
});

test('the buffering cap: the socket is paused, the peer stays blocked, and nothing is lost', async () => {
  const { local, remote } = await l.pair();
  const CAP = 4096;
  const r = new ByteReader(local, { maxBufferedBytes: CAP });
  const TOTAL = 4 * 1024 * 1024;
  const data = new Uint8Array(TOTAL);
  for (let i = 0; i < TOTAL; i++) data[i] = (i * 7) & 0xff;
  let written = false;
  remote.write(data, () => (written = true));
  await eventually('the socket is paused', () => local.isPaused(), 5_000);
  await sleep(100);
  // At most the cap plus one read chunk (64 KiB) is ever held.
  expect(r.buffered).toBeGreaterThanOrEqual(CAP);
  expect(r.buffered).toBeLessThanOrEqual(CAP + 64 * 1024);
  expect(written).toBe(false);
  let off = 0;
  let max = 0;
  while (off < TOTAL) {
    const n = Math.min(CAP, TOTAL - off);
    const b = await r.readExact(n);
    for (let i = 0; i < n; i += 997) if (b[i] !== data[off + i]) throw new Error(`byte ${off + i} differs`);
    off += n;
    max = Math.max(max, r.buffered);
  }
  expect(max).toBeLessThanOrEqual(CAP + 64 * 1024);
  await eventually('the write completed', () => written, 5_000);
  r.destroy();
  remote.destroy();
}, 30_000);

test('handOver: the bytes after the handshake answer reach the next plain reader first, in order', async () => {
  const { local, remote } = await l.pair();
  const r = new ByteReader(local);
  // The accept and the start of the next protocol arrive in ONE write.
  await write(remote, new Uint8Array([...ACCEPT, ...h('68656c6c6f')]));
  const a = await readAnswer(r);
  expect(a.accepted).toBe(true);
  await eventually('5 bytes buffered', () => r.buffered === 5, 5_000);
  expect(r.handOver()).toEqual({ ended: false, leftoverBytes: 5 });
  expect(local.isPaused()).toBe(true);
  const got: Buffer[] = [];
  local.on('data', (c: Buffer) => got.push(Buffer.from(c)));
  local.resume();
  await write(remote, h('20776f726c64'));
  await eventually('11 bytes handed over', () => Buffer.concat(got).length === 11, 5_000);
  expect(Buffer.concat(got).toString()).toBe('hello world');
  local.destroy();
  remote.destroy();
});

test('handOver into our own FramedSocket: a frame that arrived with the handshake answer is received', async () => {
  const { local, remote } = await l.pair();
  const r = new ByteReader(local);
  const frame = encodeMessage({ type: 'status' });
  await write(remote, new Uint8Array([...ACCEPT, ...frame]));
  expect((await readAnswer(r)).accepted).toBe(true);
  await eventually('the whole frame buffered', () => r.buffered === frame.length, 5_000);
  expect(r.handOver().ended).toBe(false);
  const fs = new FramedSocket(local, { receivesSecrets: false });
  expect(await fs.receive(2000)).toEqual({ type: 'status' });
  // and the stream continues after the leftover
  await write(remote, encodeMessage({ type: 'drop_staged' }));
  expect(await fs.receive(2000)).toEqual({ type: 'drop_staged' });
  fs.destroy();
  remote.destroy();
});

test('detach: a pending read rejects; after the peer closed, handOver reports ended and wipes', async () => {
  const { local, remote } = await l.pair();
  const r = new ByteReader(local);
  const p = r.readExact(10);
  const d = r.detach();
  await expect(p).rejects.toMatchObject({ reason: 'detached' });
  expect(d).toEqual({ leftover: new Uint8Array(0), ended: false });
  remote.destroy();
  local.destroy();

  const pair2 = await l.pair();
  const r2 = new ByteReader(pair2.local);
  pair2.remote.end(new Uint8Array([...ACCEPT, 0x78, 0x79]));
  expect((await readAnswer(r2)).accepted).toBe(true);
  await eventually('the second connection ended', () => pair2.local.readableEnded, 5_000);
  expect(r2.handOver()).toEqual({ ended: true, leftoverBytes: 2 });
  pair2.local.destroy();
});
