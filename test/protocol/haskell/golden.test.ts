/**
 * Golden bytes for every message of every Haskell kes-agent protocol version, both ways: our
 * encoder must produce the hand-written hex, and our decoder (over a real Unix socket) must read
 * it back. The hex is written here from the protocol description (the Haskell drivers and the
 * worked examples: the 100-byte service offer, the V2 accept, the version id hex strings) and
 * the cardano-cli vectors; it is never produced by the code under test.
 */
import * as secretMemory from '../../../src/crypto/secret-memory';
import {
  CONTROL_OFFER,
  SERVICE_OFFER,
  chooseVersion,
  controlVersionId,
  controlVersionOf,
  encodeAccept,
  encodeAgentInfo,
  encodeControlOffer,
  encodeControlRecvResult,
  encodeControlRequest,
  encodeControlVersionMessage,
  encodeOCert,
  encodePublicKeyMessage,
  encodeReject,
  encodeServiceDropMessage,
  encodeServiceKeyMessage,
  encodeServiceOffer,
  encodeServiceRecvResult,
  encodeServiceVersionMessage,
  knownVersion,
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
  serviceVersionId,
  serviceVersionOf,
  timestampUsToSeconds,
  versionId,
  versionName,
  type AgentInfo,
  type ControlVersion,
  type RecvResult,
  type ServiceVersion,
} from '../../../src/protocol/haskell';
import { readVectorJson } from '../../helpers/vectors';
import { CV0, CV1, CV2, CV3, OCERT_HEX, SIGMA, SV0, SV1, SV2, VK } from './golden-hex';
import { decodeFrom, h, hexOf, listen, type Listener } from './pair';

const SERVICE_HEX: Record<ServiceVersion, string> = { 0: SV0, 1: SV1, 2: SV2 };
const CONTROL_HEX: Record<ControlVersion, string> = { 0: CV0, 1: CV1, 2: CV2, 3: CV3 };

// --- cardano-cli vectors: opcert.cert and kes.skey (608 raw) ----------------------------------
const OCERT = { hotVk: h(VK), counter: 7n, kesPeriod: 1430n, sigma: h(SIGMA) };
const skeyCbor = readVectorJson<{ cborHex: string }>('cardano-cli', 'kes.skey').cborHex;
const opcertCbor = readVectorJson<{ cborHex: string }>('cardano-cli', 'opcert.cert').cborHex;
/** CBOR bytes(608) = 59 0260 ‖ raw: the raw key is the wire SignKeyKES. */
const SK_HEX = skeyCbor.slice(6);
const TS_HEX = '00060a2418202240'; // 1_700_000_000_123_456 µs
const TS = 1_700_000_000_123_456n;

let l: Listener;
beforeAll(async () => {
  l = await listen();
});
afterAll(() => l.close());

test('the vectors are what the golden bytes assume', () => {
  expect(skeyCbor.slice(0, 6)).toBe('590260');
  expect(SK_HEX.length).toBe(608 * 2);
  // opcert.cert CBOR: [[bytes32 vk, 7, 1430, bytes64 sigma], coldVk]
  expect(opcertCbor.startsWith('82845820' + VK + '07' + '190596' + '5840' + SIGMA)).toBe(true);
});

