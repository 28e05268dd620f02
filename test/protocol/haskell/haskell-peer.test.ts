/**
 * The independent Haskell-protocol test peers (test/helpers/haskell-peer.ts), first against tiny
 * hand-scripted servers that write golden bytes (checks the peers' parsing of reference bytes),
 * then against an agent side built from our codec (checks our codec against the independent
 * peer, as the lead's end-to-end tests will do with the real agent).
 */
import * as net from 'node:net';
import * as secretMemory from '../../../src/crypto/secret-memory';
import {
  ByteReader,
  SERVICE_OFFER,
  encodeServiceDropMessage,
  encodeServiceKeyMessage,
  encodeServiceOffer,
  encodeServiceVersionMessage,
  readAnswer,
  readServiceRecvResult,
  serviceVersionOf,
  writeBytes,
  writeSecret,
} from '../../../src/protocol/haskell';
import { HS_SERVICE_V0, HS_SERVICE_V1, HS_SERVICE_V2, HaskellControlClient, HaskellServiceClient } from '../../helpers/haskell-peer';
import { CV0, CV1, CV2, CV3, OCERT_HEX, SIGMA, SV0, SV1, SV2, VK } from './golden-hex';
import { h, hexOf, listen, type Listener } from './pair';

const SK_HEX = '5a'.repeat(608);
const BUNDLE_HEX = SK_HEX + '00000005' + OCERT_HEX;
const T1 = '00060a2418202240';
const T2 = '00060a24182d8240';

/** A scripted server: each accepted connection runs `script` with exact-read helpers. */
interface Script {
  read(n: number): Promise<Buffer>;
  write(hex: string): Promise<void>;
  socket: net.Socket;
}

function scriptedServer(l: Listener): { run(script: (s: Script) => Promise<void>): Promise<void> } {
  return {
    async run(script) {
      const accepted = await new Promise<net.Socket>((resolve) => l.server.once('connection', resolve));
      let buf = Buffer.alloc(0);
      let ended = false;
      let wake: (() => void) | undefined;
      accepted.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        wake?.();
      });
      accepted.on('end', () => {
        ended = true;
        wake?.();
      });
      const s: Script = {
        socket: accepted,
        async read(n) {
          while (buf.length < n) {
            if (ended) throw new Error('scripted server: EOF');
            await new Promise<void>((r) => (wake = r));
          }
          const out = buf.subarray(0, n);
          buf = buf.subarray(n);
          return out;
        },
        write: (hex) => new Promise((r) => accepted.write(h(hex), () => r())),
      };
      await script(s);
    },
  };
}

let l: Listener;
beforeEach(async () => {
  l = await listen('kes-hs-peer-');
});
afterEach(() => l.close());

