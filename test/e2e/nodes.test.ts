/**
 * Nodes and the agent over real sockets: the real daemon (built binary) and real node clients
 * (the src/client library, as a block producer embeds it). Uploads, restarts on both sides,
 * drops, evolution at a real period boundary, expiry at maxKESEvolutions.
 */
import { KesNodeClient } from '../../src/client';
import { nextEvent } from '../helpers/node-events';
import { readColdVerificationKeyFile } from '../../src/cardano';
import { fromHex } from '../../src/crypto/bytes';
import { verifyKes } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { networkTiming, readGenesisFile, type ChainTiming } from '../../src/time';
import {
  type AgentEnv,
  ctlJson,
  makeAgentEnv,
  shortPeriodGenesis,
  stageAndCertify,
  startAgent,
  stopAgentEnv,
} from '../helpers/agent-env';

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
  let e: AgentEnv;
  const nodes: KesNodeClient[] = [];
  const timing = networkTiming('mainnet');
  let kesVkey: string;

  beforeAll(async () => {
    e = await makeAgentEnv();
    await startAgent(e);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await stopAgentEnv(e);
  });

  test('three connected nodes all receive and confirm an upload', async () => {
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
    await nodes.pop()!.stop();
    const fresh = node(e, timing);
    nodes.push(fresh);
    const ev = await nextEvent(fresh, 'key');
    expect(ev.kesVk).toBe(kesVkey);
    expectSigns(fresh, kesVkey);
  });

  test('the agent restarts: its keys are gone, the nodes keep theirs and reconnect', async () => {
    await e.agent!.stop('SIGKILL');
    await startAgent(e);
    await Promise.all(nodes.map((n) => nextEvent(n, 'connected')));
    const s = await ctlJson<{ active: unknown; serviceClients: number }>(e, 'status');
    expect(s.active).toBeNull();
    for (const n of nodes) {
      expect(n.hasKey()).toBe(true);
      expectSigns(n, kesVkey);
    }
  });

  test('a new upload reaches the reconnected nodes; drop-active makes every node drop it', async () => {
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
  const PERIOD_MS = 2_000;

  test('the agent and its node evolve at a real period boundary', async () => {
    const e = await makeAgentEnv();
    e.timingArgs = shortPeriodGenesis(e.dir, { periodMs: PERIOD_MS, maxKESEvolutions: 62 });
    const timing = readGenesisFile(e.timingArgs[1]!);
    const n = node(e, timing);
    try {
      await startAgent(e);
      const { opcert } = await stageAndCertify(e);
      await ctlJson(e, 'import-opcert', opcert);
      const up = await ctlJson<{ kesVkey: string; evolution: number; startKesPeriod: number }>(e, 'upload');
      const before = await ctlJson<{ currentKesPeriod: number; active: { evolution: number } }>(e, 'status');
      const evolved = nextEvent(n, 'evolved', 3 * PERIOD_MS);
      // Wait for an evolution that happens after `before` was read (one may already have happened
      // while the steps above ran, if they straddled a boundary).
      const seen = e.agent!.stdout.split('agent: key evolved').length - 1;
      await e.agent!.waitFor('agent: key evolved', { timeoutMs: 3 * PERIOD_MS, count: seen + 1 });
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
    // Two 3-second periods: room for the steps below even on a loaded machine.
    e.timingArgs = shortPeriodGenesis(e.dir, { periodMs: 3_000, maxKESEvolutions: 2 });
    const timing = readGenesisFile(e.timingArgs[1]!);
    const n = node(e, timing);
    try {
      await startAgent(e);
      const { opcert } = await stageAndCertify(e);
      await ctlJson(e, 'import-opcert', opcert);
      const up = await ctlJson<{ kesVkey: string }>(e, 'upload');
      const dropped = nextEvent(n, 'dropped', 8_000);
      await e.agent!.waitFor('agent: key dropped reason=expired', { timeoutMs: 8_000 });
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