describe('version identifiers', () => {
  test.each([
    ['Service:StandardCrypto:0.4', SV0],
    ['Service:1.0', SV1],
    ['Service:2.0', SV2],
    ['Control:StandardCrypto:0.5', CV0],
    ['Control:1.0', CV1],
    ['Control:2.0', CV2],
    ['Control:3.0', CV3],
  ])('%s', (name, hex) => {
    expect(hexOf(versionId(name))).toBe(hex);
    expect(versionName(h(hex))).toBe(name);
  });

  test('mkVersionIdentifier truncates to 32 bytes and refuses non-ASCII', () => {
    expect(hexOf(versionId('x'.repeat(40)))).toBe('78'.repeat(32));
    expect(() => versionId('Service:2.0\u00e9')).toThrow(RangeError);
  });

  test('known ids by version', () => {
    for (const v of [0, 1, 2] as ServiceVersion[]) {
      expect(hexOf(serviceVersionId(v))).toBe(SERVICE_HEX[v]);
      expect(serviceVersionOf(h(SERVICE_HEX[v]))).toBe(v);
      expect(controlVersionOf(h(SERVICE_HEX[v]))).toBeUndefined();
    }
    for (const v of [0, 1, 2, 3] as ControlVersion[]) {
      expect(hexOf(controlVersionId(v))).toBe(CONTROL_HEX[v]);
      expect(knownVersion(h(CONTROL_HEX[v]))).toEqual({ protocol: 'control', version: v });
    }
    expect(knownVersion(versionId('Service:3.0'))).toBeUndefined();
    expect(versionName(versionId('Service:MockCrypto:0.4'))).toBeUndefined();
  });
});

describe('version handshake', () => {
  const SERVICE_OFFER_HEX = '00000003' + SV2 + SV1 + SV0;
  const CONTROL_OFFER_HEX = '00000004' + CV3 + CV2 + CV1 + CV0;

  test('the service offer is the 100-byte example', async () => {
    const b = encodeServiceOffer(SERVICE_OFFER);
    expect(b.length).toBe(100);
    expect(hexOf(b)).toBe(SERVICE_OFFER_HEX);
    const ids = await decodeFrom(l, h(SERVICE_OFFER_HEX), (r) => readOffer(r));
    expect(ids.map(hexOf)).toEqual([SV2, SV1, SV0]);
  });

  test('the control offer', async () => {
    expect(hexOf(encodeControlOffer(CONTROL_OFFER))).toBe(CONTROL_OFFER_HEX);
    const ids = await decodeFrom(l, h(CONTROL_OFFER_HEX), (r) => readOffer(r));
    expect(ids.map(hexOf)).toEqual([CV3, CV2, CV1, CV0]);
  });

  test('accept V2 is the example; reject is 00', async () => {
    const ACCEPT = '01536572766963653a322e30000000000000000000000000000000000000000000';
    expect(hexOf(encodeAccept(serviceVersionId(2)))).toBe(ACCEPT);
    expect(hexOf(encodeReject())).toBe('00');
    const a = await decodeFrom(l, h(ACCEPT), (r) => readAnswer(r));
    expect(a.accepted && hexOf(a.id)).toBe(SV2);
    expect(await decodeFrom(l, h('00'), (r) => readAnswer(r))).toEqual({ accepted: false });
  });

  test('the client picks the first of its own preferences that is offered', () => {
    const offer = [h(SV2), h(SV1), h(SV0)];
    expect(hexOf(chooseVersion(offer, [h(SV1), h(SV2)])!)).toBe(SV1);
    expect(hexOf(chooseVersion([h(SV0), h(SV1)], [h(SV2), h(SV1), h(SV0)])!)).toBe(SV1);
    expect(chooseVersion(offer, [h(CV3)])).toBeUndefined();
  });
});

