/**
 * The daemon as a process: default socket directory, stale and live sockets, signals, start-up
 * errors. Real processes, real sockets, real files.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { type AgentEnv, ctl, ctlJson, makeAgentEnv, stageAndCertify, startAgent, stopAgentEnv } from '../helpers/agent-env';
import { BIN, cleanEnv, Proc, run } from '../helpers/processes';
import { vectorPath } from '../helpers/vectors';
import { defaultSocketDir } from '../../src/server/socket-paths';
import { MAX_CONTROL_CONNECTIONS } from '../../src/server/limits';

describe('kes-agent run', () => {
  let e: AgentEnv;
  beforeEach(async () => {
    e = await makeAgentEnv();
  });
  afterEach(async () => {
    await stopAgentEnv(e);
  });

  test('SIGTERM and SIGINT: keys wiped, sockets removed, exit 0', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const agent = await startAgent(e);
      await stageAndCertify(e);
      const exit = await agent.stop(signal);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(fs.existsSync(e.controlSocket)).toBe(false);
      expect(fs.existsSync(e.serviceSocket)).toBe(false);
      expect(agent.stdout).toMatch(/agent: stopped; keys wiped, sockets removed/);
      expect(agent.stderr).toBe('');
    }
  });

  test('a stale socket left by a killed agent is replaced; a live one is refused', async () => {
    const first = await startAgent(e);
    const second = await run(BIN.agent, ['run', '--cold-vkey', e.coldVkey], { env: e.env });
    expect(second.code).toBe(EXIT.BAD_INPUT);
    expect(second.stderr).toMatch(/^kes-agent: error: socket .*control\.sock: another agent is listening on it; .*\[SOCKET_IN_USE\]\n$/);
    // The first agent was not disturbed.
    expect((await ctlJson<{ staged: unknown }>(e, 'status')).staged).toBeNull();

    await first.stop('SIGKILL');
    expect(fs.statSync(e.controlSocket).isSocket()).toBe(true); // left behind
    const restarted = await startAgent(e);
    expect(restarted.stderr).toBe('');
    expect((await ctl(e, 'status')).code).toBe(0);
  });

  test('a non-socket file at the socket path is never deleted', async () => {
    fs.writeFileSync(e.controlSocket, 'precious');
    const r = await run(BIN.agent, ['run', '--cold-vkey', e.coldVkey], { env: e.env });
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(r.stderr).toContain('is not a socket; refusing to replace it');
    expect(fs.readFileSync(e.controlSocket, 'utf8')).toBe('precious');
  });

  test('default sockets live in a 0750 directory the agent creates', async () => {
    // As root the default is /run/kes-agent (systemd's RuntimeDirectory); otherwise under
    // XDG_RUNTIME_DIR. Either way it must be created 0750, and kes-ctl must find it.
    const runtime = path.join(e.dir, 'runtime');
    fs.mkdirSync(runtime, { mode: 0o700 });
    const env = cleanEnv({ XDG_RUNTIME_DIR: runtime });
    const dir = defaultSocketDir(env);
    if (fs.existsSync(dir)) {
      console.warn(`skipping: ${dir} already exists (an agent may be installed here)`);
      return;
    }
    const agent = new Proc(BIN.agent, ['run', '--cold-vkey', e.coldVkey], env);
    try {
      await agent.waitFor('agent: started');
      expect(fs.statSync(dir).mode & 0o777).toBe(0o750);
      expect(fs.statSync(path.join(dir, 'control.sock')).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.join(dir, 'service.sock')).mode & 0o777).toBe(0o660);
      const r = await run(BIN.ctl, ['status', '--json'], { env });
      expect(r.code).toBe(0);
    } finally {
      await agent.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('flags beat environment variables for socket paths', async () => {
    const flagged = path.join(e.dir, 'flag-control.sock');
    const agent = new Proc(BIN.agent, ['run', '--cold-vkey', e.coldVkey, '--control-socket', flagged], e.env);
    try {
      await agent.waitFor('agent: started');
      expect(fs.statSync(flagged).isSocket()).toBe(true);
      expect(fs.existsSync(e.controlSocket)).toBe(false);
      expect(fs.statSync(e.serviceSocket).isSocket()).toBe(true); // from the env var
      expect((await run(BIN.ctl, ['status', '--socket', flagged], { env: e.env })).code).toBe(0);
    } finally {
      await agent.stop();
    }
  });

  test.each([
    [['run'], EXIT.USAGE, /--cold-vkey/],
    [['run', '--cold-vkey', 'nope.vkey'], EXIT.BAD_INPUT, /nope\.vkey/],
    [['run', '--cold-vkey', vectorPath('cardano-cli', 'kes.vkey')], EXIT.BAD_INPUT, /StakePoolVerificationKey_ed25519/],
    [['run', '--cold-vkey', vectorPath('cardano-cli', 'cold.vkey'), '--network', 'mainnet', '--genesis', 'x.json'], EXIT.USAGE, /mutually exclusive/],
    [['run', '--cold-vkey', vectorPath('cardano-cli', 'cold.vkey'), '--network', 'testnet'], EXIT.USAGE, /unknown network/],
    [['run', '--cold-vkey', vectorPath('cardano-cli', 'cold.vkey'), '--genesis', vectorPath('genesis', 'mainnet-shelley-genesis.json')], EXIT.BAD_INPUT, /use --network mainnet/],
    [['run', '--cold-vkey', vectorPath('cardano-cli', 'cold.vkey'), '--log-level', 'chatty'], EXIT.USAGE, /--log-level/],
  ])('bad start-up %j: one line on stderr, exit %i, nothing left behind', async (args, code, pattern) => {
    const r = await run(BIN.agent, args, { env: e.env });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fs.existsSync(e.controlSocket)).toBe(false);
  });

  test('refuses to run under an inspector flag in NODE_OPTIONS', async () => {
    const r = await run(BIN.agent, ['run', '--cold-vkey', e.coldVkey], { env: { ...e.env, NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' } });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('refusing to run with --heapsnapshot-signal');
  });

  test('a client speaking garbage gets an error and the agent carries on', async () => {
    await startAgent(e);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect(e.controlSocket);
      const chunks: Buffer[] = [];
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
      s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    });
    // An ERROR frame (kind 0x7f) with FRAME_TOO_LARGE (6).
    expect(reply[4]).toBe(0x7f);
    expect(reply.readUInt16LE(5)).toBe(6);
    expect((await ctl(e, 'status')).code).toBe(0);
  });

  test('connections over the control limit are turned away with BUSY; the agent carries on', async () => {
    await startAgent(e);
    const idle: net.Socket[] = [];
    try {
      for (let i = 0; i < MAX_CONTROL_CONNECTIONS; i++) {
        idle.push(await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(e.controlSocket, () => resolve(s));
          s.on('error', reject);
        }));
      }
      const r = await ctl(e, 'status');
      expect(r.code).toBe(EXIT.UNREACHABLE);
      expect(r.stderr).toContain('BUSY');
    } finally {
      for (const s of idle) s.destroy();
    }
    // Once the idle connections are gone, service resumes.
    await new Promise((r) => setTimeout(r, 100));
    expect((await ctl(e, 'status')).code).toBe(0);
    expect(e.agent!.stdout).toContain('control: connection limit reached');
  });

  test('a node on the control socket is told it is the wrong socket', async () => {
    await startAgent(e);
    const r = await run(BIN.ctl, ['status', '--socket', e.serviceSocket], { env: e.env });
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toMatch(/PROTOCOL_MISMATCH|service/);
  });
});
