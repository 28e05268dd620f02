/**
 * FramedSocket on the agent's side of the service socket: one encoded frame written to many
 * sockets without a copy each (postShared, the service hub's pushes), and reading many
 * connections fairly (deliver). Real Unix sockets in a temp dir.
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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-framed-push-'));
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

describe('FramedSocket: which frames carry a key, and fair reads', () => {
  afterEach(() => jest.restoreAllMocks());

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

describe('FramedSocket.deliver (callback mode, the service socket)', () => {
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

});

describe('FramedSocket.postShared', () => {
  afterEach(() => jest.restoreAllMocks());

  /** postShared as a promise that also counts how often `done` came. */
  function postShared(agent: FramedSocket, frame: Uint8Array): { written: Promise<Error | undefined>; calls: () => number } {
    let calls = 0;
    const written = new Promise<Error | undefined>((resolve) => agent.postShared(frame, (err) => { calls++; resolve(err); }));
    return { written, calls: () => calls };
  }

  test('one KEY frame reaches every socket intact with no copy made; the caller wipes it once every write is done', async () => {
    const conns = await pairs(3);
    const frame = encodeMessage({ type: 'key', seq: 3, opcert, evolution: 1, secret: secret() });
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    const posts = conns.map((c) => postShared(c.agent, frame));
    expect(await Promise.all(posts.map((p) => p.written))).toEqual([undefined, undefined, undefined]);
    expect(alloc).not.toHaveBeenCalled();
    expect(posts.map((p) => p.calls())).toEqual([1, 1, 1]);
    secretMemory.releaseSecret(frame);
    for (const c of conns) {
      const m = (await c.peer.receive(5_000)) as KeyMessage;
      expect({ type: m.type, seq: m.seq, evolution: m.evolution }).toEqual({ type: 'key', seq: 3, evolution: 1 });
      expect(Buffer.from(m.secret).equals(Buffer.from(secret()))).toBe(true);
      c.agent.destroy();
      c.peer.destroy();
    }
  });

  test('a frame without a key is written as it is, to every socket, with no locked memory spent', async () => {
    const conns = await pairs(2);
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    const frame = encodeMessage({ type: 'key_dropped', seq: 5 });
    const posts = conns.map((c) => postShared(c.agent, frame));
    expect(await Promise.all(posts.map((p) => p.written))).toEqual([undefined, undefined]);
    expect(alloc).not.toHaveBeenCalled();
    for (const c of conns) {
      expect(await c.peer.receive(5_000)).toEqual({ type: 'key_dropped', seq: 5 });
      c.agent.destroy();
      c.peer.destroy();
    }
  });

  test('a closed socket calls done once, with ConnectionClosedError, and leaves the frame alone', async () => {
    const [c] = await pairs(1);
    const frame = encodeMessage({ type: 'key', seq: 4, opcert, evolution: 0, secret: secret() });
    c!.agent.destroy();
    const p = postShared(c!.agent, frame);
    expect(await p.written).toBeInstanceOf(ConnectionClosedError);
    expect(p.calls()).toBe(1);
    expect(frame.some((b) => b !== 0)).toBe(true); // still the caller's, to wipe when all writes are done
    secretMemory.releaseSecret(frame);
    c!.peer.destroy();
  });

  test('writes waiting for a peer that stopped reading count against its quota; reading again completes them', async () => {
    const [raw] = await rawPairs(1);
    raw!.peer.pause();
    const agent = new FramedSocket(raw!.agent, { receivesSecrets: false, keyCopyQuota: 2 });
    const frame = encodeMessage({ type: 'key', seq: 1, opcert, evolution: 0, secret: secret() } satisfies KeyMessage);
    const posts: { written: Promise<Error | undefined>; calls: () => number }[] = [];
    let refused: Error | undefined;
    // One write per turn of the event loop, as separate pushes come: once the peer's socket
    // buffer is full, writes wait, and the third waiting one is refused.
    for (let i = 0; i < 100_000 && refused === undefined; i++) {
      const p = postShared(agent, frame);
      posts.push(p);
      await new Promise((r) => setImmediate(r));
      if (p.calls() === 1) {
        const err = await p.written;
        if (err !== undefined) refused = err;
      }
    }
    expect(refused).toBeInstanceOf(KeyCopyQuotaError);
    const waiting = posts.filter((p) => p.calls() === 0);
    expect(waiting).toHaveLength(2);
    raw!.peer.on('data', (chunk: Buffer) => chunk.fill(0));
    raw!.peer.resume();
    expect(await Promise.all(waiting.map((p) => p.written))).toEqual([undefined, undefined]);
    expect(posts.every((p) => p.calls() === 1)).toBe(true);
    secretMemory.releaseSecret(frame);
    agent.destroy();
    raw!.peer.destroy();
  });
});