describe('service protocol', () => {
  const BUNDLE_HEX = SK_HEX + '00000005' + OCERT_HEX;

  test.each([0, 1, 2] as ServiceVersion[])('VersionMessage V%s both ways', async (v) => {
    expect(hexOf(encodeServiceVersionMessage(v))).toBe(SERVICE_HEX[v]);
    await decodeFrom(l, h(SERVICE_HEX[v]), (r) => readServiceVersionMessage(r, v));
  });

  test.each([0, 1] as ServiceVersion[])('KeyMessage V%s: the 724-byte Bundle', async (v) => {
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    try {
      const b = encodeServiceKeyMessage(v, { signKey: h(SK_HEX), evolution: 5, ocert: OCERT });
      expect(alloc).toHaveBeenCalledTimes(1);
      expect(alloc.mock.results[0]!.value).toBe(b); // the message is the one allocSecret buffer
      expect(b.length).toBe(724);
      expect(hexOf(b)).toBe(BUNDLE_HEX);
      secretMemory.releaseSecret(b);
      alloc.mockClear();
      const m = await decodeFrom(l, h(BUNDLE_HEX), (r) => readServiceMessage(r, v));
      if (m.type !== 'key') throw new Error('expected a key');
      expect(alloc).toHaveBeenCalledWith(608); // the sign key was read into secret memory
      expect(alloc.mock.results[0]!.value).toBe(m.signKey);
      expect(hexOf(m.signKey)).toBe(SK_HEX);
      expect(m.evolution).toBe(5);
      expect(m.ocert).toEqual(OCERT);
      expect(m.timestampUs).toBe(0n);
      secretMemory.releaseSecret(m.signKey);
    } finally {
      alloc.mockRestore();
    }
  });

  test('KeyMessage V2: 00 ‖ timestamp µs ‖ Bundle = 733 bytes', async () => {
    const hex = '00' + TS_HEX + BUNDLE_HEX;
    const b = encodeServiceKeyMessage(2, { signKey: h(SK_HEX), evolution: 5, ocert: OCERT, timestampUs: TS });
    expect(b.length).toBe(733);
    expect(hexOf(b)).toBe(hex);
    secretMemory.releaseSecret(b);
    const m = await decodeFrom(l, h(hex), (r) => readServiceMessage(r, 2));
    if (m.type !== 'key') throw new Error('expected a key');
    expect(m.timestampUs).toBe(TS);
    expect(m.evolution).toBe(5);
    expect(hexOf(m.signKey)).toBe(SK_HEX);
    secretMemory.releaseSecret(m.signKey);
  });

  test('a V2 KeyMessage without a timestamp, or a bad sign key length, is refused before any secret memory is taken', () => {
    const alloc = jest.spyOn(secretMemory, 'allocSecret');
    try {
      expect(() => encodeServiceKeyMessage(2, { signKey: h(SK_HEX), evolution: 0, ocert: OCERT })).toThrow(RangeError);
      expect(() => encodeServiceKeyMessage(1, { signKey: new Uint8Array(607), evolution: 0, ocert: OCERT })).toThrow(RangeError);
      expect(() => encodeServiceKeyMessage(1, { signKey: h(SK_HEX), evolution: 0, ocert: { ...OCERT, sigma: new Uint8Array(63) } })).toThrow(RangeError);
      expect(alloc).not.toHaveBeenCalled();
    } finally {
      alloc.mockRestore();
    }
  });

  test('DropKeyMessage V2: 01 ‖ timestamp', async () => {
    const hex = '01' + TS_HEX;
    expect(hexOf(encodeServiceDropMessage(TS))).toBe(hex);
    expect(await decodeFrom(l, h(hex), (r) => readServiceMessage(r, 2))).toEqual({ type: 'drop', timestampUs: TS });
  });

  const results: [RecvResult, string][] = [
    ['RecvOK', '00000000'],
    ['RecvErrorKeyOutdated', '00000001'],
    ['RecvErrorInvalidOpCert', '00000002'],
    ['RecvErrorNoKey', '00000003'],
    ['RecvErrorUnsupportedOperation', '00000004'],
    ['RecvErrorUnknown', '0000ffff'],
  ];
  test.each(results)('RecvResult %s is u32 %s', async (name, hex) => {
    expect(hexOf(encodeServiceRecvResult(name))).toBe(hex);
    expect(await decodeFrom(l, h(hex), (r) => readServiceRecvResult(r))).toEqual({ result: name, raw: parseInt(hex, 16) });
  });

  test.each(['00000005', '00000100', 'ffffffff', '0000fffe'])('an unknown RecvResult %s is Unknown with its raw value, not an error', async (hex) => {
    expect(await decodeFrom(l, h(hex), (r) => readServiceRecvResult(r))).toEqual({ result: 'RecvErrorUnknown', raw: parseInt(hex, 16) });
  });
});

