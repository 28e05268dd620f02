/**
 * FramedSocket.sendEncoded: one encoded frame written to many sockets (the service hub's pushes).
 * Real Unix sockets in a temp dir.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as secretMemory from '../../src/crypto/secret-memory';
import { KES_SECRET_BYTES, encodeMessage, type KeyMessage, type Opcert } from '../../src/protocol';
import { ConnectionClosedError, FramedSocket, carriesSecret } from '../../src/protocol/framed-socket';

const opcert: Opcert = {
  hotVk: new Uint8Array(32).fill(1),
  counter: 4,
  kesPeriod: 1500,
  sigma: new Uint8Array(64).fill(2),
  coldVk: new Uint8Array(32).fill(3),
};
const secret = (): Uint8Array => Uint8Array.from({ length: KES_SECRET_BYTES }, (_, i) => (i * 7 + 1) & 0xff);

/** `n` connected pairs: [agent side, peer side]. */
async function pairs(n: number): Promise<{ agent: FramedSocket; peer: FramedSocket }[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-send-encoded-'));
  const sock = path.join(dir, 's.sock');
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(sock, r));
  const peers: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    peers.push(await new Promise<net.Socket>((r) => { const c = net.connect(sock, () => r(c)); }));
  }
  while (accepted.length < n) await new Promise((r) => setTimeout(r, 5));
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return accepted.map((s, i) => ({ agent: new FramedSocket(s, { receivesSecrets: false }), peer: new FramedSocket(peers[i]!, { receivesSecrets: true }) }));
}

describe('FramedSocket.sendEncoded', () => {
  afterEach(() => jest.restoreAllMocks());

  test('one KEY frame reaches every socket intact although the caller wipes it at once', async () => {
    const conns = await pairs(3);
    const frame = encodeMessage({ type: 'key', seq: 9, opcert, evolution: 2, secret: secret() });
    const sent = conns.map((c) => c.agent.sendEncoded(frame));
    secretMemory.releaseSecret(frame);
    expect(frame.every((b) => b === 0)).toBe(true);
    await Promise.all(sent);
    for (const c of conns) {
      const m = (await c.peer.receive(5_000)) as KeyMessage;
      expect(m.type).toBe('key');
      expect({ seq: m.seq, evolution: m.evolution, opcert: m.opcert }).toEqual({ seq: 9, evolution: 2, opcert });
      expect(Buffer.from(m.secret).equals(Buffer.from(secret()))).toBe(true);
      c.agent.destroy();
      c.peer.destroy();
    }
  });

  test('each socket writes its own secret-memory copy of a KEY frame, wiped once written', async () => {
    const conns = await pairs(2);
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    const frame = encodeMessage({ type: 'key', seq: 1, opcert, evolution: 0, secret: secret() });
    alloc.mockClear();
    await Promise.all(conns.map((c) => c.agent.sendEncoded(frame)));
    const copies = alloc.mock.results.map((r) => r.value as Uint8Array);
    expect(copies).toHaveLength(2);
    expect(copies[0]).not.toBe(copies[1]);
    for (const copy of copies) {
      expect(copy).toHaveLength(frame.length);
      expect(copy.every((b) => b === 0)).toBe(true);
    }
    expect(frame.some((b) => b !== 0)).toBe(true); // the caller's frame is the caller's to wipe
    secretMemory.releaseSecret(frame);
    for (const c of conns) {
      expect((await c.peer.receive(5_000)).type).toBe('key');
      c.agent.destroy();
      c.peer.destroy();
    }
  });

  test('a frame without a key is written as it is, to every socket', async () => {
    const conns = await pairs(2);
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    const frame = encodeMessage({ type: 'key_dropped', seq: 5 });
    await Promise.all(conns.map((c) => c.agent.sendEncoded(frame)));
    expect(alloc).not.toHaveBeenCalled();
    for (const c of conns) {
      expect(await c.peer.receive(5_000)).toEqual({ type: 'key_dropped', seq: 5 });
      c.agent.destroy();
      c.peer.destroy();
    }
  });

  test('a closed socket rejects with ConnectionClosedError and its KEY copy is wiped', async () => {
    const [c] = await pairs(1);
    c!.agent.destroy();
    c!.peer.destroy();
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    const frame = encodeMessage({ type: 'key', seq: 2, opcert, evolution: 0, secret: secret() });
    alloc.mockClear();
    await expect(c!.agent.sendEncoded(frame)).rejects.toBeInstanceOf(ConnectionClosedError);
    expect((alloc.mock.results[0]!.value as Uint8Array).every((b) => b === 0)).toBe(true);
    secretMemory.releaseSecret(frame);
  });

  test('when no secret memory is left for the copy, that write rejects (it does not throw into the caller\'s loop)', async () => {
    const [a, b] = await pairs(2);
    const frame = encodeMessage({ type: 'key', seq: 1, opcert, evolution: 0, secret: secret() } satisfies KeyMessage);
    jest.spyOn(secretMemory, 'allocSecret').mockImplementationOnce(() => {
      throw Object.assign(new Error('mlock failed'), { code: 'ENOMEM' });
    });
    const results = await Promise.allSettled([a!.agent.sendEncoded(frame), b!.agent.sendEncoded(frame)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    for (const p of [a!, b!]) {
      p.agent.destroy();
      p.peer.destroy();
    }
  });

  test('carriesSecret: true for KEY frames only', () => {
    const key = encodeMessage({ type: 'key', seq: 1, opcert, evolution: 0, secret: secret() });
    expect(carriesSecret(key)).toBe(true);
    secretMemory.releaseSecret(key);
    for (const m of [
      { type: 'no_key', seq: 1 },
      { type: 'key_dropped', seq: 1 },
      { type: 'confirm', seq: 1, result: 0 },
      { type: 'status' },
    ] as const) {
      expect(carriesSecret(encodeMessage(m))).toBe(false);
    }
  });
});
