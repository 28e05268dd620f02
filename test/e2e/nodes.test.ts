/**
 * Nodes and the agent over real sockets: the real daemon (built binary) and real node clients
 * (the src/client library, as a block producer embeds it). Uploads, restarts on both sides,
 * drops, evolution at a real period boundary, expiry at maxKESEvolutions.
 */
import * as path from 'node:path';
import { KesNodeClient } from '../../src/client';
import { nextEvent } from '../helpers/node-events';
import { readColdVerificationKeyFile } from '../../src/cardano';
import { fromHex } from '../../src/crypto/bytes';
import { verifyKes } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { networkTiming, type ChainTiming } from '../../src/time';
import {
  type AgentEnv,
  agentForEachDescribe,
  cold,
  ctlJson,
  makeAgentEnv,
  stageAndCertify,
  startAgent,
  stopAgentEnv,
} from '../helpers/agent-env';
import { periodForSpawns, testChain } from '../helpers/test-chain';

const MESSAGE = new TextEncoder().encode('a block header body');

function node(e: AgentEnv, timing: ChainTiming): KesNodeClient {
  const c = new KesNodeClient({
    socketPath: e.serviceSocket,
    timing,
    coldVk: readColdVerificationKeyFile(e.coldVkey),
    backoff: { initialMs: 50, maxMs: 500 },
  });
  c.start();
  return c;
}

/** The node's signature at the current period verifies under the key the agent reported. */
function expectSigns(c: KesNodeClient, kesVkey: string): void {
  const s = c.sign(MESSAGE);
  expect(verifyKes(fromHex(kesVkey)!, s.evolution, MESSAGE, s.signature)).toBe(true);
}

beforeAll(async () => {
  await loadSodium();
});

describe('nodes on mainnet time', () => {
  const nodes: KesNodeClient[] = [];
  const timing = networkTiming('mainnet');
  let kesVkey: string;

  // Declared before the agent's hooks: after-all hooks run in the order declared, so the nodes
  // stop before the agent does.
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });
  const agent = agentForEachDescribe();

  test('three connected nodes all receive and confirm an upload', async () => {
    const e = agent();
    for (let i = 0; i < 3; i++) nodes.push(node(e, timing));
    await Promise.all(nodes.map((n) => (n.connected ? Promise.resolve() : nextEvent(n, 'connected'))));
    const { opcert } = await stageAndCertify(e);
    await ctlJson(e, 'import-opcert', opcert);
    const gotKey = nodes.map((n) => nextEvent(n, 'key'));
    const up = await ctlJson<{ kesVkey: string; nodesConnected: number; nodesConfirmed: number }>(e, 'upload');
    expect(up).toMatchObject({ nodesConnected: 3, nodesConfirmed: 3 });
    kesVkey = up.kesVkey;
    for (const ev of await Promise.all(gotKey)) expect(ev).toMatchObject({ kesVk: kesVkey, counter: 0, evolution: 0 });
    for (const n of nodes) expectSigns(n, kesVkey);
    expect((await ctlJson<{ serviceClients: number }>(e, 'status')).serviceClients).toBe(3);
  });

  test('a restarted node gets the key again when it connects', async () => {
    const e = agent();
    await nodes.pop()!.stop();
    const fresh = node(e, timing);
    nodes.push(fresh);
    const ev = await nextEvent(fresh, 'key');
    expect(ev.kesVk).toBe(kesVkey);
    expectSigns(fresh, kesVkey);
  });

  test('the agent restarts: its keys are gone, the nodes keep theirs and reconnect', async () => {
    const e = agent();
    // Armed before the kill: a node may reconnect before startAgent has seen the agent's banner.
    const reconnected = nodes.map((n) => nextEvent(n, 'connected', 30_000));
    await e.agent!.stop('SIGKILL');
    await startAgent(e);
    await Promise.all(reconnected);
    const s = await ctlJson<{ active: unknown; serviceClients: number }>(e, 'status');
    expect(s.active).toBeNull();
    for (const n of nodes) {
      expect(n.hasKey()).toBe(true);
      expectSigns(n, kesVkey);
    }
  });

  test('a new upload reaches the reconnected nodes; drop-active makes every node drop it', async () => {
    const e = agent();
    const { opcert } = await stageAndCertify(e, { name: 'second' });
    await ctlJson(e, 'import-opcert', opcert);
    const up = await ctlJson<{ kesVkey: string; counter: number; nodesConfirmed: number }>(e, 'upload');
    expect(up).toMatchObject({ counter: 1, nodesConfirmed: 3 });
    for (const n of nodes) expect(n.keyInfo()?.kesVk).toBe(up.kesVkey);

    const dropped = nodes.map((n) => nextEvent(n, 'dropped'));
    expect(await ctlJson(e, 'drop-active')).toEqual({ hadKey: true, nodesConnected: 3, nodesConfirmed: 3 });
    for (const ev of await Promise.all(dropped)) expect(ev.reason).toBe('agent-dropped');
    for (const n of nodes) {
      expect(n.hasKey()).toBe(false);
      expect(() => n.sign(MESSAGE)).toThrow();
    }
  });
});