describe('control protocol', () => {
  test.each([0, 1, 2, 3] as ControlVersion[])('VersionMessage V%s both ways', async (v) => {
    expect(hexOf(encodeControlVersionMessage(v))).toBe(CONTROL_HEX[v]);
    await decodeFrom(l, h(CONTROL_HEX[v]), (r) => readControlVersionMessage(r, v));
  });

  test.each([
    ['GenStagedKeyCmd', '0000'],
    ['QueryStagedKeyCmd', '0001'],
    ['DropStagedKeyCmd', '0002'],
    ['RequestInfoCmd', '0004'],
    ['DropKeyCmd', '0005'],
  ] as const)('%s is %s', async (cmd, hex) => {
    expect(hexOf(encodeControlRequest({ cmd }))).toBe(hex);
    expect(await decodeFrom(l, h(hex), (r) => readControlRequest(r, 3))).toEqual({ cmd });
  });

  test('InstallKeyCmd is 0003 ‖ OCert(112) with the cardano-cli opcert', async () => {
    const hex = '0003' + OCERT_HEX;
    expect(hexOf(encodeControlRequest({ cmd: 'InstallKeyCmd', ocert: OCERT }))).toBe(hex);
    expect(hexOf(encodeOCert({ ...OCERT, counter: 7, kesPeriod: 1430 }))).toBe(OCERT_HEX);
    expect(await decodeFrom(l, h(hex), (r) => readControlRequest(r, 0))).toEqual({ cmd: 'InstallKeyCmd', ocert: OCERT });
  });

  test('PublicKeyMessage: 00 or 01 ‖ vk', async () => {
    expect(hexOf(encodePublicKeyMessage(undefined))).toBe('00');
    expect(hexOf(encodePublicKeyMessage(h(VK)))).toBe('01' + VK);
    expect(await decodeFrom(l, h('00'), (r) => readPublicKeyMessage(r))).toBeUndefined();
    expect(hexOf((await decodeFrom(l, h('01' + VK), (r) => readPublicKeyMessage(r)))!)).toBe(VK);
  });

  test.each([
    ['RecvOK', '0000'],
    ['RecvErrorKeyOutdated', '0001'],
    ['RecvErrorInvalidOpCert', '0002'],
    ['RecvErrorNoKey', '0003'],
    ['RecvErrorUnsupportedOperation', '0004'],
    ['RecvErrorUnknown', '0005'],
  ] as [RecvResult, string][])('install/drop result %s is u16 %s', async (name, hex) => {
    expect(hexOf(encodeControlRecvResult(name))).toBe(hex);
    expect(await decodeFrom(l, h(hex), (r) => readControlRecvResult(r))).toBe(name);
  });
});

