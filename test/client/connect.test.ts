/**
 * connectToAgent against real Unix sockets: every failure has its own code and a message naming
 * the socket path (it happened to the dingo node's agent client: a wrong socket path must not be invisible).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { encodeOffer } from '../../src/protocol/haskell';
import { offeredIds } from '../../src/server/version-negotiation';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectToAgent } from '../../src/client/connect';
import { loadSodium } from '../../src/crypto/sodium';
import { KesError, type ErrorCode } from '../../src/errors';
import { encodeMessage, PROTOCOL_VERSION } from '../../src/protocol';
import { MAX_SOCKET_PATH_BYTES } from '../../src/platform/socket-paths';
import { FAKE_AGENT_VERSION, FakeAgent } from '../helpers/fake-agent';

let dir: string;
const agents: FakeAgent[] = [];

beforeAll(async () => {
  await loadSodium();
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-connect-'));
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function startAgent(): Promise<FakeAgent> {
  const a = await FakeAgent.start();
  agents.push(a);
  return a;
}

async function failure(p: Promise<unknown>): Promise<KesError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KesError) return e;
    throw e;
  }
  throw new Error('expected the connection to fail');
}

async function expectCode(p: Promise<unknown>, code: ErrorCode, mentions: RegExp): Promise<KesError> {
  const e = await failure(p);
  expect(e.code).toBe(code);
  expect(e.message).toMatch(mentions);
  return e;
}

describe('connectToAgent', () => {
  it('completes the service handshake and reports the negotiated version and the agent version', async () => {
    const agent = await startAgent();
    agent.script = async (c) => {
      await c.handshake();
      await c.closed();
    };
    const conn = await connectToAgent({ socketPath: agent.socketPath, role: 'service' });
    expect(conn.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(conn.agentVersion).toBe(FAKE_AGENT_VERSION);
    expect(conn.socketPath).toBe(agent.socketPath);
    conn.framed.destroy();
  });

  it('no socket file: AGENT_SOCKET_MISSING naming the path', async () => {
    const p = path.join(dir, 'service.sock');
    const e = await expectCode(connectToAgent({ socketPath: p, role: 'service' }), 'AGENT_SOCKET_MISSING', /no such socket file/);
    expect(e.message.startsWith(p)).toBe(true);
  });

  it('a missing directory is reported as a missing socket too', async () => {
    await expectCode(connectToAgent({ socketPath: path.join(dir, 'nope', 'service.sock'), role: 'service' }), 'AGENT_SOCKET_MISSING', /nope/);
  });

  it('a regular file at the path: AGENT_UNREACHABLE, "not a socket"', async () => {
    const p = path.join(dir, 'service.sock');
    fs.writeFileSync(p, 'not a socket');
    await expectCode(connectToAgent({ socketPath: p, role: 'service' }), 'AGENT_UNREACHABLE', /not a socket/);
  });

  it('a stale socket left by a killed agent: AGENT_UNREACHABLE, "nothing is listening"', async () => {
    const p = path.join(dir, 'service.sock');
    // A real process that listens and is then SIGKILLed: nothing unlinks its socket file.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => process.stdout.write('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(fs.lstatSync(p).isSocket()).toBe(true);
    await expectCode(connectToAgent({ socketPath: p, role: 'service' }), 'AGENT_UNREACHABLE', /connection refused: nothing is listening/);
  });

  it('a path longer than sun_path: SOCKET_PATH_TOO_LONG before any syscall', async () => {
    const p = path.join(dir, 'x'.repeat(MAX_SOCKET_PATH_BYTES));
    await expectCode(connectToAgent({ socketPath: p, role: 'service' }), 'SOCKET_PATH_TOO_LONG', /longer than a Unix socket path/);
  });

  it('an empty path or one with NUL is a programming error', async () => {
    await expectCode(connectToAgent({ socketPath: '', role: 'service' }), 'INVALID_ARGUMENT', /non-empty/);
    await expectCode(connectToAgent({ socketPath: 'a\0b', role: 'service' }), 'INVALID_ARGUMENT', /NUL/);
  });

  it('the agent refuses the version: AGENT_HANDSHAKE_FAILED with the code and the agent\'s own words', async () => {
    const agent = await startAgent();
    agent.script = (c) => c.refuseHandshake('VERSION_MISMATCH', 'no common protocol version: the client offered 1; this agent speaks 2');
    const e = await expectCode(connectToAgent({ socketPath: agent.socketPath, role: 'service' }), 'AGENT_HANDSHAKE_FAILED', /VERSION_MISMATCH/);
    expect(e.message).toContain('this agent speaks 2');
    expect(e.message).toContain('upgrade');
  });

  it('a node on the control socket: the offer has no service id; AGENT_HANDSHAKE_FAILED with a hint to check the socket', async () => {
    const p = path.join(dir, 'control.sock');
    // What the real agent's control socket sends first: its offer (spec/protocol.md §4).
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.resume().write(encodeOffer(offeredIds('control')));
    });
    await new Promise<void>((resolve) => server.listen(p, resolve));
    try {
      await expectCode(connectToAgent({ socketPath: p, role: 'service' }), 'AGENT_HANDSHAKE_FAILED', /does not offer kes-agent\/service:2 \(it offers Control:3\.0, .*kes-agent\/control:2\); this is the agent's control socket, not its service socket/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a WELCOME for the other protocol is refused', async () => {
    const agent = await startAgent();
    agent.script = async (c) => {
      await c.framed.send({ type: 'welcome', protocol: 'kes-agent/control', version: 2, agentVersion: 'x' });
      await c.closed();
    };
    await expectCode(connectToAgent({ socketPath: agent.socketPath, role: 'service' }), 'AGENT_HANDSHAKE_FAILED', /another protocol/);
  });

  it('an agent that stays silent: AGENT_HANDSHAKE_TIMEOUT', async () => {
    const agent = await startAgent();
    agent.script = (c) => c.closed();
    await expectCode(connectToAgent({ socketPath: agent.socketPath, role: 'service', handshakeTimeoutMs: 100 }), 'AGENT_HANDSHAKE_TIMEOUT', /within 100 ms/);
  });

  it('an agent that closes instead of sending WELCOME: AGENT_HANDSHAKE_FAILED', async () => {
    const agent = await startAgent();
    agent.script = async (c) => {
      c.close();
    };
    await expectCode(connectToAgent({ socketPath: agent.socketPath, role: 'service' }), 'AGENT_HANDSHAKE_FAILED', /closed the connection during/);
  });

  it('something that is not kes-agent (garbage bytes): AGENT_HANDSHAKE_FAILED', async () => {
    const p = path.join(dir, 'http.sock');
    const server = net.createServer((s) => s.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => server.listen(p, resolve));
    try {
      await expectCode(connectToAgent({ socketPath: p, role: 'service' }), 'AGENT_HANDSHAKE_FAILED', /first bytes are not a version offer; is this a kes-agent socket\?/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a silent listener that never offers a version is not called an agent', async () => {
    const p = path.join(dir, 'silent.sock');
    const server = net.createServer((s) => s.resume());
    await new Promise<void>((resolve) => server.listen(p, resolve));
    try {
      const e = await connectToAgent({ socketPath: p, role: 'service', handshakeTimeoutMs: 100 }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toMatchObject({ code: 'AGENT_HANDSHAKE_TIMEOUT' });
      expect((e as Error).message).toBe(`${p}: something is listening, but it sent no version offer within 100 ms (a kes-agent sends one at once; a stuck agent, or not a kes-agent socket?)`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a reply that is a valid message but not WELCOME: AGENT_HANDSHAKE_FAILED', async () => {
    const agent = await startAgent();
    agent.script = async (c) => {
      c.writeRaw(encodeMessage({ type: 'no_key', seq: 1 }));
      await c.closed();
    };
    await expectCode(connectToAgent({ socketPath: agent.socketPath, role: 'service' }), 'AGENT_HANDSHAKE_FAILED', /expected WELCOME/);
  });

  it('aborting abandons the attempt with CLIENT_STOPPED', async () => {
    const agent = await startAgent();
    agent.script = (c) => c.closed();
    const ac = new AbortController();
    const p = connectToAgent({ socketPath: agent.socketPath, role: 'service', signal: ac.signal });
    await agent.nextConnection();
    ac.abort();
    await expectCode(p, 'CLIENT_STOPPED', /stopped/);
    await expectCode(connectToAgent({ socketPath: agent.socketPath, role: 'service', signal: ac.signal }), 'CLIENT_STOPPED', /stopped/);
  });
});