describe('HaskellServiceClient against golden bytes', () => {
  test('V2: picks Service:2.0, answers OK, then KeyOutdated for an equal timestamp (keys and drops), OK for a newer drop', async () => {
    const server = scriptedServer(l);
    const answers: string[] = [];
    const done = server.run(async (s) => {
      await s.write('00000003' + SV2 + SV1 + SV0);
      expect(hexOf(await s.read(33))).toBe('01' + SV2);
      await s.write(SV2);
      for (const msg of ['00' + T1 + BUNDLE_HEX, '00' + T1 + BUNDLE_HEX, '01' + T1, '01' + T2]) {
        await s.write(msg);
        answers.push(hexOf(await s.read(4)));
      }
      s.socket.end();
    });
    const c = await HaskellServiceClient.connect({ socketPath: l.path });
    await done;
    await c.waitFor('closed');
    expect(answers).toEqual(['00000000', '00000001', '00000001', '00000000']);
    const kinds = c.events.map((e) => e.kind);
    expect(kinds).toEqual(['offer', 'accepted', 'version', 'key', 'answer', 'key', 'answer', 'drop', 'answer', 'drop', 'answer', 'closed']);
    expect(c.events.map((e) => e.seq)).toEqual(kinds.map((_, i) => i + 1));
    const key = c.keys()[0]!;
    expect(hexOf(key.signKey)).toBe(SK_HEX);
    expect(key.evolution).toBe(5);
    expect(key.ocert).toEqual({ hotVk: h(VK), counter: 7n, kesPeriod: 1430n, sigma: h(SIGMA) });
    expect(key.timestampUs).toBe(1_700_000_000_123_456n);
    expect(c.events.at(-1)).toMatchObject({ kind: 'closed', clean: true });
  });

  test('V1 by preference: only the first key of a session is taken (timestamps are 0)', async () => {
    const server = scriptedServer(l);
    const answers: string[] = [];
    const done = server.run(async (s) => {
      await s.write('00000003' + SV2 + SV1 + SV0);
      expect(hexOf(await s.read(33))).toBe('01' + SV1);
      await s.write(SV1);
      for (let i = 0; i < 2; i++) {
        await s.write(BUNDLE_HEX);
        answers.push(hexOf(await s.read(4)));
      }
      s.socket.end();
    });
    const c = await HaskellServiceClient.connect({ socketPath: l.path, preferences: [HS_SERVICE_V1, HS_SERVICE_V0] });
    const m = c.mark();
    await done;
    await c.waitFor('closed', { after: m });
    expect(answers).toEqual(['00000000', '00000001']);
    expect(c.keys().map((k) => k.timestampUs)).toEqual([0n, 0n]);
  });

  test('an old agent offering V1 and V0 gets V1 from the node preferences; no common version gets 00', async () => {
    {
      const server = scriptedServer(l);
      const done = server.run(async (s) => {
        await s.write('00000002' + SV1 + SV0);
        expect(hexOf(await s.read(33))).toBe('01' + SV1);
        s.socket.end();
      });
      const c = await HaskellServiceClient.connect({ socketPath: l.path });
      await done;
      await c.waitFor('closed');
      expect(c.version).toBe(HS_SERVICE_V1);
    }
    {
      const server = scriptedServer(l);
      const done = server.run(async (s) => {
        await s.write('00000001' + SV0);
        expect(hexOf(await s.read(1))).toBe('00');
        s.socket.end();
      });
      const c = await HaskellServiceClient.connect({ socketPath: l.path, preferences: [HS_SERVICE_V2] });
      await done;
      await c.waitFor('rejected');
      await c.waitFor('closed');
    }
  });

  test('a bad KeyMessageTypeID is an error event; a VersionMessage mismatch too', async () => {
    const server = scriptedServer(l);
    const done = server.run(async (s) => {
      await s.write('00000001' + SV2);
      await s.read(33);
      await s.write(SV2 + '02');
    });
    const c = await HaskellServiceClient.connect({ socketPath: l.path });
    await done;
    expect((await c.waitFor('error')).message).toMatch(/KeyMessageTypeID 2/);

    const server2 = scriptedServer(l);
    const done2 = server2.run(async (s) => {
      await s.write('00000001' + SV2);
      await s.read(33);
      await s.write(SV1);
    });
    const c2 = await HaskellServiceClient.connect({ socketPath: l.path });
    await done2;
    expect((await c2.waitFor('error')).message).toMatch(/VersionMessage/);
  });
});

describe('HaskellControlClient against golden bytes', () => {
  test('V3: handshake, VersionMessage, every command with its exact bytes', async () => {
    const server = scriptedServer(l);
    const INFO_V3 =
      '00000007' + '312e332e302e30' + '01' + '01' + '00000003' + '0000000000000596' + '0000000000000007' + VK + SIGMA + '01' + '000000006553f100' +
      '00' + '000000006553f164' + '0000000000000597' + '000000006553ede0' + '000000006555e820' + '00000001' + '00000004' + '70656572' + '01';
    const done = server.run(async (s) => {
      await s.write('00000004' + CV3 + CV2 + CV1 + CV0);
      expect(hexOf(await s.read(33))).toBe('01' + CV3);
      expect(hexOf(await s.read(32))).toBe(CV3);
      expect(hexOf(await s.read(2))).toBe('0000');
      await s.write('01' + VK);
      expect(hexOf(await s.read(2))).toBe('0001');
      await s.write('00');
      expect(hexOf(await s.read(2))).toBe('0002');
      await s.write('00');
      expect(hexOf(await s.read(114))).toBe('0003' + OCERT_HEX);
      await s.write('0002');
      expect(hexOf(await s.read(2))).toBe('0004');
      await s.write(INFO_V3);
      expect(hexOf(await s.read(2))).toBe('0005');
      await s.write('0000');
    });
    const c = await HaskellControlClient.connect(l.path, 3);
    expect(hexOf((await c.genStagedKey())!)).toBe(VK);
    expect(await c.queryStagedKey()).toBeUndefined();
    expect(await c.dropStagedKey()).toBeUndefined();
    expect(await c.installKey(h(OCERT_HEX))).toBe(2);
    expect(await c.requestInfo()).toEqual({
      programVersion: '1.3.0.0',
      installed: { bundle: { evolution: 3, startKesPeriod: 1430n, ocertCounter: 7n, vk: h(VK), sigma: h(SIGMA) }, timestampS: 1_700_000_000n },
      stagedVk: undefined,
      currentTimeS: 1_700_000_100n,
      currentKesPeriod: 1431n,
      periodStartS: 1_699_999_200n,
      periodEndS: 1_700_128_800n,
      bootstrap: [{ address: 'peer', status: 1 }],
    });
    expect(await c.dropKey()).toBe(0);
    await done;
    c.close();
  });

  test('V0 AgentInfo layout; a V0/V1 drop-key sends the accept and closes', async () => {
    const server = scriptedServer(l);
    const done = server.run(async (s) => {
      await s.write('00000004' + CV3 + CV2 + CV1 + CV0);
      expect(hexOf(await s.read(33))).toBe('01' + CV0);
      expect(hexOf(await s.read(32))).toBe(CV0);
      expect(hexOf(await s.read(2))).toBe('0004');
      await s.write('00' + '01' + 'aa'.repeat(32) + '000000006553f164' + '0000000000000597' + '00000000');
    });
    const c = await HaskellControlClient.connect(l.path, 0);
    expect(await c.requestInfo()).toEqual({
      installed: undefined, stagedVk: h('aa'.repeat(32)), currentTimeS: 1_700_000_100n, currentKesPeriod: 1431n, bootstrap: [],
    });
    await done;
    c.close();

    const server2 = scriptedServer(l);
    const done2 = server2.run(async (s) => {
      await s.write('00000004' + CV3 + CV2 + CV1 + CV0);
      expect(hexOf(await s.read(33))).toBe('01' + CV1);
      await expect(s.read(1)).rejects.toThrow(/EOF/);
    });
    const c2 = await HaskellControlClient.connect(l.path, 1, { sendVersionMessage: false });
    c2.close();
    await done2;
  });
});

