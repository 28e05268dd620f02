/**
 * Fault injection: peers that die mid-frame, connection floods, a node that never
 * reads, an agent killed outright, a clock that jumps. The agent is the built binary on real
 * sockets (the clock test runs the daemon in-process only so that its clock can be moved); the
 * operator's steps go over the real control socket from this process (Operator below), since
 * what is under test here is the agent, and kes-ctl and kes-cold cost a process per step.
 *
 * Already covered elsewhere and not repeated here: garbage bytes and sequential control BUSY
 * (daemon.test.ts), SIGKILL + restart with in-process nodes (nodes.test.ts).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { ControlClient } from '../../src/client/control-client';
import { KesNodeClient } from '../../src/client';
import { eventually } from '../helpers/eventually';
import { nextEvent } from '../helpers/node-events';
import { ColdSigningKey, issueOpcert, writeColdVerificationKeyFile } from '../../src/cardano';
import { fromHex, toHex } from '../../src/crypto/bytes';
import { KesSignKey, verifyKes } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { encodeMessage, KIND, WIRE_ERROR_CODES, wipeMessage, type KeyMessage, type Status } from '../../src/protocol';
import { encodeOffer } from '../../src/protocol/haskell';
import { offeredIds } from '../../src/server/version-negotiation';
import { startDaemon, type Daemon } from '../../src/server/daemon';
import { MAX_CONTROL_CONNECTIONS, MAX_UNCONFIRMED_PUSHES, TEST_CONFIRM_DEADLINE_ENV, TEST_HOOKS_ENV } from '../../src/server/limits';
import { createLogger } from '../../src/platform/logger';
import { kesTimeAt, networkTiming, type ChainTiming } from '../../src/time';
import {
  type AgentEnv,
  ctl,
  ctlJson,
  startAgent,
  stopAgentEnv,
} from '../helpers/agent-env';
import { testChain } from '../helpers/test-chain';
import { BIN, cleanEnv, Proc, run, tempDir } from '../helpers/processes';
import { autoConfirm, connectRaw, handshakeRaw, acceptFrame, stuckNode } from '../helpers/raw-client';

const MESSAGE = new TextEncoder().encode('a block header body');
/** Connections opened at once in the flood tests. */
const FLOOD = 500;
/** The agents here follow mainnet's clock (36-hour KES periods): nothing here depends on a boundary. */
const MAINNET = networkTiming('mainnet');

function mainnetPeriodNow(): number {
  const t = kesTimeAt(MAINNET, Date.now());
  if (!t.started) throw new Error('mainnet has not started?');
  return t.kesPeriod;
}

interface StatusJson {
  currentKesPeriod: number;
  serviceClients: number;
  staged: null | { kesVkey: string };
  active: null | { kesVkey: string; counter: number; startKesPeriod: number; evolution: number; periodsRemaining: number };
  expired: null | { kesVkey: string };
}

function startNode(socketPath: string, timing: ChainTiming, coldVk: Uint8Array, now?: () => number): KesNodeClient {
  const c = new KesNodeClient({ socketPath, timing, coldVk, now, backoff: { initialMs: 50, maxMs: 500 } });
  c.start();
  return c;
}

async function connected(nodes: KesNodeClient[]): Promise<void> {
  await Promise.all(nodes.map((n) => (n.connected ? Promise.resolve() : nextEvent(n, 'connected'))));
}

