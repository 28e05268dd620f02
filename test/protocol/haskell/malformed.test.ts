/**
 * Bad input from a Haskell-protocol peer, over real Unix sockets: bad Bools, out-of-range enums,
 * version mismatches, huge counts and lengths (refused before allocation, without waiting for
 * the bytes), and truncation at every byte of every message (a clean close at the boundary, a
 * short read anywhere else).
 */
import * as secretMemory from '../../../src/crypto/secret-memory';
import {
  ByteReader,
  HaskellProtocolError,
  PeerClosedError,
  ReadTimeoutError,
  encodeAgentInfo,
  encodeServiceKeyMessage,
  readAgentInfo,
  readAnswer,
  readControlRecvResult,
  readControlRequest,
  readControlVersionMessage,
  readOffer,
  readPublicKeyMessage,
  readServiceMessage,
  readServiceRecvResult,
  readServiceVersionMessage,
  encodeOffer,
  splitOffer,
  type AgentInfo,
  type HaskellWireErrorCode,
} from '../../../src/protocol/haskell';
import { CV1, SV1, SV2 } from './golden-hex';
import { decodeFrom, h, listen, z, type Listener } from './pair';

let l: Listener;
beforeAll(async () => {
  l = await listen();
});
afterAll(() => l.close());

async function expectCode(p: Promise<unknown>, code: HaskellWireErrorCode): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HaskellProtocolError);
  expect((e as HaskellProtocolError).code).toBe(code);
}

describe('bad Bool', () => {
  test.each(['02', 'ff'])('handshake answer %s', (b) => expectCode(decodeFrom(l, h(b), (r) => readAnswer(r)), 'MALFORMED'));
  test('PublicKeyMessage 02', () => expectCode(decodeFrom(l, h('02'), (r) => readPublicKeyMessage(r)), 'MALFORMED'));
  test('AgentInfo V2 installed flag 02', () => expectCode(decodeFrom(l, h('02'), (r) => readAgentInfo(r, 2)), 'MALFORMED'));
  test('AgentInfo V2 timestamp flag 05', () => expectCode(decodeFrom(l, h('01' + '00' + '05'), (r) => readAgentInfo(r, 2)), 'MALFORMED'));
  test('the message says Bool and no peer bytes', async () => {
    const e = await decodeFrom(l, h('7f'), (r) => readAnswer(r)).then(() => new Error('decoded'), (x: unknown) => x as Error);
    expect(e.message).toMatch(/Bool/);
    expect(e.message).not.toMatch(/7f|127/);
  });
});

describe('out-of-range enums are protocol errors', () => {
  test.each(['0006', '0100', 'ffff'])('Command %s', (hex) => expectCode(decodeFrom(l, h(hex), (r) => readControlRequest(r, 3)), 'ENUM_OUT_OF_RANGE'));
  test.each([0, 1] as const)('DropKeyCmd on control V%s is unsupported', (v) => expectCode(decodeFrom(l, h('0005'), (r) => readControlRequest(r, v)), 'UNSUPPORTED'));
  test.each(['0006', 'ffff'])('control RecvResult %s', (hex) => expectCode(decodeFrom(l, h(hex), (r) => readControlRecvResult(r)), 'ENUM_OUT_OF_RANGE'));
  test.each(['02', 'ff'])('service V2 KeyMessageTypeID %s', (hex) => expectCode(decodeFrom(l, h(hex + z(8)), (r) => readServiceMessage(r, 2)), 'ENUM_OUT_OF_RANGE'));
  test('ConnectionStatus 03', () =>
    expectCode(decodeFrom(l, h('00' + '00' + z(8) + z(8) + '00000001' + '00000001' + '61' + '03'), (r) => readAgentInfo(r, 1)), 'ENUM_OUT_OF_RANGE'));
});

