/**
 * FramedSocket.sendEncoded: one encoded frame written to many sockets (the service hub's pushes).
 * Real Unix sockets in a temp dir.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as secretMemory from '../../src/crypto/secret-memory';
import { KES_SECRET_BYTES, encodeMessage, type KeyMessage, type Message, type Opcert } from '../../src/protocol';
import { ProtocolError } from '../../src/protocol/errors';
import { ConnectionClosedError, FramedSocket, KeyCopyQuotaError, MESSAGES_PER_TURN, carriesSecret } from '../../src/protocol/framed-socket';

const opcert: Opcert = {
  hotVk: new Uint8Array(32).fill(1),
  counter: 4,
  kesPeriod: 1500,
  sigma: new Uint8Array(64).fill(2),
  coldVk: new Uint8Array(32).fill(3),
};
const secret = (): Uint8Array => Uint8Array.from({ length: KES_SECRET_BYTES }, (_, i) => (i * 7 + 1) & 0xff);

/** `n` connected raw socket pairs: [agent side, peer side]. */
async function rawPairs(n: number): Promise<{ agent: net.Socket; peer: net.Socket }[]> {
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
  return accepted.map((s, i) => ({ agent: s, peer: peers[i]! }));
}

/** `n` connected pairs: [agent side, peer side]. */
async function pairs(n: number): Promise<{ agent: FramedSocket; peer: FramedSocket }[]> {
  return (await rawPairs(n)).map(({ agent, peer }) => ({ agent: new FramedSocket(agent, { receivesSecrets: false }), peer: new FramedSocket(peer, { receivesSecrets: true }) }));
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

  test('a peer that stops reading holds at most its quota of locked KEY copies; the next one is refused, and reading again drains them', async () => {
    const [raw] = await rawPairs(1);
    raw!.peer.pause(); // a node that has stopped reading
    const agent = new FramedSocket(raw!.agent, { receivesSecrets: false, keyCopyQuota: 2 });
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    const frame = encodeMessage({ type: 'key', seq: 1, opcert, evolution: 0, secret: secret() } satisfies KeyMessage);
    alloc.mockClear();
    const writes: Promise<void>[] = [];
    let refused: unknown;
    // Each push waits a turn of the event loop, as pushes from separate uploads do: while the
    // kernel takes the frames, each copy is written and wiped before the next. Once the peer's
    // socket buffer is full, copies stay queued, and the third is refused.
    for (let i = 0; i < 100_000 && refused === undefined; i++) {
      const w = agent.sendEncoded(frame);
      w.catch((e: unknown) => { refused = e; });
      writes.push(w);
      await new Promise((r) => setImmediate(r));
    }
    expect(refused).toBeInstanceOf(KeyCopyQuotaError);
    const copies = alloc.mock.results.map((r) => r.value as Uint8Array);
    expect(copies.length).toBeGreaterThan(2); // the kernel took some before it was full
    expect(alloc.mock.calls.every((c) => c[1] === 'wire')).toBe(true);
    expect(copies.filter((c) => c.some((b) => b !== 0))).toHaveLength(2); // held, not yet written
    secretMemory.releaseSecret(frame);
    // The peer reads again: the queued copies are written and wiped.
    let read = 0;
    raw!.peer.on('data', (chunk: Buffer) => { read += chunk.length; chunk.fill(0); });
    raw!.peer.resume();
    await Promise.allSettled(writes);
    expect(copies.every((c) => c.every((b) => b === 0))).toBe(true);
    expect(read).toBeGreaterThan(0);
    agent.destroy();
    raw!.peer.destroy();
  });

  test(`reads are fair: a connection with many frames buffered gives way after ${MESSAGES_PER_TURN}, so another connection's frame is handled before them`, async () => {
    const [a, b] = await rawPairs(2);
    const flood = 2_000;
    const confirm = encodeMessage({ type: 'confirm', seq: 7, result: 0 });
    const burst = new Uint8Array(confirm.length * flood);
    for (let i = 0; i < flood; i++) burst.set(confirm, i * confirm.length);
    await new Promise<void>((r) => a!.peer.write(burst, () => r()));
    await new Promise<void>((r) => b!.peer.write(confirm, () => r()));
    const order: string[] = [];
    const fa = new FramedSocket(a!.agent, { receivesSecrets: false });
    const loopB = async (): Promise<void> => {
      const fb = new FramedSocket(b!.agent, { receivesSecrets: false });
      await fb.receive(5_000);
      order.push('B');
      fb.destroy();
    };
    try {
      let doneB: Promise<void> | undefined;
      for (let i = 0; i < flood; i++) {
        await fa.receive(5_000);
        order.push('A');
        // B starts reading only once A's frames are in A's inbox: without fairness, all of them
        // would be handed out before B's socket is even read.
        if (i === 0) doneB = loopB();
      }
      await doneB;
      const bAt = order.indexOf('B');
      expect(bAt).toBeGreaterThan(0);
      expect(bAt).toBeLessThan(flood);
    } finally {
      fa.destroy();
      b!.agent.destroy();
      a!.peer.destroy();
      b!.peer.destroy();
    }
  });
});