/** One control request over the agent's real control socket, from this process (no spawn). */
async function withControl<T>(e: AgentEnv, f: (c: ControlClient) => Promise<T>): Promise<T> {
  const c = await ControlClient.connect({ socketPath: e.controlSocket });
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

const agentStatus = (e: AgentEnv): Promise<Status> => withControl(e, (c) => c.status());

/**
 * The operator's steps without a process per step: a cold key made here (its vkey file is what
 * the agent and kes-node read), keygen, an opcert signed here, import, upload, all over the
 * agent's real control socket. What these tests inject faults into is the agent; kes-ctl and
 * kes-cold themselves are covered by control-flow.test.ts. Counters go 0, 1, 2, ...
 */
class Operator {
  #counter = 0;
  readonly #cold = ColdSigningKey.generate();
  readonly coldVk = this.#cold.verificationKey;
  constructor(readonly e: AgentEnv) {
    writeColdVerificationKeyFile(e.coldVkey, this.coldVk, { overwrite: false });
  }

  /** Wipe the cold key. */
  destroy(): void {
    this.#cold.destroy();
  }

  /** keygen → opcert → import: a staged key with its opcert; returns its KES vk (hex). */
  async stage(): Promise<string> {
    return withControl(this.e, async (c) => {
      const { kesVk } = await c.keygen({ force: false });
      await c.importOpcert(issueOpcert({ hotVk: kesVk, counter: this.#counter++, kesPeriod: mainnetPeriodNow(), coldSeed: this.#cold.seed }));
      return toHex(kesVk);
    });
  }

  async upload(confirmTimeoutMs: number): Promise<{ kesVkey: string; nodesConnected: number; nodesConfirmed: number }> {
    const r = await withControl(this.e, (c) => c.upload({ confirmTimeoutMs }));
    return { kesVkey: toHex(r.kesVk), nodesConnected: r.nodesConnected, nodesConfirmed: r.nodesConfirmed };
  }

  /** stage() then upload(): the upload's reply waits at most `confirmTimeoutMs` for confirmations. */
  async push(confirmTimeoutMs = 5_000): Promise<{ kesVkey: string; nodesConnected: number; nodesConfirmed: number }> {
    await this.stage();
    return this.upload(confirmTimeoutMs);
  }

  dropActive(confirmTimeoutMs: number): Promise<{ hadKey: boolean; nodesConnected: number; nodesConfirmed: number }> {
    return withControl(this.e, async (c) => {
      const { hadKey, nodesConnected, nodesConfirmed } = await c.dropActive({ confirmTimeoutMs });
      return { hadKey, nodesConnected, nodesConfirmed };
    });
  }
}

beforeAll(async () => {
  await loadSodium();
});

describe('faults against the built agent', () => {
  let e: AgentEnv;
  let coldVk: Uint8Array;
  let op: Operator;
  const nodes: KesNodeClient[] = [];
  const sockets: net.Socket[] = [];

  /** A fresh agent for this test (debug log: node confirmations are logged), with `env` added. */
  async function start(env: Record<string, string> = {}): Promise<Proc> {
    e.env = { ...e.env, ...env };
    return startAgent(e, ['--log-level', 'debug']);
  }

  beforeEach(() => {
    const dir = tempDir('kes-e2e-');
    const controlSocket = path.join(dir, 'control.sock');
    const serviceSocket = path.join(dir, 'service.sock');
    e = {
      dir,
      controlSocket,
      serviceSocket,
      coldVkey: path.join(dir, 'cold.vkey'),
      coldSkey: path.join(dir, 'no-cold.skey'), // the cold key stays in this process (Operator)
      counter: path.join(dir, 'no-cold.counter'),
      env: cleanEnv({ KES_AGENT_CONTROL_SOCKET: controlSocket, KES_AGENT_SERVICE_SOCKET: serviceSocket }),
      agent: undefined,
      timingArgs: [],
    };
    op = new Operator(e);
    coldVk = op.coldVk;
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    op.destroy();
    await stopAgentEnv(e);
  });

  test('a client killed mid-frame (control and service): the agent carries on', async () => {
    const agent = await start();
    // A separate process writes half a frame and SIGKILLs itself: the kernel closes its end with
    // no goodbye, as when a kes-ctl or a node crashes mid-write.
    const half = (frame: Uint8Array): string => Buffer.from(frame.subarray(0, Math.ceil(frame.length / 2))).toString('hex');
    // With a kind (`untilKind`), it waits for a whole frame of that kind first: a node dies
    // mid-CONFIRM only once the agent's KEY write has landed, else the agent may see its write
    // fail before it reads the half frame (a different, also handled, ending).
    const script = `
      const net = require('node:net');
      const [socketPath, helloHex, halfHex, untilKind] = process.argv.slice(1);
      setTimeout(() => process.exit(3), 20000); // never outlive the test, whatever happens
      const s = net.connect(socketPath, () => {
        const die = () => s.write(Buffer.from(halfHex, 'hex'), () => process.kill(process.pid, 'SIGKILL'));
        if (helloHex === '-') return die();
        s.write(Buffer.from(helloHex, 'hex'));
        if (untilKind === undefined) return void s.once('data', die); // the offer: our protocol is picked, now die mid-frame
        let got = Buffer.alloc(0);
        s.on('data', (d) => {
          got = Buffer.concat([got, d]);
          let at = got.length >= 4 ? 4 + 32 * got.readUInt32BE(0) : Infinity; // past the offer
          while (at + 4 <= got.length) {
            const len = got.readUInt32BE(at);
            if (at + 4 + len > got.length) return;
            if (got[at + 4] === Number(untilKind)) return die();
            at += 4 + len;
          }
        });
      });`;
    const killedMidFrame = (socketPath: string, hello: string, halfFrame: string, untilKind?: number): Promise<NodeJS.Signals | null> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', script, socketPath, hello, halfFrame, ...(untilKind === undefined ? [] : [String(untilKind)])], { stdio: 'ignore' });
        child.on('error', reject);
        child.on('exit', (_code, signal) => resolve(signal));
      });

    const before = await op.push();
    const node = startNode(e.serviceSocket, MAINNET, coldVk);
    nodes.push(node);
    await node.waitForKey(10_000);

    const mark = agent.mark();
    // Four independent crashes at once. Control: half a version-handshake answer; and a full handshake, then half a
    // DROP_ACTIVE request. Service: half a HELLO; and a handshaken node that dies halfway through
    // a CONFIRM, once its KEY is in.
    const halfDrop = half(encodeMessage({ type: 'drop_active', confirmTimeoutMs: 5000 }));
    const halfConfirm = half(encodeMessage({ type: 'confirm', seq: 1, result: 0 }));
    expect(
      await Promise.all([
        killedMidFrame(e.controlSocket, '-', half(acceptFrame('control'))),
        killedMidFrame(e.controlSocket, Buffer.from(acceptFrame('control')).toString('hex'), halfDrop),
        killedMidFrame(e.serviceSocket, '-', half(acceptFrame('service'))),
        killedMidFrame(e.serviceSocket, Buffer.from(acceptFrame('service')).toString('hex'), halfConfirm, KIND.KEY),
      ]),
    ).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL']);

    // Half an answer ends in the version handshake (logged at debug), half a frame in our protocol.
    await agent.waitFor(/control: version handshake failed; closing reason=closed/, { after: mark });
    await agent.waitFor(/service: version handshake failed; closing reason=closed/, { after: mark });
    await agent.waitFor('control: client closed mid-frame', { after: mark });
    await agent.waitFor('service: node closed mid-frame', { after: mark });
    expect(agent.child.exitCode).toBeNull();
    // Half a DROP_ACTIVE dropped nothing; the live node still holds the key.
    const s = await ctlJson<StatusJson>(e, 'status');
    expect(s.active?.kesVkey).toBe(before.kesVkey);
    expect(node.keyInfo()?.kesVk).toBe(before.kesVkey);
    await eventually('only the live node is counted', async () => (await agentStatus(e)).serviceClients === 1);
    // And the next upload still reaches the live node.
    const gotKey = nextEvent(node, 'key');
    const up = await op.push();
    expect(up).toMatchObject({ nodesConnected: 1, nodesConfirmed: 1 });
    expect((await gotKey).kesVk).toBe(up.kesVkey);
    expect(node.keyInfo()?.kesVk).toBe(up.kesVkey);
    expect(agent.stderr).toBe('');
  });

  test(`${FLOOD} connections at once on the service socket: all served, a real node still gets its key`, async () => {
    await start();
    // Staged and certified before the flood; uploaded while it is on.
    await op.stage();
    // Half complete the handshake and act as minimal nodes; half connect and say nothing.
    const opened = await Promise.allSettled(
      Array.from({ length: FLOOD }, (_, i) => (i % 2 === 0 ? handshakeRaw(e.serviceSocket, 'service') : connectRaw(e.serviceSocket))),
    );
    const failed = opened.filter((r) => r.status === 'rejected');
    const talkers = opened.flatMap((r) => (r.status === 'fulfilled' && !(r.value instanceof net.Socket) ? [r.value] : []));
    const silent = opened.flatMap((r) => (r.status === 'fulfilled' && r.value instanceof net.Socket ? [r.value] : []));
    for (const t of talkers) sockets.push(t.conn.socket);
    sockets.push(...silent);
    expect(failed.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);
    expect(talkers).toHaveLength(FLOOD / 2);
    expect(talkers.every((t) => t.reply.type === 'welcome')).toBe(true);
    const minimal = talkers.map((t) => autoConfirm(t.conn));
    // What a silent connection gets: the version offer, then (no answer) the close.
    const silentReplies = silent.map(
      (s) =>
        new Promise<Buffer>((resolve) => {
          const got: Buffer[] = [];
          s.on('data', (d: Buffer) => got.push(d));
          s.on('close', () => resolve(Buffer.concat(got)));
        }),
    );
    try {
      await eventually('every handshaken connection is a node', async () => (await agentStatus(e)).serviceClients === FLOOD / 2);

      const node = startNode(e.serviceSocket, MAINNET, coldVk);
      nodes.push(node);
      await connected([node]);
      // Its "connected" comes with WELCOME; the agent counts it a moment later.
      await eventually('the node is counted', async () => (await agentStatus(e)).serviceClients === FLOOD / 2 + 1);
      const gotKey = nextEvent(node, 'key');
      const up = await op.upload(5_000);
      // Every node, minimal or real, confirmed the push.
      expect(up).toMatchObject({ nodesConnected: FLOOD / 2 + 1, nodesConfirmed: FLOOD / 2 + 1 });
      expect((await gotKey).kesVk).toBe(up.kesVkey);
      const signed = node.sign(MESSAGE);
      expect(verifyKes(fromHex(up.kesVkey)!, signed.evolution, MESSAGE, signed.signature)).toBe(true);
      expect(minimal.every((m) => m.seen.key === 1)).toBe(true);

      // The silent half is cut off by the handshake timeout. Nothing picked our protocol, so there
      // is no ERROR to send (the VersionHandshake has none): the offer, then the close, and the
      // reason in the log.
      const offer = Buffer.from(encodeOffer(offeredIds('service')));
      const replies = await Promise.all(silentReplies);
      for (const r of replies) expect(r.equals(offer)).toBe(true);
      await e.agent!.waitFor(/service: version handshake failed; closing reason=timeout/);
    } finally {
      for (const t of talkers) t.conn.destroy();
      for (const s of silent) s.destroy();
      await Promise.all(minimal.map((m) => m.done));
    }
    await eventually('the flood is gone', async () => (await agentStatus(e)).serviceClients === 1);
    expect(e.agent!.child.exitCode).toBeNull();
  });

  test(`${FLOOD} connections at once on the control socket: ${MAX_CONTROL_CONNECTIONS} served, the rest BUSY, then service resumes`, async () => {
    const agent = await start();
    const mark = agent.mark();
    const results = await Promise.allSettled(Array.from({ length: FLOOD }, () => handshakeRaw(e.controlSocket, 'control')));
    const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      const welcomed = opened.filter((o) => o.reply.type === 'welcome');
      const busy = opened.filter((o) => o.reply.type === 'error' && o.reply.code === WIRE_ERROR_CODES.BUSY);
      expect(welcomed).toHaveLength(MAX_CONTROL_CONNECTIONS);
      expect(busy).toHaveLength(FLOOD - MAX_CONTROL_CONNECTIONS);
      // A welcomed connection is really served while the flood is on.
      const first = welcomed[0]!;
      await first.conn.send({ type: 'status' });
      expect((await first.conn.receive(10_000)).type).toBe('status_ok_v3');
    } finally {
      for (const o of opened) o.conn.destroy();
    }
    await eventually('kes-ctl status answers again', async () => (await ctl(e, 'status')).code === 0);
    // One warning line for the whole flood, then a summary: not one line per refused connection.
    expect(agent.stdout.slice(mark.stdout).split('control: connection limit reached').length - 1).toBe(1);
    // And the key path still works end to end.
    const node = startNode(e.serviceSocket, MAINNET, coldVk);
    nodes.push(node);
    await connected([node]);
    // Its "connected" comes with WELCOME; the agent counts it a moment later.
    await eventually('the node is counted', async () => (await agentStatus(e)).serviceClients === 1);
    const gotKey = nextEvent(node, 'key');
    const up = await op.push();
    expect(up).toMatchObject({ nodesConnected: 1, nodesConfirmed: 1 });
    expect((await gotKey).kesVk).toBe(up.kesVkey);
  });

  // The count bound: a node that stops reading is disconnected at the push that finds it with
  // MAX_UNCONFIRMED_PUSHES unconfirmed. The confirm deadline (the other bound, tested below) is
  // set far beyond this test through the test hook, so only the count can trip, at a known push.
  test(`a node that never reads is dropped at ${MAX_UNCONFIRMED_PUSHES} unconfirmed pushes; the other nodes get every push and confirm it`, async () => {
    const agent = await start({ [TEST_HOOKS_ENV]: '1', [TEST_CONFIRM_DEADLINE_ENV]: '3600000' });
    const good = [0, 1, 2].map(() => startNode(e.serviceSocket, MAINNET, coldVk));
    nodes.push(...good);
    await connected(good);
    // A node's "connected" comes with WELCOME; the agent counts it a moment later.
    await eventually('three nodes connected', async () => (await agentStatus(e)).serviceClients === 3);
    // The stuck node: handshakes, then stops reading. Its first push (NO_KEY, on connect) is
    // unconfirmed push 1. It is the agent's fourth node.
    const stuck = await stuckNode(e.serviceSocket);
    sockets.push(stuck.socket);
    const fourth = /service: node connected node=(\d+) nodes=4\n/;
    await agent.waitFor(fourth);
    const stuckId = fourth.exec(agent.stdout)![1]!;
    await eventually('four nodes connected', async () => (await agentStatus(e)).serviceClients === 4);

    const keys = good.map(() => [] as string[]);
    const drops = good.map(() => 0);
    good.forEach((n, i) => {
      n.on('key', (k) => keys[i]!.push(k.kesVk));
      n.on('dropped', () => drops[i]!++);
    });
    const dropLine = new RegExp(`service: node is not keeping up; disconnecting it node=${stuckId} unconfirmed=${MAX_UNCONFIRMED_PUSHES}\\n`);
    const anyDrop = /service: node is not keeping up|service: node did not confirm in time/g;
    const testMark = agent.mark();
    const dropsLogged = (): number => agent.stdout.slice(testMark.stdout).match(anyDrop)?.length ?? 0;

    // Each upload and each drop is one push to all four nodes. A step's reply waits (up to
    // WAIT_MS) for that push's confirmations, and the stuck node confirms none: so the steps do
    // not wait for their replies. Each next step starts once the good nodes have the previous
    // push (their events, armed before the step); every reply is checked at the end, and they
    // all come back as soon as the stuck node is cut, with the good nodes' confirmations.
    const WAIT_MS = 20_000;
    const replies: Promise<{ nodesConnected: number; nodesConfirmed: number }>[] = [];
    const send = (reply: Promise<{ nodesConnected: number; nodesConfirmed: number }>): void => {
      reply.catch(() => undefined); // judged at the end; if the test fails first, not an unhandled rejection
      replies.push(reply);
    };
    const uploaded: string[] = [];
    // Unconfirmed so far: 1. Each cycle adds 2 (an upload and a drop); the last cycle's drop is
    // push 9, which finds 8 unconfirmed and disconnects the node instead of queueing more.
    const cycles = MAX_UNCONFIRMED_PUSHES / 2;
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const kesVkey = await op.stage();
      const gotKey = good.map((n) => nextEvent(n, 'key'));
      send(op.upload(WAIT_MS));
      expect((await Promise.all(gotKey)).map((k) => k.kesVk)).toEqual([kesVkey, kesVkey, kesVkey]);
      uploaded.push(kesVkey);
      expect(dropsLogged()).toBe(0);

      const gotDrop = good.map((n) => nextEvent(n, 'dropped'));
      send(op.dropActive(WAIT_MS));
      await Promise.all(gotDrop);
      for (const n of good) expect(n.hasKey()).toBe(false);
      if (cycle < cycles) expect(dropsLogged()).toBe(0);
    }
    await agent.waitFor(dropLine, { after: testMark });
    // Every push went to all four nodes and was confirmed by the three good ones.
    expect((await Promise.all(replies)).map((r) => [r.nodesConnected, r.nodesConfirmed])).toEqual(replies.map(() => [4, 3]));
    expect(dropsLogged()).toBe(1);
    await eventually('the stuck node is gone', async () => (await agentStatus(e)).serviceClients === 3);
    // Every good node received every key and every drop, in order.
    for (let i = 0; i < good.length; i++) {
      expect(keys[i]).toEqual(uploaded);
      expect(drops[i]).toBe(cycles);
    }
    // Without the stuck node, a reply has nothing to wait out: all three confirm.
    const last = await op.push(WAIT_MS);
    expect(last).toMatchObject({ nodesConnected: 3, nodesConfirmed: 3 });
    stuck.socket.resume(); // now it reads: what it finds is the end of the connection the agent closed
    await stuck.closed;
  });

  // The security review found that one node sent a million CONFIRMs for an unknown seq and slowed status
  // for everyone from 110 ms to 2-3 s. Each push may be confirmed once; anything else is a
  // protocol error, and the first one ends that connection.
  test('a CONFIRM for no push awaiting confirmation (never pushed, or already confirmed) gets ERROR and a disconnect; a real node keeps its key', async () => {
    const agent = await start();
    const held = await op.push();
    const node = startNode(e.serviceSocket, MAINNET, coldVk);
    nodes.push(node);
    await node.waitForKey(10_000);

    const mark = agent.mark();
    // Confirms its KEY, then confirms it again.
    const twice = await handshakeRaw(e.serviceSocket, 'service');
    sockets.push(twice.conn.socket);
    expect(twice.reply.type).toBe('welcome');
    const push = await twice.conn.receive(10_000);
    if (push.type !== 'key') throw new Error(`expected KEY on connect, got ${push.type}`);
    wipeMessage(push);
    await twice.conn.send({ type: 'confirm', seq: push.seq, result: 0 });
    await twice.conn.send({ type: 'confirm', seq: push.seq, result: 0 });
    // Confirms a seq the agent never used (seqs start at 1), and then floods.
    const never = await handshakeRaw(e.serviceSocket, 'service');
    sockets.push(never.conn.socket);
    const first = await never.conn.receive(10_000);
    wipeMessage(first);
    const flood = encodeMessage({ type: 'confirm', seq: 0, result: 0 });
    const burst = Buffer.alloc(flood.length * 10_000);
    for (let i = 0; i < 10_000; i++) burst.set(flood, i * flood.length);
    never.conn.socket.write(burst);

    for (const c of [twice.conn, never.conn]) {
      const err = await c.receive(10_000);
      expect(err).toMatchObject({ type: 'error', code: WIRE_ERROR_CODES.UNEXPECTED_MESSAGE });
      expect((err as { message: string }).message).toMatch(/^CONFIRM for seq \d+, which is not a push awaiting confirmation on this connection$/);
      await expect(c.receive(10_000)).rejects.toBeInstanceOf(Error);
    }
    await agent.waitFor(new RegExp(`service: CONFIRM for no push awaiting confirmation; disconnecting the node node=\\d+ seq=${push.seq}\n`), { after: mark });
    await agent.waitFor(/service: CONFIRM for no push awaiting confirmation; disconnecting the node node=\d+ seq=0\n/, { after: mark });
    // One line each: the flood's other 9,999 frames were never handled.
    expect(agent.stdout.slice(mark.stdout).match(/CONFIRM for no push awaiting confirmation/g)).toHaveLength(2);
    await eventually('only the real node is counted', async () => (await agentStatus(e)).serviceClients === 1);
    expect(node.keyInfo()?.kesVk).toBe(held.kesVkey);
    const gotKey = nextEvent(node, 'key');
    const up = await op.push();
    expect(up).toMatchObject({ nodesConnected: 1, nodesConfirmed: 1 });
    expect((await gotKey).kesVk).toBe(up.kesVkey);
  });

  // Drop the node after a timeout: without a deadline, a node that stops reading
  // after a single push stayed connected for ever (found by this test), was counted in status
  // and in every upload's nodesConnected, and made every upload wait out its --timeout.
  // The agent runs with the test hook's 1-s deadline (production: NODE_CONFIRM_DEADLINE_MS, 10 s;
  // daemon.test.ts checks that a production agent refuses the hook).
  test('a stuck node with one unconfirmed key push is dropped after the confirm deadline', async () => {
    const DEADLINE_MS = 1_000;
    const agent = await start({ [TEST_HOOKS_ENV]: '1', [TEST_CONFIRM_DEADLINE_ENV]: String(DEADLINE_MS) });
    expect(agent.stdout).toMatch(new RegExp(`agent: TEST HOOK in force \\(${TEST_HOOKS_ENV}=1\\): node confirm deadline from ${TEST_CONFIRM_DEADLINE_ENV} deadlineMs=${DEADLINE_MS}\\n`));
    const held = await op.push();
    expect(held).toMatchObject({ nodesConnected: 0 });
    // The stuck node's only push is the KEY it gets on connect.
    const mark = agent.mark();
    const connectedAt = Date.now();
    const stuck = await stuckNode(e.serviceSocket);
    sockets.push(stuck.socket);
    await agent.waitFor(new RegExp(`service: node did not confirm in time; disconnecting it node=\\d+ seq=\\d+ deadlineMs=${DEADLINE_MS}\\n`), { after: mark, timeoutMs: DEADLINE_MS + 15_000 });
    // Not before the deadline (measured from before the connect, so the push was later still).
    expect(Date.now() - connectedAt).toBeGreaterThanOrEqual(DEADLINE_MS);
    expect((await agentStatus(e)).serviceClients).toBe(0);
    stuck.socket.resume();
    await stuck.closed;
  });

  test('agent SIGKILL with a staged and an active key: a kes-node watch process and an in-process node keep their key, reconnect, take a fresh upload', async () => {
    await start();
    const watch = new Proc(BIN.node, ['watch', '--json', '--socket', e.serviceSocket, '--cold-vkey', e.coldVkey], cleanEnv());
    const node = startNode(e.serviceSocket, MAINNET, coldVk);
    nodes.push(node);
    try {
      await connected([node]);
      await watch.waitFor('"event":"connected"');
      await eventually('both nodes counted', async () => (await agentStatus(e)).serviceClients === 2);
      const first = await op.push();
      expect(first.nodesConfirmed).toBe(2);
      await watch.waitFor(new RegExp(`"kesVk":"${first.kesVkey}"[^\\n]*\\n`)); // the whole line: the mark below starts a line
      const stagedVk = await op.stage();

      // Everything the restart causes is awaited from here on: both nodes already heard "no key"
      // once, when they first connected to the empty agent.
      const watchMark = watch.mark();
      const noKey = nextEvent(node, 'noKey', 20_000);
      await e.agent!.stop('SIGKILL');
      await startAgent(e, ['--log-level', 'debug']);
      // The restarted agent has nothing: the staged key and the active key died with it.
      const s = await ctlJson<StatusJson>(e, 'status');
      expect(s.staged).toBeNull();
      expect(s.active).toBeNull();
      expect(JSON.stringify(s)).not.toContain(stagedVk);
      // Both nodes reconnect, hear "no key" and keep theirs, and can still sign with it.
      expect(await noKey).toEqual({ keptKey: true });
      await watch.waitFor(/"event":"noKey"[^\n]*\n/, { after: watchMark, timeoutMs: 20_000 }); // the whole line
      const restartEvents = watch.stdout.slice(watchMark.stdout).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(restartEvents.filter((ev) => ev['event'] === 'noKey')).toEqual([expect.objectContaining({ keptKey: true })]);
      expect(restartEvents.filter((ev) => ev['event'] === 'connected')).toHaveLength(1);
      const sig = node.sign(MESSAGE);
      expect(verifyKes(fromHex(first.kesVkey)!, sig.evolution, MESSAGE, sig.signature)).toBe(true);
      await eventually('both nodes reconnected', async () => (await agentStatus(e)).serviceClients === 2);

      // A fresh key from the restarted agent replaces theirs.
      const gotKey = nextEvent(node, 'key');
      const fresh = await op.push();
      expect(fresh).toMatchObject({ nodesConnected: 2, nodesConfirmed: 2 });
      expect((await gotKey).kesVk).toBe(fresh.kesVkey);
      await watch.waitFor(new RegExp(`"kesVk":"${fresh.kesVkey}"[^\\n]*\\n`)); // the whole line
      const keyEvents = watch.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((ev) => ev['event'] === 'key');
      expect(keyEvents.map((ev) => [ev['kesVk'], ev['replaced']])).toEqual([[first.kesVkey, false], [fresh.kesVkey, true]]);
    } finally {
      await watch.stop();
    }
    expect(watch.stderr).toBe('');
  });
});

