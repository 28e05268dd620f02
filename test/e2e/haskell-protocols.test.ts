/**
 * The Haskell kes-agent's protocols on our sockets (issue: a stock cardano-node,
 * kes-agent-control and cardano-testnet work with our agent unchanged). The agent is the built
 * binary; the Haskell-protocol peers are test/helpers/haskell-peer.ts, written from the protocol
 * description and never from our codec, so these tests check our encoding against an
 * independent reading. The Service V2 peer behaves like ouroboros-consensus's AgentClient,
 * timestamp guard included.
 *
 * "cardano-node would get a working key": each bundle a peer receives is loaded as a Sum6KES key
 * at the evolution it came with, signs a header body, and the signature verifies under the
 * opcert's hot vk at the ledger's current KES period minus the opcert's start.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { KesNodeClient } from '../../src/client';
import { readOpcertFile, writeKesVerificationKeyFile } from '../../src/cardano';
import { toHex } from '../../src/crypto/bytes';
import { KesSignKey, verifyKes } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { networkTiming } from '../../src/time';
import { nextEvent } from '../helpers/node-events';
import { HaskellControlClient, HaskellServiceClient, HS_SERVICE_V0, HS_SERVICE_V1, HS_SERVICE_V2, type ServicePeerEvent } from '../helpers/haskell-peer';
import { cold, ctlJson, currentPeriod, makeAgentEnv, startAgent, stopAgentEnv, type AgentEnv } from '../helpers/agent-env';
import { readColdVerificationKeyFile } from '../../src/cardano';

const HEADER = new TextEncoder().encode('a block header body');
const RECV_OK = 0;
const RECV_KEY_OUTDATED = 1;
const RECV_NO_KEY = 3;

type KeyEvent = Extract<ServicePeerEvent, { kind: 'key' }>;

/** The raw 112-byte OCert of an opcert file, spelt out here: vkHot ‖ n u64be ‖ c0 u64be ‖ sigma. */
function rawOcert(file: string): Uint8Array {
  const o = readOpcertFile(file);
  const out = Buffer.alloc(112);
  Buffer.from(o.hotVk).copy(out, 0);
  out.writeBigUInt64BE(BigInt(o.counter), 32);
  out.writeBigUInt64BE(BigInt(o.kesPeriod), 40);
  Buffer.from(o.sigma).copy(out, 48);
  return out;
}

/** The bundle signs at `period` the way a node would use it, and verifies under its opcert's hot vk. */
function signsAt(k: KeyEvent, period: number): boolean {
  const key = KesSignKey.fromBytes(k.signKey, k.evolution);
  try {
    const evolution = period - Number(k.ocert.kesPeriod);
    if (evolution !== k.evolution) return false;
    return verifyKes(k.ocert.hotVk, evolution, HEADER, key.sign(HEADER));
  } finally {
    key.destroy();
  }
}

