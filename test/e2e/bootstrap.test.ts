/**
 * Agent-to-agent bootstrap over real sockets between built agents (the Haskell kes-agent's bootstrap and
 * its end-to-end tests `kesAgentPropagate`, `kesAgentPropagateUpdate`, `kesAgentSelfHeal1/2`): propagation of a
 * key, a rotation and a drop; self-heal after SIGKILL; a ring of three. Every wait is for a log
 * line or a node event, in sequence (Proc.mark / waitFor after); message counts are read after a
 * barrier: a drop sent through the same connections, which are FIFO, so everything sent before
 * it has been handled when it arrives.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KesNodeClient } from '../../src/client';
import { readColdVerificationKeyFile } from '../../src/cardano';
import { fromHex } from '../../src/crypto/bytes';
import { verifyKes } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { networkTiming } from '../../src/time';
import { nextEvent } from '../helpers/node-events';
import { ROOT, run, type Proc } from '../helpers/processes';
import { type AgentEnv, ctlJson, makeAgentEnv, stageAndCertify, startAgent, stopAgentEnv } from '../helpers/agent-env';

jest.setTimeout(90_000);

const timing = networkTiming('mainnet');
const MESSAGE = new TextEncoder().encode('a block header body');
const INSTALLED_FROM_PEER = 'bootstrap: installed a bundle from peer';
const NOT_NEWER = 'bootstrap: peer bundle not newer';
const PEER_DROPPED = 'bootstrap: peer dropped the key';

interface StatusJson {
  active: null | { kesVkey: string; counter: number; evolution: number };
  peers?: { path: string; state: string; lastKey: null | { kesVkey: string; counter: number; evolution: number }; lastRefusal: unknown; accepted: number }[];
}

const HASKELL_CONTROL = path.join(ROOT, 'dist', 'src', 'bin', 'kes-agent-control.js');

beforeAll(async () => {
  await loadSodium();
});

/** An agent env of the same pool as `first`: its cold vk, and the one cold host (skey, counter file). */
async function sibling(first: AgentEnv): Promise<AgentEnv> {
  const e = await makeAgentEnv();
  fs.copyFileSync(first.coldVkey, e.coldVkey);
  e.coldSkey = first.coldSkey;
  e.counter = first.counter;
  return e;
}

function node(e: AgentEnv): KesNodeClient {
  const c = new KesNodeClient({ socketPath: e.serviceSocket, timing, coldVk: readColdVerificationKeyFile(e.coldVkey), backoff: { initialMs: 50, maxMs: 500 } });
  c.start();
  return c;
}

/** keygen + issue + import + upload on `e`; returns the new vk. */
async function rotate(e: AgentEnv, name: string): Promise<string> {
  const { opcert } = await stageAndCertify(e, { name, force: true });
  await ctlJson(e, 'import-opcert', opcert);
  return (await ctlJson<{ kesVkey: string }>(e, 'upload')).kesVkey;
}

const count = (p: Proc, text: string, from: { stdout: number }): number => p.stdout.slice(from.stdout).split(text).length - 1;