describe('FramedSocket.deliver (callback mode, the service socket) and postEncoded', () => {
  /** Collects what a connection in deliver() mode hands out. */
  function collect(conn: FramedSocket, onMessage: (m: Message) => void = () => undefined): { got: Message[]; end: Promise<Error> } {
    const got: Message[] = [];
    const end = new Promise<Error>((resolve) =>
      conn.deliver((m) => {
        got.push(m);
        onMessage(m);
      }, resolve),
    );
    return { got, end };
  }

  test('every message is handed out in order; frames read before the peer closed still come before the end', async () => {
    const [c] = await pairs(1);
    const { got, end } = collect(c!.agent);
    const burst = Array.from({ length: 3 * MESSAGES_PER_TURN }, (_, i) => encodeMessage({ type: 'confirm', seq: i + 1, result: 0 }));
    c!.peer.socket.end(Buffer.concat(burst));
    const e = await end;
    expect(e).toBeInstanceOf(ConnectionClosedError);
    expect((e as ConnectionClosedError).clean).toBe(true);
    expect(got.map((m) => (m.type === 'confirm' ? m.seq : -1))).toEqual(burst.map((_, i) => i + 1));
    await expect(c!.agent.receive()).rejects.toThrow(/deliver\(\) mode/);
    c!.agent.destroy();
  });

  test('what the callback throws ends the connection with that error, and nothing after it is handed out', async () => {
    const [c] = await pairs(1);
    const refused = new Error('second CONFIRM refused');
    const { got, end } = collect(c!.agent, (m) => {
      if (m.type === 'confirm' && m.seq === 2) throw refused;
    });
    c!.peer.socket.write(Buffer.concat([1, 2, 3].map((seq) => encodeMessage({ type: 'confirm', seq, result: 0 }))));
    expect(await end).toBe(refused);
    expect(got.map((m) => (m.type === 'confirm' ? m.seq : -1))).toEqual([1, 2]);
    c!.agent.destroy();
    c!.peer.destroy();
  });

  test('a bad frame ends the connection with its ProtocolError after the good frames before it', async () => {
    const [c] = await pairs(1);
    const { got, end } = collect(c!.agent);
    const good = encodeMessage({ type: 'confirm', seq: 5, result: 0 });
    const bool2 = encodeMessage({ type: 'keygen', force: true });
    bool2[bool2.length - 1] = 2; // a bool byte other than 0/1
    c!.peer.socket.write(Buffer.concat([good, bool2, good]));
    const e = await end;
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe('MALFORMED_FRAME');
    expect(got).toEqual([{ type: 'confirm', seq: 5, result: 0 }]);
    c!.agent.destroy();
    c!.peer.destroy();
  });

  test('postEncoded calls back once: with nothing when written, with ConnectionClosedError on a closed socket (its KEY copy wiped)', async () => {
    const [c] = await pairs(1);
    const frame = encodeMessage({ type: 'key', seq: 3, opcert, evolution: 0, secret: secret() });
    const written = await new Promise<Error | undefined>((resolve) => c!.agent.postEncoded(frame, resolve));
    expect(written).toBeUndefined();
    expect(((await c!.peer.receive(5_000)) as KeyMessage).seq).toBe(3);
    c!.agent.destroy();
    const released = jest.spyOn(secretMemory, 'releaseSecret');
    const calls: (Error | undefined)[] = [];
    await new Promise<void>((resolve) => c!.agent.postEncoded(frame, (e) => { calls.push(e); resolve(); }));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeInstanceOf(ConnectionClosedError);
    expect(released).toHaveBeenCalledTimes(1); // the connection's own copy
    secretMemory.releaseSecret(frame);
    c!.peer.destroy();
  });
});