describe('the Haskell protocols on our sockets (built agent, Haskell-protocol peers)', () => {
  let e: AgentEnv;
  const peers: { close(): Promise<void> }[] = [];
  const nodes: KesNodeClient[] = [];

  beforeAll(async () => {
    await loadSodium();
  });
  beforeEach(async () => {
    e = await makeAgentEnv();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.close().catch(() => undefined)));
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    await stopAgentEnv(e);
  });

  /** kes-agent-control's gen-staged-key + install-key, over Control `version`, with an opcert from kes-cold. */
  async function installViaHaskell(version: 0 | 1 | 2 | 3, name: string): Promise<{ kesVkey: string; result: number }> {
    const c = await HaskellControlClient.connect(e.controlSocket, version);
    try {
      const vk = await c.genStagedKey();
      if (vk === undefined) throw new Error('gen-staged-key answered Nothing');
      const vkey = path.join(e.dir, `${name}.vkey`);
      writeKesVerificationKeyFile(vkey, vk, { overwrite: false });
      const opcert = path.join(e.dir, `${name}.opcert`);
      const r = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${await currentPeriod(e)}`, '--out', opcert);
      if (r.code !== 0) throw new Error(`issue-opcert: ${r.stderr}`);
      const result = await c.installKey(rawOcert(opcert));
      return { kesVkey: toHex(vk), result };
    } finally {
      await c.close();
    }
  }

  test('Service V2, V1, V0 and kes-node on one service socket get the same key from a kes-agent-control install and again from a kes-ctl upload; V2 gets the drop; a restarted V2 client gets the current bundle', async () => {
    const agent = await startAgent(e, ['--log-level', 'debug']);
    const coldVk = readColdVerificationKeyFile(e.coldVkey);
    const [v2, v1, v0] = await Promise.all(
      [HS_SERVICE_V2, HS_SERVICE_V1, HS_SERVICE_V0].map((v) => HaskellServiceClient.connect({ socketPath: e.serviceSocket, preferences: [v] })),
    );
    peers.push(v2!, v1!, v0!);
    for (const [p, v] of [[v2!, HS_SERVICE_V2], [v1!, HS_SERVICE_V1], [v0!, HS_SERVICE_V0]] as const) {
      const offer = await p.waitFor('offer');
      expect(offer.offer.slice(0, 3)).toEqual([HS_SERVICE_V2, HS_SERVICE_V1, HS_SERVICE_V0]);
      expect(offer.offer).toContain('kes-agent/service:2');
      expect((await p.waitFor('version')).version).toBe(v);
    }
    const node = new KesNodeClient({ socketPath: e.serviceSocket, timing: networkTiming('mainnet'), coldVk, backoff: { initialMs: 50, maxMs: 500 } });
    nodes.push(node);
    const noKey = nextEvent(node, 'noKey');
    node.start();
    await noKey;
    // No key yet: the Haskell peers were sent nothing after the VersionMessage.
    for (const p of [v2!, v1!, v0!]) expect(p.keys()).toHaveLength(0);

    // 1. kes-agent-control (Control V3): gen-staged-key, install-key.
    let marks = [v2!, v1!, v0!].map((p) => p.mark());
    let nodeKey = nextEvent(node, 'key');
    const first = await installViaHaskell(3, 'kes1');
    expect(first.result).toBe(RECV_OK);
    const period = await currentPeriod(e);
    const got1 = await Promise.all([v2!, v1!, v0!].map((p, i) => p.waitFor('key', { after: marks[i] })));
    for (const k of got1) {
      expect(toHex(k.ocert.hotVk)).toBe(first.kesVkey);
      expect(signsAt(k, period)).toBe(true);
    }
    expect(got1[0]!.timestampUs).toBeGreaterThan(0n);
    expect(got1[1]!.timestampUs).toBe(0n); // V0/V1 carry none
    expect((await nodeKey).kesVk).toBe(first.kesVkey);
    // Every peer answered RecvOK to its session's first key.
    for (const [i, p] of [v2!, v1!, v0!].entries()) expect((await p.waitFor('answer', { after: marks[i] })).result).toBe(RECV_OK);

    // 2. kes-ctl keygen, kes-cold, kes-ctl import-opcert + upload.
    marks = [v2!, v1!, v0!].map((p) => p.mark());
    nodeKey = nextEvent(node, 'key');
    const vkey2 = path.join(e.dir, 'kes2.vkey');
    const k2 = await ctlJson<{ kesVkey: string }>(e, 'keygen', '--out', vkey2);
    const opcert2 = path.join(e.dir, 'kes2.opcert');
    expect((await cold(e, 'issue-opcert', '--kes-vkey', vkey2, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${period}`, '--out', opcert2)).code).toBe(0);
    await ctlJson(e, 'import-opcert', opcert2);
    const up = await ctlJson<{ nodesConnected: number; nodesConfirmed: number }>(e, 'upload');
    // V2 and kes-node take it; V0/V1 get it too, and answer KeyOutdated as the node's client
    // does for a second key in one session (both tagged 0).
    expect(up).toMatchObject({ nodesConnected: 4, nodesConfirmed: 2 });
    const got2 = await Promise.all([v2!, v1!, v0!].map((p, i) => p.waitFor('key', { after: marks[i] })));
    for (const k of got2) {
      expect(toHex(k.ocert.hotVk)).toBe(k2.kesVkey);
      expect(signsAt(k, period)).toBe(true);
    }
    expect(got2[0]!.timestampUs).toBeGreaterThan(got1[0]!.timestampUs);
    expect((await v2!.waitFor('answer', { after: marks[0] })).result).toBe(RECV_OK);
    expect((await v1!.waitFor('answer', { after: marks[1] })).result).toBe(RECV_KEY_OUTDATED);
    expect((await nodeKey).kesVk).toBe(k2.kesVkey);
    await agent.waitFor(/service: node refused the key node=\d+ seq=\d+ code=RecvErrorKeyOutdated raw=1\n/);

    // 3. kes-agent-control drop-key (Control V2): V2 and kes-node drop; V0/V1 are sent nothing.
    marks = [v2!, v1!, v0!].map((p) => p.mark());
    const dropped = nextEvent(node, 'dropped');
    const c = await HaskellControlClient.connect(e.controlSocket, 2);
    expect(await c.dropKey()).toBe(RECV_OK);
    expect(await c.dropKey()).toBe(RECV_NO_KEY);
    await c.close();
    const drop = await v2!.waitFor('drop', { after: marks[0] });
    expect(drop.timestampUs).toBeGreaterThan(got2[0]!.timestampUs);
    expect((await v2!.waitFor('answer', { after: marks[0] })).result).toBe(RECV_OK);
    await dropped;

    // 4. A new install; a V2 client that connects afterwards gets the current bundle at once.
    const third = await installViaHaskell(0, 'kes3');
    expect(third.result).toBe(RECV_OK);
    const late = await HaskellServiceClient.connect({ socketPath: e.serviceSocket });
    peers.push(late);
    const lateKey = await late.waitFor('key');
    expect(toHex(lateKey.ocert.hotVk)).toBe(third.kesVkey);
    expect(signsAt(lateKey, period)).toBe(true);
    expect((await late.waitFor('answer')).result).toBe(RECV_OK);
    expect(agent.stderr).toBe('');
  });

  test('AgentInfo in every Control version: the installed bundle, the staged vk, the ledger KES period; a V2/V3 drop shows as a tombstone, V0/V1 as nothing', async () => {
    await startAgent(e);
    const installed = await installViaHaskell(3, 'kes1');
    expect(installed.result).toBe(RECV_OK);
    const period = await currentPeriod(e);
    const c3 = await HaskellControlClient.connect(e.controlSocket, 3);
    const staged = await c3.genStagedKey();
    const info3 = await c3.requestInfo();
    expect(info3.programVersion).toMatch(/\S/);
    expect(info3.currentKesPeriod).toBe(BigInt(period));
    expect(toHex(info3.installed!.bundle!.vk)).toBe(installed.kesVkey);
    expect(info3.installed!.bundle!.startKesPeriod).toBe(BigInt(period));
    expect(info3.installed!.bundle!.evolution).toBe(0);
    expect(info3.installed!.timestampS).toBeGreaterThan(0n);
    expect(toHex(info3.stagedVk!)).toBe(toHex(staged!));
    expect(info3.periodEndS! - info3.periodStartS!).toBe(129_600n); // 36 h
    expect(info3.periodStartS! <= info3.currentTimeS && info3.currentTimeS < info3.periodEndS!).toBe(true);
    expect(await c3.dropKey()).toBe(RECV_OK);
    const after3 = await c3.requestInfo();
    expect(after3.installed).toEqual({ bundle: undefined, timestampS: expect.any(BigInt) });
    await c3.close();
    for (const v of [0, 1] as const) {
      const c = await HaskellControlClient.connect(e.controlSocket, v);
      const info = await c.requestInfo();
      expect(info.installed).toBeUndefined();
      expect(info.currentKesPeriod).toBe(BigInt(period));
      await c.close();
    }
  });

  test('garbage on the Haskell framing closes that connection only: the key stays served', async () => {
    const agent = await startAgent(e, ['--log-level', 'debug']);
    expect((await installViaHaskell(3, 'kes1')).result).toBe(RECV_OK);
    const steady = await HaskellServiceClient.connect({ socketPath: e.serviceSocket });
    peers.push(steady);
    await steady.waitFor('key');

    // An unknown command (6) on Control V3; DropKey on V1 (not in that version); a bad
    // handshake flag; a VersionMessage that names another version.
    const unknown = await HaskellControlClient.connect(e.controlSocket, 3);
    await unknown.writeRaw(Buffer.of(0x00, 0x06));
    expect(await unknown.closedByAgent()).toBe(true);
    const dropOnV1 = await HaskellControlClient.connect(e.controlSocket, 1);
    await dropOnV1.writeRaw(Buffer.of(0x00, 0x05));
    expect(await dropOnV1.closedByAgent()).toBe(true);
    const wrongVersion = await HaskellControlClient.connect(e.controlSocket, 3, { sendVersionMessage: false });
    await wrongVersion.writeRaw(Buffer.from('Control:2.0'.padEnd(32, '\0'), 'latin1'));
    expect(await wrongVersion.closedByAgent()).toBe(true);
    const badFlag = await new Promise<net.Socket>((resolve) => {
      const s = net.connect(e.serviceSocket, () => resolve(s));
    });
    const badFlagClosed = new Promise<void>((resolve) => badFlag.on('close', () => resolve()));
    badFlag.on('data', () => undefined);
    badFlag.write(Buffer.of(0x02));
    await badFlagClosed;
    // A service client that answers a push it was never sent.
    const chatty = await HaskellServiceClient.connect({ socketPath: e.serviceSocket, afterAccept: Buffer.of(0, 0, 0, 0) });
    await chatty.waitFor('key');
    await chatty.waitFor('closed');

    await agent.waitFor(/control: bad message from client; closing client=\d+ protocol="?Haskell Control V3"? code=ENUM_OUT_OF_RANGE\n/);
    await agent.waitFor(/control: bad message from client; closing client=\d+ protocol="?Haskell Control V1"? code=UNSUPPORTED\n/);
    await agent.waitFor(/control: bad message from client; closing client=\d+ protocol="?Haskell Control V3"? code=VERSION_MISMATCH\n/);
    await agent.waitFor(/service: version handshake failed; closing reason=malformed/);
    // The steady client still holds its key; a new one gets it.
    expect(steady.events.some((ev) => ev.kind === 'closed')).toBe(false);
    const fresh = await HaskellServiceClient.connect({ socketPath: e.serviceSocket });
    peers.push(fresh);
    expect(toHex((await fresh.waitFor('key')).ocert.hotVk)).toBe(toHex(steady.keys()[0]!.ocert.hotVk));
    expect(agent.stderr).toBe('');
  });
});