describe('AgentInfo', () => {
  const BUNDLE_INFO = '00000003' + '0000000000000596' + '0000000000000007' + VK + SIGMA;
  const STAGED = 'aa'.repeat(32);
  const BOOT = '00000002' + '0000000b' + '2f72756e2f612e736f636b' + '00' + '00000004' + '70656572' + '02';
  const NOW = '000000006553f164';
  const PERIOD = '0000000000000597';
  const base: AgentInfo = {
    programVersion: '1.3.0.0',
    installed: { bundle: { evolution: 3, startKesPeriod: 1430n, ocertCounter: 7n, vk: h(VK), sigma: h(SIGMA) }, timestampS: 1_700_000_000n },
    stagedVk: h(STAGED),
    currentTimeS: 1_700_000_100n,
    currentKesPeriod: 1431n,
    periodStartS: 1_699_999_200n,
    periodEndS: 1_700_128_800n,
    bootstrap: [
      { address: '/run/a.sock', status: 'ConnectionUp' },
      { address: 'peer', status: 'ConnectionDown' },
    ],
  };
  const dropped: AgentInfo = { ...base, installed: { bundle: undefined, timestampS: 1_700_000_000n }, stagedVk: undefined, bootstrap: [] };
  const empty: AgentInfo = { ...base, installed: undefined, stagedVk: undefined, bootstrap: [] };

  const cases: [string, ControlVersion, AgentInfo, string][] = [
    ['V0 key', 0, base, '01' + BUNDLE_INFO + '01' + STAGED + NOW + PERIOD + BOOT],
    ['V1 key', 1, base, '01' + BUNDLE_INFO + '01' + STAGED + NOW + PERIOD + BOOT],
    ['V2 key', 2, base, '01' + '01' + BUNDLE_INFO + '01' + '000000006553f100' + '01' + STAGED + NOW + PERIOD + BOOT],
    ['V3 key', 3, base, '00000007' + '312e332e302e30' + '01' + '01' + BUNDLE_INFO + '01' + '000000006553f100' + '01' + STAGED + NOW + PERIOD + '000000006553ede0' + '000000006555e820' + BOOT],
    ['V0 drop is Nothing', 0, dropped, '00' + '00' + NOW + PERIOD + '00000000'],
    ['V1 drop is Nothing', 1, dropped, '00' + '00' + NOW + PERIOD + '00000000'],
    ['V2 drop is Just {Nothing, Just ts}', 2, dropped, '01' + '00' + '01' + '000000006553f100' + '00' + NOW + PERIOD + '00000000'],
    ['V3 drop is Just {Nothing, Just ts}', 3, dropped, '00000007' + '312e332e302e30' + '01' + '00' + '01' + '000000006553f100' + '00' + NOW + PERIOD + '000000006553ede0' + '000000006555e820' + '00000000'],
    ['V2 nothing installed', 2, empty, '00' + '00' + NOW + PERIOD + '00000000'],
    ['V3 nothing installed', 3, empty, '00000007' + '312e332e302e30' + '00' + '00' + NOW + PERIOD + '000000006553ede0' + '000000006555e820' + '00000000'],
  ];

  test.each(cases)('%s', async (_name, v, info, hex) => {
    expect(hexOf(encodeAgentInfo(v, info))).toBe(hex);
    const d = await decodeFrom(l, h(hex), (r) => readAgentInfo(r, v));
    // What each version carries comes back; the rest is absent or zero.
    const inst = info.installed;
    const expectedInstalled =
      v <= 1 ? (inst?.bundle === undefined ? undefined : { bundle: inst.bundle, timestampS: undefined }) : inst;
    expect(d).toEqual({
      programVersion: v === 3 ? info.programVersion : '',
      installed: expectedInstalled,
      stagedVk: info.stagedVk,
      currentTimeS: info.currentTimeS,
      currentKesPeriod: info.currentKesPeriod,
      periodStartS: v === 3 ? info.periodStartS : 0n,
      periodEndS: v === 3 ? info.periodEndS : 0n,
      bootstrap: info.bootstrap,
    });
  });

  test('times before 1970 are negative Int64', async () => {
    const info: AgentInfo = { ...empty, currentTimeS: -5n };
    const hex = '00' + '00' + 'fffffffffffffffb' + PERIOD + '00000000';
    expect(hexOf(encodeAgentInfo(1, info))).toBe(hex);
    expect((await decodeFrom(l, h(hex), (r) => readAgentInfo(r, 1))).currentTimeS).toBe(-5n);
  });

  test('UTF-8 Text', async () => {
    const info: AgentInfo = { ...empty, programVersion: 'ü', bootstrap: [{ address: 'é', status: 'ConnectionConnecting' }] };
    const hex = '00000002c3bc' + '00' + '00' + NOW + PERIOD + '000000006553ede0' + '000000006555e820' + '00000001' + '00000002c3a9' + '01';
    expect(hexOf(encodeAgentInfo(3, info))).toBe(hex);
    const d = await decodeFrom(l, h(hex), (r) => readAgentInfo(r, 3));
    expect(d.programVersion).toBe('ü');
    expect(d.bootstrap).toEqual([{ address: 'é', status: 'ConnectionConnecting' }]);
  });
});

test('a bundle timestamp in µs shows in AgentInfo as floor seconds', () => {
  expect(timestampUsToSeconds(TS)).toBe(1_700_000_000n);
  expect(timestampUsToSeconds(1_999_999n)).toBe(1n);
  expect(timestampUsToSeconds(-1n)).toBe(-1n);
});