describe('version mismatch', () => {
  test('service VersionMessage of another version', () => expectCode(decodeFrom(l, h(SV1), (r) => readServiceVersionMessage(r, 2)), 'VERSION_MISMATCH'));
  test('control VersionMessage of another version', () => expectCode(decodeFrom(l, h(CV1), (r) => readControlVersionMessage(r, 2)), 'VERSION_MISMATCH'));
  test('Haskell kes-agent-control V0/V1 drop-key: accept, then close without a VersionMessage, is a clean close', async () => {
    const e = await decodeFrom(l, h('01' + CV1), async (r) => {
      const a = await readAnswer(r);
      expect(a.accepted).toBe(true);
      return readControlVersionMessage(r, 1).then(() => undefined, (x: unknown) => x);
    });
    expect(e).toBeInstanceOf(PeerClosedError);
    expect((e as PeerClosedError).clean).toBe(true);
  });
});

describe('huge counts and lengths are refused before allocation, without waiting for the bytes', () => {
  // end: false: the peer keeps the connection open, so a decoder that tried to read the
  // announced bytes would hang; the cap must fire on the count alone.
  test('an offer of 2^32-1 entries', () => expectCode(decodeFrom(l, h('ffffffff'), (r) => readOffer(r), { end: false }), 'TOO_LARGE'));
  test('an offer of 17 entries (cap 16)', () => expectCode(decodeFrom(l, h('00000011'), (r) => readOffer(r), { end: false }), 'TOO_LARGE'));
  test('splitOffer (the blocking reader\'s offer) refuses the same counts at once, waits for a whole offer, and splits at its end', () => {
    for (const count of ['ffffffff', '00000011']) {
      expect(() => splitOffer(h(count))).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }) as unknown as Error);
    }
    const ids = [h('01'.repeat(32)), h('02'.repeat(32))];
    const offer = encodeOffer(ids);
    const withMore = h(Buffer.from(offer).toString('hex') + 'abcd');
    for (let n = 0; n < offer.length; n++) expect(splitOffer(withMore.subarray(0, n))).toBeUndefined();
    expect(splitOffer(withMore)).toEqual({ ids, end: offer.length });
  });
  test('a programVersion Text of 2^32-1 bytes', () => expectCode(decodeFrom(l, h('ffffffff'), (r) => readAgentInfo(r, 3), { end: false }), 'TOO_LARGE'));
  test('a bootstrap address of 4097 bytes', () =>
    expectCode(decodeFrom(l, h('00' + '00' + z(8) + z(8) + '00000001' + '00001001'), (r) => readAgentInfo(r, 0), { end: false }), 'TOO_LARGE'));
  test('a bootstrap list of 2^31 entries', () =>
    expectCode(decodeFrom(l, h('00' + '00' + z(8) + z(8) + '80000000'), (r) => readAgentInfo(r, 0), { end: false }), 'TOO_LARGE'));
  test('a read above the reader cap', async () => {
    const { local, remote } = await l.pair();
    const r = new ByteReader(local, { maxBufferedBytes: 1024 });
    await expectCode(r.readExact(1025), 'TOO_LARGE');
    r.destroy();
    remote.destroy();
  });
  test('invalid UTF-8 in a Text', () => expectCode(decodeFrom(l, h('00000002' + 'c328'), (r) => readAgentInfo(r, 3)), 'MALFORMED'));
  test('the encoder refuses what the decoder would refuse', () => {
    const info: AgentInfo = {
      programVersion: 'x'.repeat(4097), installed: undefined, stagedVk: undefined, currentTimeS: 0n, currentKesPeriod: 0n, periodStartS: 0n, periodEndS: 0n, bootstrap: [],
    };
    expect(() => encodeAgentInfo(3, info)).toThrow(RangeError);
    expect(() => encodeAgentInfo(0, { ...info, bootstrap: Array.from({ length: 65 }, () => ({ address: 'a', status: 'ConnectionUp' as const })) })).toThrow(RangeError);
    expect(() => encodeAgentInfo(0, { ...info, currentKesPeriod: -1n })).toThrow(RangeError);
  });
});

