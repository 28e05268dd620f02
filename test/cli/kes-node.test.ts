/**
 * kes-node, the BUILT binary (`npm run build` first), against a scripted agent on a real socket
 * with real keys: what an operator sees.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeColdVerificationKeyFile } from '../../src/cardano';
import { fromHex } from '../../src/crypto/bytes';
import { verifyKes } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { EXIT } from '../../src/cli/exit-codes';
import { WIRE_ERROR_CODES, type ConfirmMessage } from '../../src/protocol';
import type { ChainTiming } from '../../src/time';
import { FakeAgent, coldVkOf, makeBundle, type FakeConnection, type TestBundle } from '../helpers/fake-agent';
import { itAsOtherUser, otherUser } from '../helpers/other-user';
import { BIN, Proc, cleanEnv, run, tempDir, type RunResult } from '../helpers/processes';
import { SPAWN_MS_LOADED, TIMING_MARGIN, testChain } from '../helpers/test-chain';

const COLD = 9;
const OTHER_COLD = 10;
/** 1-hour KES periods; period 100 begins as the file starts: no boundary is crossed during it. */
const KP = 100;
const PERIOD_MS = 3600 * 1000;
/**
 * --timeout for the runs that end by it (unreachable agent, no usable key): what must happen
 * before it expires (a connect attempt, a handshake, a KEY or NO_KEY) takes less than one whole
 * spawn, so a loaded spawn with the usual margin keeps the outcome independent of the machine.
 */
const WAIT_MS = SPAWN_MS_LOADED * TIMING_MARGIN;
const isRoot = process.getuid?.() === 0;
/** Root passes every file-mode check: the denied client runs as nobody, from a copy it can read. */
const stranger = otherUser();

let dir: string;
let genesisFile: string;
let genesisName: string;
let coldVkeyFile: string;
let messageFile: string;
let timing: ChainTiming;
let agent: FakeAgent;
const bundles: TestBundle[] = [];
const MESSAGE = new TextEncoder().encode('a block header body, more or less');

beforeAll(async () => {
  await loadSodium();
  if (!fs.existsSync(BIN.node)) throw new Error(`${BIN.node} is missing: run npm run build first`);
  dir = tempDir('kes-node-cli-');
  fs.chmodSync(dir, 0o755); // the permission test runs a child as another user
  const chain = testChain(dir, { periodMs: PERIOD_MS, maxKESEvolutions: 62, period: KP });
  genesisFile = chain.file;
  genesisName = path.basename(genesisFile);
  timing = chain.timing;
  coldVkeyFile = path.join(dir, 'cold.vkey');
  writeColdVerificationKeyFile(coldVkeyFile, coldVkOf(COLD), { overwrite: false });
  messageFile = path.join(dir, 'header.bin');
  fs.writeFileSync(messageFile, MESSAGE);
  for (const f of [genesisFile, messageFile]) fs.chmodSync(f, 0o644); // read by that child too
});

afterAll(() => {
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  agent = await FakeAgent.start();
});

afterEach(async () => {
  await agent.dispose();
  for (const b of bundles.splice(0)) b.key.destroy();
});

function bundle(args: { kesFill: number; counter: number; kesPeriod: number; coldFill?: number }): TestBundle {
  const b = makeBundle({ coldFill: COLD, ...args });
  bundles.push(b);
  return b;
}

/** Handshake, one KEY, collect its CONFIRM, wait for the close. */
function serveKey(b: TestBundle): Promise<ConfirmMessage> {
  let resolve!: (m: ConfirmMessage) => void;
  const confirmed = new Promise<ConfirmMessage>((r) => (resolve = r));
  agent.script = async (c: FakeConnection) => {
    await c.handshake();
    await c.sendKey(1, b);
    resolve(await c.expectConfirm(1));
    await c.closed();
  };
  return confirmed;
}