describe('KES time on a test chain with short periods', () => {
  test('the agent and its node evolve at a real period boundary', async () => {
    const e = await makeAgentEnv();
    const chain = testChain(e.dir, { periodMs: 2_000, maxKESEvolutions: 62 });
    e.timingArgs = chain.args;
    const n = node(e, chain.timing);
    try {
      await startAgent(e);
      const { opcert } = await stageAndCertify(e);
      await ctlJson(e, 'import-opcert', opcert);
      const up = await ctlJson<{ kesVkey: string; evolution: number; startKesPeriod: number }>(e, 'upload');
      // `before` first, then the mark: the evolution waited for comes after both, so it is a
      // later period than `before`, however long the steps above took.
      const before = await ctlJson<{ currentKesPeriod: number; active: { evolution: number } }>(e, 'status');
      const mark = e.agent!.mark();
      const evolved = nextEvent(n, 'evolved', 30_000);
      await e.agent!.waitFor('agent: key evolved', { after: mark, timeoutMs: 30_000 });
      const after = await ctlJson<{ currentKesPeriod: number; active: { evolution: number } }>(e, 'status');
      expect(after.currentKesPeriod).toBeGreaterThan(before.currentKesPeriod);
      expect(after.active.evolution).toBe(after.currentKesPeriod - up.startKesPeriod);
      expect((await evolved).evolution).toBeGreaterThanOrEqual(1);
      expectSigns(n, up.kesVkey);
    } finally {
      await n.stop();
      await stopAgentEnv(e);
    }
  });

  test('at maxKESEvolutions the agent erases the key, reports it expired and tells the nodes', async () => {
    const e = await makeAgentEnv();
    // An opcert lives 2 periods; the two spawns that make it active (import-opcert, upload)
    // must fit in them, with the margin.
    const chain = testChain(e.dir, { periodMs: periodForSpawns(2) / 2, maxKESEvolutions: 2 });
    e.timingArgs = chain.args;
    const n = node(e, chain.timing);
    try {
      await startAgent(e);
      const vkey = path.join(e.dir, 'kes.vkey');
      await ctlJson(e, 'keygen', '--out', vkey);
      const c0 = chain.periodAt() + 1;
      const opcert = path.join(e.dir, 'kes.opcert');
      const issued = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${c0}`, '--out', opcert);
      expect(issued.code).toBe(0);
      await chain.untilPeriod(c0);
      await ctlJson(e, 'import-opcert', opcert);
      const mark = e.agent!.mark();
      const dropped = nextEvent(n, 'dropped', 60_000);
      const up = await ctlJson<{ kesVkey: string }>(e, 'upload');
      expect(chain.periodAt()).toBeLessThan(c0 + 2); // else the machine is over 4x slower than measured
      await e.agent!.waitFor('agent: key dropped reason=expired', { after: mark, timeoutMs: chain.startOf(c0 + 2) - Date.now() + 15_000 });
      const s = await ctlJson<{ active: unknown; expired: { kesVkey: string } | null }>(e, 'status');
      expect(s.active).toBeNull();
      expect(s.expired?.kesVkey).toBe(up.kesVkey);
      expect(['agent-dropped', 'expired']).toContain((await dropped).reason);
      expect(n.hasKey()).toBe(false);
    } finally {
      await n.stop();
      await stopAgentEnv(e);
    }
  });
});