describe('truncation at every byte: a clean close only at the message boundary', () => {
  const SK = 'ab'.repeat(608);
  const OC = 'cd'.repeat(32) + z(7) + '07' + z(6) + '0596' + 'ef'.repeat(64);
  const agentInfoV3 = encodeAgentInfo(3, {
    programVersion: '1.3.0.0',
    installed: { bundle: { evolution: 3, startKesPeriod: 1430n, ocertCounter: 7n, vk: new Uint8Array(32).fill(1), sigma: new Uint8Array(64).fill(2) }, timestampS: 1n },
    stagedVk: new Uint8Array(32).fill(3),
    currentTimeS: 2n, currentKesPeriod: 3n, periodStartS: 4n, periodEndS: 5n,
    bootstrap: [{ address: 'peer', status: 'ConnectionUp' }],
  });
  const messages: [string, Uint8Array, (r: ByteReader) => Promise<unknown>][] = [
    ['service V2 KeyMessage (733)', h('00' + z(8) + SK + '00000001' + OC), (r) => readServiceMessage(r, 2)],
    ['service V1 KeyMessage (724)', h(SK + '00000001' + OC), (r) => readServiceMessage(r, 1)],
    ['service V2 DropKeyMessage (9)', h('01' + z(8)), (r) => readServiceMessage(r, 2)],
    ['service offer (100)', h('00000003' + SV2 + SV1 + SV2), (r) => readOffer(r)],
    ['handshake accept (33)', h('01' + SV2), (r) => readAnswer(r)],
    ['service VersionMessage (32)', h(SV2), (r) => readServiceVersionMessage(r, 2)],
    ['service RecvResult (4)', h('00000000'), (r) => readServiceRecvResult(r)],
    ['InstallKeyCmd (114)', h('0003' + OC), (r) => readControlRequest(r, 3)],
    ['PublicKeyMessage (33)', h('01' + 'aa'.repeat(32)), (r) => readPublicKeyMessage(r)],
    ['control RecvResult (2)', h('0000'), (r) => readControlRecvResult(r)],
    [`AgentInfo V3 (${agentInfoV3.length})`, agentInfoV3, (r) => readAgentInfo(r, 3)],
  ];

  test.each(messages)('%s', async (_name, bytes, decode) => {
    const release = jest.spyOn(secretMemory, 'releaseSecret');
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    try {
      for (let k = 0; k < bytes.length; k++) {
        const e = await decodeFrom(l, bytes.subarray(0, k), decode).then(
          () => new Error(`decoded from ${k} bytes`),
          (x: unknown) => x,
        );
        if (!(e instanceof PeerClosedError) || e.clean !== (k === 0) || e.reason !== 'eof') {
          throw new Error(`at ${k} of ${bytes.length} bytes: ${String(e)} clean=${(e as PeerClosedError).clean}`);
        }
      }
      // Every sign key read into secret memory before a short read was released again.
      const secrets = alloc.mock.results.map((x) => x.value as Uint8Array);
      for (const s of secrets) expect(release.mock.calls.some(([b]) => b === s)).toBe(true);
    } finally {
      release.mockRestore();
      alloc.mockRestore();
    }
    // And the whole message decodes.
    const ok = await decodeFrom(l, bytes, decode);
    if (typeof ok === 'object' && ok !== null && 'signKey' in ok) secretMemory.releaseSecret((ok as { signKey: Uint8Array }).signKey);
  }, 60_000);

  test('a timeout is not a close', async () => {
    const e = await decodeFrom(l, h('0000'), (r) => readServiceRecvResult(r, { timeoutMs: 50 }), { end: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReadTimeoutError);
  });
});

test('encodeServiceKeyMessage output is wiped by releaseSecret', () => {
  const b = encodeServiceKeyMessage(0, { signKey: new Uint8Array(608).fill(7), evolution: 0, ocert: { hotVk: new Uint8Array(32), counter: 0, kesPeriod: 0, sigma: new Uint8Array(64) } });
  const view = new Uint8Array(b.buffer, b.byteOffset, b.length);
  secretMemory.releaseSecret(b);
  expect(view.every((x) => x === 0)).toBe(true);
});