function kesNode(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<RunResult> {
  return run(BIN.node, args, { env });
}

function expectOneStderrLine(r: RunResult, pattern: RegExp): void {
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('kes-node --help / --version', () => {
  it('--help lists both commands; --version names the binary', async () => {
    const help = await kesNode(['--help']);
    expect(help.code).toBe(EXIT.OK);
    expect(help.stdout).toContain('kes-node watch');
    expect(help.stdout).toContain('kes-node sign');
    const signHelp = await kesNode(['sign', '--help']);
    expect(signHelp.code).toBe(EXIT.OK);
    expect(signHelp.stdout).toContain('--timeout');
    expect(signHelp.stdout).toContain('KES_AGENT_SERVICE_SOCKET');
    const version = await kesNode(['--version']);
    expect(version).toMatchObject({ code: EXIT.OK, stderr: '' });
    expect(version.stdout).toMatch(/^kes-node \d+\.\d+\.\d+\n$/);
  });

  it('--network with --genesis is a usage error (exit 2, one line)', async () => {
    const r = await kesNode(['sign', '--message', messageFile, '--network', 'preview', '--genesis', genesisFile]);
    expect(r.code).toBe(EXIT.USAGE);
    expectOneStderrLine(r, /mutually exclusive/);
  });
});

describe('kes-node sign', () => {
  it('--json: signs at the current period; the signature verifies at the printed evolution', async () => {
    const b = bundle({ kesFill: 1, counter: 5, kesPeriod: KP - 4 });
    const confirmed = serveKey(b);
    const r = await kesNode(['sign', '--message', messageFile, '--json', '--socket', agent.socketPath, '--genesis', genesisFile, '--cold-vkey', coldVkeyFile]);
    expect(r).toMatchObject({ code: EXIT.OK, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['ok', 'kesPeriod', 'evolution', 'kesVkey', 'signature']);
    expect(out).toMatchObject({ kesPeriod: KP, evolution: 4, kesVkey: Buffer.from(b.opcert.hotVk).toString('hex') });
    const sig = fromHex(out['signature'] as string)!;
    expect(verifyKes(b.opcert.hotVk, 4, MESSAGE, sig)).toBe(true);
    expect((await confirmed).result).toBe(0);
    expect(timing.maxKESEvolutions).toBe(62);
  });

  it('without --json prints a readable block; the socket can come from KES_AGENT_SERVICE_SOCKET', async () => {
    const b = bundle({ kesFill: 2, counter: 1, kesPeriod: KP });
    serveKey(b);
    const r = await kesNode(['sign', '--message', messageFile, '--genesis', genesisFile], cleanEnv({ KES_AGENT_SERVICE_SOCKET: agent.socketPath }));
    expect(r).toMatchObject({ code: EXIT.OK, stderr: '' });
    expect(r.stdout).toMatch(/^KES period: {2}100$/m);
    expect(r.stdout).toMatch(/^evolution: {3}0 \(opcert counter 1, start KES period 100\)$/m);
    const sigHex = /^signature: {3}([0-9a-f]+)$/m.exec(r.stdout)![1]!;
    expect(verifyKes(b.opcert.hotVk, 0, MESSAGE, fromHex(sigHex)!)).toBe(true);
  });

  it('no agent: exit 5 within the timeout, one stderr line naming the socket and "no such socket file"', async () => {
    await agent.stop();
    const r = await kesNode(['sign', '--message', messageFile, '--socket', agent.socketPath, '--genesis', genesisFile, '--timeout', String(WAIT_MS)]);
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stdout).toBe('');
    expectOneStderrLine(r, new RegExp(`^kes-node: error: could not reach the agent within ${WAIT_MS} ms: ${agent.socketPath}: no such socket file.*\\[AGENT_SOCKET_MISSING\\]$`, 'm'));
  });

  it('a stale socket file: exit 5, "nothing is listening"', async () => {
    const stale = path.join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.stdout.write('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const r = await kesNode(['sign', '--message', messageFile, '--socket', stale, '--genesis', genesisFile, '--timeout', String(WAIT_MS)]);
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expectOneStderrLine(r, /stale\.sock: connection refused: nothing is listening.*\[AGENT_UNREACHABLE\]/);
  });

  (isRoot ? itAsOtherUser : it)('permission denied on the socket: exit 5, AGENT_SOCKET_DENIED', async () => {
    const args = ['sign', '--message', messageFile, '--socket', agent.socketPath, '--genesis', genesisFile, '--timeout', String(WAIT_MS)];
    let r: RunResult;
    if (isRoot) {
      // root passes every permission check: run kes-node as nobody against root's 0600 socket.
      fs.chmodSync(agent.dir, 0o755);
      fs.chmodSync(agent.socketPath, 0o600);
      r = await stranger.run([stranger.bin('node'), ...args]);
    } else {
      fs.chmodSync(agent.socketPath, 0o000);
      r = await kesNode(args);
    }
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expectOneStderrLine(r, /service\.sock: permission denied.*the service socket needs the agent.s group\) \[AGENT_SOCKET_DENIED\]/);
    expect(agent.connections).toHaveLength(0);
  });

  it('a key refused by the node (another pool\'s cold key): exit 4 at once (not after --timeout), and the agent got NODE_OPCERT_INVALID', async () => {
    const b = bundle({ kesFill: 3, counter: 1, kesPeriod: KP, coldFill: OTHER_COLD });
    const confirmed = serveKey(b);
    // An hour's --timeout: exit 4 can only come from the mismatch, since waiting would end in 7.
    const r = await kesNode(['sign', '--message', messageFile, '--socket', agent.socketPath, '--genesis', genesisFile, '--cold-vkey', coldVkeyFile, '--timeout', '3600000']);
    expect(r.code).toBe(EXIT.INVALID);
    expect(r.stdout).toBe('');
    expectOneStderrLine(r, /^kes-node: error: cold key mismatch: the opcert was issued by cold key [0-9a-f]{64}, not by this node's cold key [0-9a-f]{64} \(--cold-vkey .*cold\.vkey\) \[OPCERT_WRONG_COLD_KEY\]$/m);
    expect((await confirmed).result).toBe(WIRE_ERROR_CODES.NODE_OPCERT_INVALID);
  });

  it('an agent without a key: exit 7, "the agent has no active key"', async () => {
    agent.script = async (c) => {
      await c.handshake();
      await c.sendNoKey(1);
      await c.expectConfirm(1);
      await c.closed();
    };
    const r = await kesNode(['sign', '--message', messageFile, '--socket', agent.socketPath, '--genesis', genesisFile, '--timeout', String(WAIT_MS)]);
    expect(r.code).toBe(EXIT.TIMEOUT);
    expectOneStderrLine(r, /the agent has no active key \[TIMEOUT\]/);
  });

  it('a missing message file: exit 3 before connecting', async () => {
    const r = await kesNode(['sign', '--message', path.join(dir, 'nope.bin'), '--socket', agent.socketPath, '--genesis', genesisFile]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expectOneStderrLine(r, /nope\.bin: no such file \[FILE_UNREADABLE\]/);
    expect(agent.connections).toHaveLength(0);
  });
});

describe('kes-node watch', () => {
  it('--json: one object per event until SIGTERM, then exit 0', async () => {
    const good = bundle({ kesFill: 4, counter: 2, kesPeriod: KP - 1 });
    const foreign = bundle({ kesFill: 5, counter: 3, kesPeriod: KP, coldFill: OTHER_COLD });
    const results: number[] = [];
    agent.script = async (c) => {
      if (c.index > 0) return c.closed();
      await c.handshake();
      await c.sendKey(1, good);
      results.push((await c.expectConfirm(1)).result);
      await c.sendKey(2, foreign);
      results.push((await c.expectConfirm(2)).result);
      await c.sendKeyDropped(3);
      results.push((await c.expectConfirm(3)).result);
      c.close();
    };
    const proc = new Proc(BIN.node, ['watch', '--json', '--socket', agent.socketPath, '--genesis', genesisFile, '--cold-vkey', coldVkeyFile]);
    try {
      await proc.waitFor('"event":"dropped"');
      await proc.waitFor('"event":"disconnected"');
    } finally {
      expect(await proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
    expect(proc.stderr).toBe('');
    expect(results).toEqual([0, WIRE_ERROR_CODES.NODE_OPCERT_INVALID, 0]);
    const events = proc.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of events) expect(typeof e['time']).toBe('string');
    const names = events.map((e) => e['event']);
    expect(names.slice(0, 6)).toEqual(['watching', 'connected', 'key', 'rejected', 'dropped', 'disconnected']);
    expect(names[names.length - 1]).toBe('stopped');
    expect(events[0]).toMatchObject({ socket: agent.socketPath, network: `genesis:${genesisName}`, kesPeriod: KP });
    expect(events[2]).toMatchObject({ kesVk: Buffer.from(good.opcert.hotVk).toString('hex'), counter: 2, startKesPeriod: KP - 1, evolution: 1, replaced: false });
    expect(events[3]).toMatchObject({ code: 'NODE_OPCERT_INVALID' });
    expect(events[4]).toMatchObject({ reason: 'agent-dropped' });
    expect(events[5]).toMatchObject({ code: 'AGENT_CONNECTION_LOST', willRetryInMs: 100 });
    expect(events[events.length - 1]).toMatchObject({ signal: 'SIGTERM' });
  });

  it('text: an agent without a key says so', async () => {
    agent.script = async (c) => {
      await c.handshake();
      await c.sendNoKey(1);
      await c.expectConfirm(1);
      await c.closed();
    };
    const proc = new Proc(BIN.node, ['watch', '--socket', agent.socketPath, '--genesis', genesisFile]);
    try {
      await proc.waitFor('no active key');
    } finally {
      expect(await proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
    expect(proc.stdout).toMatch(/Z connected: agent fake-agent 0\.0\.0, protocol 2\n\S+Z the agent has no active key\n/);
  });

  it('text: a readable line per event; an unreachable agent is visible at once', async () => {
    await agent.stop();
    const proc = new Proc(BIN.node, ['watch', '--socket', agent.socketPath, '--genesis', genesisFile]);
    try {
      await proc.waitFor('disconnected:');
    } finally {
      expect(await proc.stop('SIGINT')).toEqual({ code: 0, signal: null });
    }
    const lines = proc.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^\\S+Z watching ${agent.socketPath} \\(network genesis:${genesisName.replace('.', '\\.')}, KES period ${KP}\\)$`));
    expect(lines[1]).toMatch(/disconnected: .*service\.sock: no such socket file.*\[AGENT_SOCKET_MISSING\]; retrying in 0\.1 s$/);
    expect(lines[lines.length - 1]).toMatch(/stopped \(SIGINT\); key wiped$/);
  });
});