describe('a clock jump (in-process daemon, controllable clock, real sockets)', () => {
  const PERIOD = 100; // the KES period "now" at offset 0
  const MAX = 62;
  let dir: string;
  let daemon: Daemon;
  let log = '';
  let offsetMs = 0;
  const now = (): number => Date.now() + offsetMs;
  let timing: ChainTiming;
  let periodMs: number;
  let env: NodeJS.ProcessEnv;
  let controlSocket: string;
  let serviceSocket: string;
  let coldVkFile: string;
  let node: KesNodeClient;

  beforeAll(async () => {
    dir = tempDir('kes-clock-');
    coldVkFile = path.join(dir, 'cold.vkey');
    const cold = ColdSigningKey.generate();
    try {
      writeColdVerificationKeyFile(coldVkFile, cold.verificationKey, { overwrite: false });
      // One-hour periods, period PERIOD just begun: nothing moves unless the test moves the clock.
      const chain = testChain(dir, { periodMs: 3_600_000, maxKESEvolutions: MAX, period: PERIOD });
      timing = chain.timing;
      periodMs = chain.periodMs;
      controlSocket = path.join(dir, 'control.sock');
      serviceSocket = path.join(dir, 'service.sock');
      env = cleanEnv({ KES_AGENT_CONTROL_SOCKET: controlSocket });
      const out = new Writable({ write: (chunk: Buffer, _enc, cb) => { log += chunk.toString('utf8'); cb(); } });
      daemon = await startDaemon({ coldVkFile, timing, controlSocket, serviceSocket, logger: createLogger({ out, level: 'debug', now }), agentVersion: 'faults-test', now });

      // A key at period PERIOD, evolution 0, on one node.
      node = startNode(serviceSocket, timing, cold.verificationKey, now);
      await connected([node]);
      const c = await ControlClient.connect({ socketPath: controlSocket });
      try {
        const { kesVk } = await c.keygen({ force: false });
        await c.importOpcert(issueOpcert({ hotVk: kesVk, counter: 0, kesPeriod: PERIOD, coldSeed: cold.seed }));
        expect(await c.upload({ confirmTimeoutMs: 10_000 })).toMatchObject({ nodesConnected: 1, nodesConfirmed: 1 });
      } finally {
        c.close();
      }
      await node.waitForKey(10_000);
    } finally {
      cold.destroy();
    }
  });
  afterAll(async () => {
    await node?.stop();
    await daemon?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function status(): Promise<StatusJson> {
    const r = await run(BIN.ctl, ['status', '--json'], { env });
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as StatusJson;
  }

  /** What a node connecting now receives: the agent's own key, at the evolution the agent holds. */
  async function agentKeyNow(): Promise<{ evolution: number; raw: Uint8Array; hotVk: Uint8Array } | 'no_key'> {
    const { conn, reply } = await handshakeRaw(serviceSocket, 'service');
    try {
      expect(reply.type).toBe('welcome');
      const m = await conn.receive(10_000);
      if (m.type === 'no_key') return 'no_key';
      expect(m.type).toBe('key');
      const k = m as KeyMessage;
      return { evolution: k.evolution, raw: k.secret, hotVk: k.opcert.hotVk };
    } finally {
      conn.destroy();
    }
  }

  test('a jump over 5 periods: status, the node and the agent\'s key all move to evolution 5; evolutions 0..4 are gone', async () => {
    const before = await status();
    expect(before.currentKesPeriod).toBe(PERIOD);
    expect(before.active).toMatchObject({ startKesPeriod: PERIOD, evolution: 0, periodsRemaining: MAX });
    const vk = fromHex(before.active!.kesVkey)!;

    const mark = log.length;
    offsetMs += 5 * periodMs;
    const after = await status();
    expect(after.currentKesPeriod).toBe(PERIOD + 5);
    expect(after.active).toMatchObject({ kesVkey: before.active!.kesVkey, evolution: 5, periodsRemaining: MAX - 5 });
    expect(log.slice(mark)).toMatch(/agent: key evolved.*evolution.{1,3}5/);

    // The node: its next signature is at evolution 5, and its key says so.
    const sig = node.sign(MESSAGE);
    expect(sig).toMatchObject({ kesPeriod: PERIOD + 5, evolution: 5 });
    expect(verifyKes(vk, 5, MESSAGE, sig.signature)).toBe(true);
    expect(node.keyInfo()?.evolution).toBe(5);

    // The agent's own key: what it serves is the evolution-5 key, and those bytes cannot be read
    // as any earlier evolution (the seeds those needed are erased, docs/kes-construction.md §4.7).
    const served = await agentKeyNow();
    if (served === 'no_key') throw new Error('the agent served NO_KEY after the jump');
    try {
      expect(served.evolution).toBe(5);
      const key = KesSignKey.fromBytes(served.raw, 5, { expectedVk: served.hotVk });
      try {
        expect(verifyKes(vk, 5, MESSAGE, key.sign(MESSAGE))).toBe(true);
      } finally {
        key.destroy();
      }
      for (let t = 0; t < 5; t++) expect(() => KesSignKey.fromBytes(served.raw, t).destroy()).toThrow();
    } finally {
      served.raw.fill(0);
    }
  });

  test('a jump past the end of the opcert window erases the key in the agent and in the node', async () => {
    const dropped = nextEvent(node, 'dropped');
    const mark = log.length;
    offsetMs += MAX * periodMs;
    const s = await status();
    expect(s.currentKesPeriod).toBe(PERIOD + 5 + MAX);
    expect(s.active).toBeNull();
    expect(s.expired).not.toBeNull();
    expect(log.slice(mark)).toContain('agent: key dropped');
    expect(['agent-dropped', 'expired']).toContain((await dropped).reason);
    expect(node.hasKey()).toBe(false);
    expect(() => node.sign(MESSAGE)).toThrow(/expired|no KES key/i);
    expect(await agentKeyNow()).toBe('no_key');
  });
});
