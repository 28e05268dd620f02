/**
 * Push: one push to many nodes, one tracker and one deadline for all of them, held by whoever
 * caused it. Sessions over real Unix sockets (the push never writes: the hub does).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { FramedSocket } from '../../src/protocol/framed-socket';
import { NativeNodeSession } from '../../src/server/node-session';
import { Push } from '../../src/server/push';
import { tempDir } from '../helpers/processes';

/** `n` node sessions, each on the agent's end of a real connection. */
async function sessions(n: number): Promise<{ nodes: NativeNodeSession[]; close: () => void }> {
  const dir = tempDir('kes-push-');
  const sock = path.join(dir, 's.sock');
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(sock, r));
  const peers: net.Socket[] = [];
  for (let i = 0; i < n; i++) peers.push(await new Promise<net.Socket>((r) => { const c = net.connect(sock, () => r(c)); }));
  while (accepted.length < n) await new Promise((r) => setTimeout(r, 5));
  server.close();
  const nodes = accepted.map((s, i) => new NativeNodeSession(i + 1, new FramedSocket(s, { receivesSecrets: false })));
  return {
    nodes,
    close: () => {
      for (const s of [...accepted, ...peers]) s.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('the outcome is ready as soon as every node has answered, long before the caller\'s timeout', async () => {
  const { nodes, close } = await sessions(3);
  try {
    const push = new Push(7, 'key', 1n);
    for (const s of nodes) push.expect(s);
    push.arm(60_000, () => { throw new Error('no node is late'); });
    expect(nodes[0]!.settle(7, true)).toBe(true);
    expect(nodes[1]!.settle(7, false)).toBe(true); // refused: connected, not confirmed
    expect(nodes[1]!.settle(7, true)).toBe(false); // each node answers a push once
    expect(nodes[2]!.settle(8, true)).toBe(false); // no push 8 on this node
    const started = Date.now();
    const waiting = push.outcome(60_000);
    expect(nodes[2]!.settle(7, true)).toBe(true);
    expect(await waiting).toEqual({ nodesConnected: 3, nodesConfirmed: 2 });
    expect(Date.now() - started).toBeLessThan(30_000);
    for (const s of nodes) expect(s.pending.size).toBe(0);
  } finally {
    close();
  }
});

test('one deadline for the push: the nodes that have not answered are settled unconfirmed and handed over once', async () => {
  const { nodes, close } = await sessions(3);
  try {
    const push = new Push(1, 'drop', 5n);
    for (const s of nodes) push.expect(s);
    push.countUnreachable(); // a node that could not be sent this push: counted, never confirmed
    const late: number[] = [];
    const deadlineMs = 50;
    push.arm(deadlineMs, (s) => late.push(s.id));
    nodes[1]!.settle(1, true);
    const outcome = await push.outcome(60_000); // settles through the deadline, not the timeout
    expect(outcome).toEqual({ nodesConnected: 4, nodesConfirmed: 1 });
    expect(late.sort()).toEqual([1, 3]);
    expect(nodes[0]!.settle(1, true)).toBe(false); // too late: already settled unconfirmed
  } finally {
    close();
  }
});

test('a push keeps its own outcome while later pushes go to the same nodes; a node that goes away settles what it had', async () => {
  const { nodes, close } = await sessions(2);
  try {
    const first = new Push(1, 'key', 1n);
    const second = new Push(2, 'key', 2n);
    for (const p of [first, second]) {
      for (const s of nodes) p.expect(s);
      p.arm(60_000, () => undefined);
    }
    nodes[0]!.settle(2, true);
    nodes[1]!.settle(1, true);
    nodes[0]!.abandon(); // disconnected: its push 1 is settled unconfirmed
    nodes[1]!.settle(2, true);
    expect(await first.outcome(60_000)).toEqual({ nodesConnected: 2, nodesConfirmed: 1 });
    expect(await second.outcome(60_000)).toEqual({ nodesConnected: 2, nodesConfirmed: 2 });
  } finally {
    close();
  }
});

test('a caller\'s timeout reports the counts so far, and a push to no node is settled at once', async () => {
  const { nodes, close } = await sessions(1);
  try {
    const push = new Push(3, 'key', 1n);
    push.expect(nodes[0]!);
    push.arm(60_000, () => undefined);
    expect(await push.outcome(20)).toEqual({ nodesConnected: 1, nodesConfirmed: 0 });
    nodes[0]!.abandon();
    const none = new Push(4, 'none', 0n);
    none.arm(60_000, () => undefined);
    expect(await none.outcome(60_000)).toEqual({ nodesConnected: 0, nodesConfirmed: 0 });
  } finally {
    close();
  }
});
