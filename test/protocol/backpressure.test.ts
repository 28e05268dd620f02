/**
 * FramedSocket reads no faster than its messages are taken: a peer that floods KEY-kind frames
 * while nobody calls receive() (a handler waiting on node confirmations, an ERROR lingering)
 * fills its own socket buffer, not the agent's locked memory. Real Unix sockets.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as secretMemory from '../../src/crypto/secret-memory';
import { KES_SECRET_BYTES, WIRE_ERROR_CODES, encodeMessage, type Opcert } from '../../src/protocol';
import { FramedSocket } from '../../src/protocol/framed-socket';

const opcert: Opcert = { hotVk: new Uint8Array(32).fill(1), counter: 4, kesPeriod: 1500, sigma: new Uint8Array(64).fill(2), coldVk: new Uint8Array(32).fill(3) };
const keyFrame = (seq: number): Uint8Array => encodeMessage({ type: 'key', seq, opcert, evolution: 0, secret: new Uint8Array(KES_SECRET_BYTES).fill(9) });
/** Frames the peer tries to send: ~3.3 MB, far more than socket buffers hold. */
const FLOOD_FRAMES = 4_000;

/**
 * A connected pair: `agent` is the FramedSocket under test. `receivesSecrets: true` makes it
 * the end that KEY frames legitimately reach (a node's), the one that can spend locked memory.
 */
async function pair(receivesSecrets = true): Promise<{ agent: FramedSocket; peer: net.Socket; cleanup: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-backpressure-'));
  const sock = path.join(dir, 's.sock');
  let listening!: () => void;
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer((s) => {
      server.close();
      resolve(s);
    });
    server.listen(sock, () => listening());
  });
  await new Promise<void>((r) => (listening = r));
  const peer = await new Promise<net.Socket>((r) => { const c = net.connect(sock, () => r(c)); });
  peer.on('error', () => undefined);
  const agent = new FramedSocket(await accepted, { receivesSecrets });
  return { agent, peer, cleanup: () => { peer.destroy(); agent.socket.destroy(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

/** A KEY frame's payload (everything after the length field): what reading one assembles in locked memory. */
const KEY_PAYLOAD_BYTES = keyFrame(0).length - 4;

/** KEY frames read so far: each one's payload is assembled in locked memory. */
function keyFramesRead(alloc: jest.SpyInstance): number {
  return alloc.mock.calls.filter(([n]) => n === KEY_PAYLOAD_BYTES).length;
}

/** KEY frames decoded so far (messages made): each one copies its secret out into locked memory. */
function keyFramesDecoded(alloc: jest.SpyInstance): number {
  return alloc.mock.calls.filter(([n]) => n === KES_SECRET_BYTES).length;
}

/**
 * Queue the whole flood on the peer and wait until the agent side has read a first frame; then
 * give it a while longer, in which a reader that ignored backpressure would read far more.
 * (That while only lets a bug show: on a slower machine it reads less, and the test still holds.)
 */
async function flood(peer: net.Socket, alloc: jest.SpyInstance): Promise<void> {
  for (let n = 0; n < FLOOD_FRAMES; n++) peer.write(keyFrame(n));
  for (const until = Date.now() + 10_000; keyFramesRead(alloc) === 0; ) {
    if (Date.now() > until) throw new Error('the agent side read no frame in 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 200));
}

describe('FramedSocket backpressure', () => {
  afterEach(() => jest.restoreAllMocks());

  test('with nobody receiving, only what one read brings is held and nothing is decoded; reading resumes when messages are taken', async () => {
    const { agent, peer, cleanup } = await pair();
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    try {
      await flood(peer, alloc);
      const read = keyFramesRead(alloc);
      expect(read).toBeLessThan(200); // one 64 KiB read is ~80 frames; the flood is 4,000
      expect(keyFramesDecoded(alloc)).toBe(0); // decoded only when asked for
      expect(peer.writableLength).toBeGreaterThan(1_000_000); // the peer is left holding its flood
      // Taking messages decodes them one at a time and resumes reading: more frames get read.
      for (let i = 0; i < read + 5; i++) await agent.receive(2_000);
      expect(keyFramesDecoded(alloc)).toBe(read + 5);
      expect(keyFramesRead(alloc)).toBeGreaterThan(read);
    } finally {
      cleanup();
    }
  });

  test('after closeWithError nothing more is read or decoded, and the frames read are wiped', async () => {
    const { agent, peer, cleanup } = await pair();
    try {
      const alloc = jest.spyOn(secretMemory, 'allocSecret');
      await flood(peer, alloc);
      alloc.mockClear();
      const release = jest.spyOn(secretMemory, 'releaseSecret');
      await agent.closeWithError(WIRE_ERROR_CODES.UNEXPECTED_MESSAGE, 'test');
      expect(release).toHaveBeenCalled(); // the KEY frames read and not taken
      peer.write(keyFrame(99_999));
      await new Promise((r) => setTimeout(r, 100)); // room for a wrong read to show
      expect(keyFramesRead(alloc)).toBe(0);
      expect(keyFramesDecoded(alloc)).toBe(0);
      await expect(agent.receive(100)).rejects.toThrow();
    } finally {
      cleanup();
    }
  });

  test('on the agent\'s side a KEY-kind frame spends no locked memory: refused as UNEXPECTED_MESSAGE', async () => {
    const { agent, peer, cleanup } = await pair(false);
    try {
      for (let n = 0; n < FLOOD_FRAMES; n++) peer.write(keyFrame(n));
      // After encoding the flood (which uses secret memory on the sender's side): the agent reads it from here on.
      const alloc = jest.spyOn(secretMemory, 'allocSecret');
      await expect(agent.receive(10_000)).rejects.toMatchObject({ code: 'UNEXPECTED_MESSAGE', message: expect.stringMatching(/carries a key/) });
      expect(keyFramesDecoded(alloc)).toBe(0);
      expect(alloc).not.toHaveBeenCalled();
    } finally {
      cleanup();
    }
  });
});