describe('our codec (agent side) against the independent peer', () => {
  /** A one-connection agent built from the codec: offer, answer, VersionMessage, then `push`. */
  async function agent(push: (s: net.Socket, r: ByteReader, v: 0 | 1 | 2) => Promise<void>): Promise<void> {
    const s = await new Promise<net.Socket>((resolve) => l.server.once('connection', resolve));
    const r = new ByteReader(s);
    await writeBytes(s, encodeServiceOffer(SERVICE_OFFER));
    const a = await readAnswer(r);
    if (!a.accepted) throw new Error('rejected');
    const v = serviceVersionOf(a.id);
    if (v === undefined) throw new Error('unknown version');
    await writeBytes(s, encodeServiceVersionMessage(v));
    await push(s, r, v);
    r.destroy();
    s.end();
  }

  const ocert = { hotVk: h(VK), counter: 7n, kesPeriod: 1430n, sigma: h(SIGMA) };
  const signKey = new Uint8Array(608).fill(0x33);

  test.each([
    [[HS_SERVICE_V2, HS_SERVICE_V1, HS_SERVICE_V0], 2],
    [[HS_SERVICE_V1], 1],
    [[HS_SERVICE_V0], 0],
  ] as const)('preferences %j → V%s: keys (and V2 drops) arrive, answers are read back', async (prefs, expected) => {
    const results: string[] = [];
    const served = agent(async (s, r, v) => {
      expect(v).toBe(expected);
      const pushes = v === 2 ? [10n, 10n, 11n] : [undefined, undefined];
      for (const ts of pushes) {
        await writeSecret(s, encodeServiceKeyMessage(v, { signKey, evolution: 2, ocert, timestampUs: ts }));
        results.push((await readServiceRecvResult(r)).result);
      }
      if (v === 2) {
        await writeBytes(s, encodeServiceDropMessage(12n));
        results.push((await readServiceRecvResult(r)).result);
      }
    });
    const c = await HaskellServiceClient.connect({ socketPath: l.path, preferences: prefs });
    await served;
    await c.waitFor('closed');
    if (expected === 2) expect(results).toEqual(['RecvOK', 'RecvErrorKeyOutdated', 'RecvOK', 'RecvOK']);
    else expect(results).toEqual(['RecvOK', 'RecvErrorKeyOutdated']);
    for (const k of c.keys()) {
      expect(k.signKey).toEqual(signKey);
      expect(k.evolution).toBe(2);
      expect(k.ocert).toEqual(ocert);
    }
  });

  test('a garbage answer from the peer is read as Unknown with its raw value', async () => {
    let got: unknown;
    const served = agent(async (s, r, v) => {
      await writeSecret(s, encodeServiceKeyMessage(v, { signKey, evolution: 0, ocert, timestampUs: 1n }));
      got = await readServiceRecvResult(r);
    });
    const c = await HaskellServiceClient.connect({ socketPath: l.path, answer: () => h('deadbeef') });
    await served;
    await c.waitFor('closed');
    expect(got).toEqual({ result: 'RecvErrorUnknown', raw: 0xdeadbeef });
  });

  test('writeSecret releases the message buffer after the write', async () => {
    const release = jest.spyOn(secretMemory, 'releaseSecret');
    try {
      const served = agent(async (s, r, v) => {
        const msg = encodeServiceKeyMessage(v, { signKey, evolution: 0, ocert, timestampUs: 1n });
        await writeSecret(s, msg);
        expect(release).toHaveBeenCalledWith(msg);
        await readServiceRecvResult(r);
      });
      const c = await HaskellServiceClient.connect({ socketPath: l.path });
      await served;
      await c.waitFor('closed');
    } finally {
      release.mockRestore();
    }
  });
});