describe('two agents', () => {
  let a: AgentEnv;
  let b: AgentEnv;
  const nodes: KesNodeClient[] = [];

  beforeAll(async () => {
    a = await makeAgentEnv();
    b = await sibling(a);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await stopAgentEnv(b);
    await stopAgentEnv(a);
  });

  test('B bootstrapping from A serves A\'s key at the same evolution, and a node on B signs with it; a rotation and a drop on A reach B and its node', async () => {
    await startAgent(a);
    const vk1 = await rotate(a, 'k1');
    const bProc = await startAgent(b, ['--bootstrap', a.serviceSocket, '--log-level', 'debug']);
    await bProc.waitFor(INSTALLED_FROM_PEER);
    const [sa, sb] = [await ctlJson<StatusJson>(a, 'status'), await ctlJson<StatusJson>(b, 'status')];
    expect(sb.active).toMatchObject({ kesVkey: vk1, counter: 0, evolution: sa.active!.evolution });
    expect(sb.peers).toEqual([
      expect.objectContaining({ path: a.serviceSocket, state: 'up', lastKey: { kesVkey: vk1, counter: 0, evolution: 0, timestampUs: expect.any(Number), receivedAt: expect.any(String) }, lastRefusal: null, accepted: 1 }),
    ]);
    // The Haskell tool's view (Control V3 AgentInfo, BootstrapInfo).
    const info = await run(HASKELL_CONTROL, ['info', '-c', b.controlSocket], { env: b.env });
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('--- Bootstrap Peers ---');
    expect(info.stdout).toContain(`${a.serviceSocket}: up`);

    const n = node(b);
    nodes.push(n);
    const first = await nextEvent(n, 'key');
    expect(first.kesVk).toBe(vk1);
    const s = n.sign(MESSAGE);
    expect(verifyKes(fromHex(vk1)!, s.evolution, MESSAGE, s.signature)).toBe(true);

    // Rotation on A: B installs it and pushes it to its node.
    const mark = bProc.mark();
    const gotKey = nextEvent(n, 'key');
    const vk2 = await rotate(a, 'k2');
    await bProc.waitFor(INSTALLED_FROM_PEER, { after: mark });
    expect((await gotKey).kesVk).toBe(vk2);
    expect((await ctlJson<StatusJson>(b, 'status')).active).toMatchObject({ kesVkey: vk2, counter: 1 });

    // Drop on A: B drops too, and its node hears it.
    const dropMark = bProc.mark();
    const dropped = nextEvent(n, 'dropped');
    await ctlJson(a, 'drop-active');
    await bProc.waitFor(PEER_DROPPED, { after: dropMark });
    await dropped;
    expect((await ctlJson<StatusJson>(b, 'status')).active).toBeNull();
  });

  test('self-heal: A and B follow each other; A killed with SIGKILL and restarted gets the key from B, and nothing loops', async () => {
    await b.agent!.stop();
    await a.agent!.stop();
    const aProc = await startAgent(a, ['--bootstrap', b.serviceSocket, '--log-level', 'debug']);
    const bProc = await startAgent(b, ['--bootstrap', a.serviceSocket, '--log-level', 'debug']);
    const bMark = bProc.mark();
    const vk = await rotate(a, 'k3');
    await bProc.waitFor(INSTALLED_FROM_PEER, { after: bMark });
    // B's push goes back to A, which already holds it with that timestamp.
    await aProc.waitFor(NOT_NEWER);

    await aProc.stop('SIGKILL');
    const bBefore = bProc.mark();
    const aRestarted = await startAgent(a, ['--bootstrap', b.serviceSocket, '--log-level', 'debug']);
    await aRestarted.waitFor(INSTALLED_FROM_PEER);
    expect((await ctlJson<StatusJson>(a, 'status')).active).toMatchObject({ kesVkey: vk });
    // B reconnects to the restarted A (backoff) and gets its own bundle back: not newer.
    await bProc.waitFor(NOT_NEWER, { after: bBefore });

    // Barrier: a drop on A travels A → B → A on the same connections as everything before it.
    const aMark = aRestarted.mark();
    const bMark2 = bProc.mark();
    await ctlJson(a, 'drop-active');
    await bProc.waitFor(PEER_DROPPED, { after: bMark2 });
    await aRestarted.waitFor(NOT_NEWER, { after: aMark });
    expect(count(aRestarted, INSTALLED_FROM_PEER, { stdout: 0 })).toBe(1);
    expect(count(bProc, INSTALLED_FROM_PEER, bBefore)).toBe(0);
    expect(count(aRestarted, INSTALLED_FROM_PEER, aMark) + count(aRestarted, PEER_DROPPED, aMark)).toBe(0);
  });
});

describe('three agents in a ring (A ← C, B ← A, C ← B)', () => {
  const envs: AgentEnv[] = [];
  const procs: Proc[] = [];

  beforeAll(async () => {
    const first = await makeAgentEnv();
    envs.push(first, await sibling(first), await sibling(first));
    // Each follows the previous one; the first follows the last, after all sockets exist.
    for (let i = 0; i < 3; i++) {
      const prev = envs[(i + 2) % 3]!;
      procs.push(await startAgent(envs[i]!, ['--bootstrap', prev.serviceSocket, '--log-level', 'debug']));
    }
  });
  afterAll(async () => {
    for (const e of envs) await stopAgentEnv(e);
  });

  test.each([0, 1, 2])('a rotation on agent %i reaches all three, and the traffic stops', async (origin) => {
    const marks = procs.map((p) => p.mark());
    const vk = await rotate(envs[origin]!, `ring${origin}`);
    const others = [0, 1, 2].filter((i) => i !== origin);
    for (const i of others) await procs[i]!.waitFor(INSTALLED_FROM_PEER, { after: marks[i] });
    // It comes round to the origin, which holds it already.
    await procs[origin]!.waitFor(NOT_NEWER, { after: marks[origin] });
    for (const e of envs) expect((await ctlJson<StatusJson>(e, 'status')).active).toMatchObject({ kesVkey: vk });
    // Barrier: a second rotation on the origin goes round the same FIFO connections.
    const marks2 = procs.map((p) => p.mark());
    await rotate(envs[origin]!, `ring${origin}b`);
    for (const i of others) await procs[i]!.waitFor(INSTALLED_FROM_PEER, { after: marks2[i] });
    await procs[origin]!.waitFor(NOT_NEWER, { after: marks2[origin] });
    // Each agent took each bundle once; the origin took none back; one echo per rotation.
    for (const i of others) expect(count(procs[i]!, INSTALLED_FROM_PEER, marks[i]!)).toBe(2);
    expect(count(procs[origin]!, INSTALLED_FROM_PEER, marks[origin]!)).toBe(0);
    expect(count(procs[origin]!, NOT_NEWER, marks[origin]!)).toBe(2);
  });
});

