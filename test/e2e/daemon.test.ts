/**
 * The daemon as a process: default socket directory, stale and live sockets, signals, start-up
 * errors. Real processes, real sockets, real files.
 *
 * Start-ups that must fail run together (they are independent one-shot processes, each with its
 * own socket paths); the tests that need a running agent but leave it as they found it share
 * one; the tests about an agent's own life (signals, stale sockets) each start their own.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { nativeAccept } from '../../src/protocol';
import { offeredIds } from '../../src/server/version-negotiation';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { type AgentEnv, ctl, startAgent, stopAgentEnv } from '../helpers/agent-env';
import { BIN, cleanEnv, Proc, run, tempDir, type RunResult } from '../helpers/processes';
import { eventually } from '../helpers/eventually';
import { vectorPath } from '../helpers/vectors';
import { defaultSocketDir } from '../../src/platform/socket-paths';
import { MAX_CONTROL_CONNECTIONS, NODE_CONFIRM_DEADLINE_MS, TEST_CONFIRM_DEADLINE_ENV, TEST_HOOKS_ENV, nodeConfirmDeadline } from '../../src/server/limits';
import { makeTestGenesis } from '../helpers/test-genesis';

/** A valid cold verification key that needs no keygen (the agent only reads it). */
const COLD_VKEY = vectorPath('cardano-cli', 'cold.vkey');

/** Run `tasks` with at most `limit` at a time (one-shot processes on a 2-core machine). */
async function inParallel<T>(tasks: (() => Promise<T>)[], limit = 4): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * An AgentEnv for tests that never use the cold signing key: the cold vkey is the shared vector
 * (the agent only reads it), so no kes-cold keygen process per agent.
 */
function lightEnv(): AgentEnv {
  const dir = tempDir('kes-e2e-');
  const controlSocket = path.join(dir, 'control.sock');
  const serviceSocket = path.join(dir, 'service.sock');
  return {
    dir,
    controlSocket,
    serviceSocket,
    coldVkey: COLD_VKEY,
    coldSkey: path.join(dir, 'no-cold.skey'),
    counter: path.join(dir, 'no-cold.counter'),
    env: cleanEnv({ KES_AGENT_CONTROL_SOCKET: controlSocket, KES_AGENT_SERVICE_SOCKET: serviceSocket }),
    agent: undefined,
    timingArgs: [],
  };
}

describe('kes-agent run: an agent\'s own life', () => {
  const envs: AgentEnv[] = [];
  const fresh = (): AgentEnv => {
    const e = lightEnv();
    envs.push(e);
    return e;
  };
  afterEach(async () => {
    await Promise.all(envs.splice(0).map((e) => stopAgentEnv(e)));
  });

  test('SIGTERM and SIGINT: keys wiped, sockets removed, exit 0', async () => {
    // One agent per signal, side by side.
    await Promise.all((['SIGTERM', 'SIGINT'] as const).map(async (signal) => {
      const e = fresh();
      const agent = await startAgent(e);
      expect((await ctl(e, 'keygen')).code).toBe(0); // a key to wipe
      const exit = await agent.stop(signal);
      expect({ signal, exit }).toEqual({ signal, exit: { code: 0, signal: null } });
      expect(fs.existsSync(e.controlSocket)).toBe(false);
      expect(fs.existsSync(e.serviceSocket)).toBe(false);
      expect(agent.stdout).toMatch(/agent: stopped; keys wiped, sockets removed/);
      expect(agent.stderr).toBe('');
    }));
  });

  test('a stale socket left by a killed agent is replaced; a live one is refused', async () => {
    const e = fresh();
    const first = await startAgent(e);
    const second = await run(BIN.agent, ['run', '--cold-vkey', e.coldVkey], { env: e.env });
    expect(second.code).toBe(EXIT.BAD_INPUT);
    expect(second.stderr).toMatch(/^kes-agent: error: socket .*control\.sock: a kes-agent is already listening on it \(it offered Control:3\.0, .*kes-agent\/control:2\); stop it first .*\[SOCKET_IN_USE\]\n$/);
    // The first agent was not disturbed.
    expect(first.child.exitCode).toBeNull();
    expect((await ctl(e, 'status')).code).toBe(0);

    await first.stop('SIGKILL');
    expect(fs.statSync(e.controlSocket).isSocket()).toBe(true); // left behind
    const restarted = await startAgent(e);
    expect(restarted.stderr).toBe('');
    expect((await ctl(e, 'status')).code).toBe(0);
  });

  test('a listener that is not a kes-agent is called what it is: "something is already listening"', async () => {
    const e = fresh();
    const other = net.createServer((c) => c.end());
    await new Promise<void>((resolve) => other.listen(e.controlSocket, resolve));
    try {
      const r = await run(BIN.agent, ['run', '--cold-vkey', e.coldVkey], { env: e.env });
      expect(r.code).toBe(EXIT.BAD_INPUT);
      expect(r.stderr).toMatch(/^kes-agent: error: socket .*control\.sock: something is already listening on it \(it did not answer as a kes-agent\); stop it first .*\[SOCKET_IN_USE\]\n$/);
      expect(r.stderr).not.toContain('agent is listening');
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  test('default sockets live in a 0750 directory the agent creates', async () => {
    // As root the default is /run/kes-agent (systemd's RuntimeDirectory); otherwise under
    // XDG_RUNTIME_DIR. Either way it must be created 0750, and kes-ctl must find it.
    const tmp = tempDir('kes-default-dir-');
    const runtime = path.join(tmp, 'runtime');
    fs.mkdirSync(runtime, { mode: 0o700 });
    const env = cleanEnv({ XDG_RUNTIME_DIR: runtime });
    const dir = defaultSocketDir(env);
    // A directory shared with the host (/run/kes-agent as root) is taken under a lock, so two
    // runs of this test at once never start two agents there.
    const lock = path.relative(tmp, dir).startsWith('..') ? `${dir}.test-lock` : undefined;
    let locked = false;
    try {
      if (lock !== undefined) locked = takeLock(lock);
      if ((lock !== undefined && !locked) || fs.existsSync(dir)) {
        console.warn(`skipping: ${dir} is in use (an agent may be installed here, or another test run has it)`);
        return;
      }
      const agent = new Proc(BIN.agent, ['run', '--cold-vkey', COLD_VKEY], env);
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
    } finally {
      if (locked) fs.rmSync(lock!, { force: true });
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('flags beat environment variables for socket paths', async () => {
    const e = fresh();
    const flagged = path.join(e.dir, 'flag-control.sock');
    const agent = new Proc(BIN.agent, ['run', '--cold-vkey', e.coldVkey, '--control-socket', flagged], e.env);
    e.agent = agent; // stopped by stopAgentEnv, even if an assertion fails
    await agent.waitFor('agent: started');
    expect(fs.statSync(flagged).isSocket()).toBe(true);
    expect(fs.existsSync(e.controlSocket)).toBe(false);
    expect(fs.statSync(e.serviceSocket).isSocket()).toBe(true); // from the env var
    expect((await run(BIN.ctl, ['status', '--socket', flagged], { env: e.env })).code).toBe(0);
  });
});

/**
 * An exclusive lock file; a lock older than two minutes is left over from a killed run and is
 * taken over. False when another run holds it.
 */
function takeLock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const age = Date.now() - fs.statSync(file, { throwIfNoEntry: false })!.mtimeMs;
      if (!(age > 120_000)) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

describe('kes-agent run: start-ups that must fail (one line on stderr, its exit code, nothing left behind)', () => {
  let dir: string;
  const cases: { name: string; args: string[]; env?: Record<string, string>; code: number; stderr: RegExp; setup?: (sockets: { control: string }) => void }[] = [
    { name: '["run"]', args: ['run'], code: EXIT.USAGE, stderr: /--cold-vkey/ },
    { name: 'a missing cold key file', args: ['run', '--cold-vkey', 'nope.vkey'], code: EXIT.BAD_INPUT, stderr: /nope\.vkey/ },
    { name: 'a KES key as the cold key', args: ['run', '--cold-vkey', vectorPath('cardano-cli', 'kes.vkey')], code: EXIT.BAD_INPUT, stderr: /StakePoolVerificationKey_ed25519/ },
    { name: '--network with --genesis', args: ['run', '--cold-vkey', COLD_VKEY, '--network', 'mainnet', '--genesis', 'x.json'], code: EXIT.USAGE, stderr: /mutually exclusive/ },
    { name: 'an unknown network', args: ['run', '--cold-vkey', COLD_VKEY, '--network', 'testnet'], code: EXIT.USAGE, stderr: /unknown network/ },
    // Written in beforeAll (cwd is the temp dir): mainnet's systemStart with a private networkMagic.
    { name: 'a mainnet lookalike genesis file', args: ['run', '--cold-vkey', COLD_VKEY, '--genesis', 'lookalike-genesis.json'], code: EXIT.BAD_INPUT, stderr: /systemStart is mainnet's but networkMagic is 42.*use mainnet's real Shelley genesis or --network mainnet/ },
    { name: 'a bad log level', args: ['run', '--cold-vkey', COLD_VKEY, '--log-level', 'chatty'], code: EXIT.USAGE, stderr: /--log-level/ },
    { name: 'an inspector flag in NODE_OPTIONS', args: ['run', '--cold-vkey', COLD_VKEY], env: { NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' }, code: EXIT.USAGE, stderr: /refusing to run with --heapsnapshot-signal/ },
    {
      name: 'a non-socket file at the socket path (never deleted)',
      args: ['run', '--cold-vkey', COLD_VKEY],
      code: EXIT.BAD_INPUT,
      stderr: /is not a socket; refusing to replace it/,
      setup: (s) => fs.writeFileSync(s.control, 'precious'),
    },
    // The confirm-deadline test hook (src/server/limits.ts) is refused without its switch, and
    // with a wrong switch value: a production agent never runs with it.
    {
      name: `${TEST_CONFIRM_DEADLINE_ENV} without ${TEST_HOOKS_ENV}=1`,
      args: ['run', '--cold-vkey', COLD_VKEY],
      env: { [TEST_CONFIRM_DEADLINE_ENV]: '1000' },
      code: EXIT.BAD_INPUT,
      stderr: new RegExp(`^kes-agent: error: environment variable ${TEST_CONFIRM_DEADLINE_ENV} is a test-suite hook, not a setting, and is refused without ${TEST_HOOKS_ENV}=1: unset it \\(the node confirm deadline is 10000 ms\\) \\[CONFIG_INVALID\\]\\n$`),
    },
    {
      name: `${TEST_CONFIRM_DEADLINE_ENV} with ${TEST_HOOKS_ENV}=true (only "1" is the switch)`,
      args: ['run', '--cold-vkey', COLD_VKEY],
      env: { [TEST_CONFIRM_DEADLINE_ENV]: '1000', [TEST_HOOKS_ENV]: 'true' },
      code: EXIT.BAD_INPUT,
      stderr: /is refused without KES_AGENT_TEST_HOOKS=1.*\[CONFIG_INVALID\]\n$/,
    },
    {
      name: `${TEST_CONFIRM_DEADLINE_ENV} that is not a whole number of ms, even with the switch`,
      args: ['run', '--cold-vkey', COLD_VKEY],
      env: { [TEST_CONFIRM_DEADLINE_ENV]: '1e3', [TEST_HOOKS_ENV]: '1' },
      code: EXIT.BAD_INPUT,
      stderr: /KES_AGENT_TEST_CONFIRM_DEADLINE_MS: expected an integer 1\.\.3600000 \(ms\), got "1e3" \[CONFIG_INVALID\]\n$/,
    },
  ];
  const results = new Map<string, { r: RunResult; control: string; service: string }>();
  let checkConfig: RunResult;

  beforeAll(async () => {
    dir = tempDir('kes-daemon-');
    fs.writeFileSync(path.join(dir, 'lookalike-genesis.json'), makeTestGenesis({ systemStart: new Date('2017-09-23T21:44:51Z'), slotLength: 1, slotsPerKESPeriod: 129_600, maxKESEvolutions: 62 }));
    const runs = cases.map((c, i) => async () => {
      const control = path.join(dir, `${i}.control.sock`);
      const service = path.join(dir, `${i}.service.sock`);
      c.setup?.({ control });
      const env = cleanEnv({ KES_AGENT_CONTROL_SOCKET: control, KES_AGENT_SERVICE_SOCKET: service, ...c.env });
      results.set(c.name, { r: await run(BIN.agent, c.args, { env, cwd: dir }), control, service });
    });
    // check-config with the hook set: it resolves settings as run does, and the hook is no setting.
    const config = async (): Promise<void> => {
      checkConfig = await run(BIN.agent, ['check-config', '--cold-vkey', COLD_VKEY, '--json'], { env: cleanEnv({ [TEST_CONFIRM_DEADLINE_ENV]: '1000', [TEST_HOOKS_ENV]: '1' }) });
    };
    await inParallel([...runs, config]);
  });
  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const { r, control, service } = results.get(name)!;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: c.code, stderr: expect.stringMatching(c.stderr) });
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    if (c.setup !== undefined) expect(fs.readFileSync(control, 'utf8')).toBe('precious');
    else expect(fs.existsSync(control)).toBe(false);
    expect(fs.existsSync(service)).toBe(false);
  });

  test(`the confirm deadline is ${NODE_CONFIRM_DEADLINE_MS} ms unless the test hook is set with its switch`, () => {
    expect(NODE_CONFIRM_DEADLINE_MS).toBe(10_000);
    expect(nodeConfirmDeadline({})).toEqual({ deadlineMs: 10_000, testHook: false });
    expect(nodeConfirmDeadline({ [TEST_CONFIRM_DEADLINE_ENV]: '' })).toEqual({ deadlineMs: 10_000, testHook: false });
    expect(nodeConfirmDeadline({ [TEST_HOOKS_ENV]: '1' })).toEqual({ deadlineMs: 10_000, testHook: false });
    // NODE_ENV is not the switch (jest sets NODE_ENV=test in every process of the suite).
    expect(() => nodeConfirmDeadline({ [TEST_CONFIRM_DEADLINE_ENV]: '1000', NODE_ENV: 'test' })).toThrow(/refused without KES_AGENT_TEST_HOOKS=1/);
    expect(nodeConfirmDeadline({ [TEST_CONFIRM_DEADLINE_ENV]: '1000', [TEST_HOOKS_ENV]: '1' })).toEqual({ deadlineMs: 1000, testHook: true });
    for (const bad of ['0', '-5', '3600001', ' 1000', '1000ms', '0x10']) {
      expect(() => nodeConfirmDeadline({ [TEST_CONFIRM_DEADLINE_ENV]: bad, [TEST_HOOKS_ENV]: '1' })).toThrow(/expected an integer 1\.\.3600000/);
    }
  });

  test('check-config does not list the test hook as a setting', () => {
    expect(checkConfig.code).toBe(0);
    const settings = (JSON.parse(checkConfig.stdout) as { settings: Record<string, unknown> }).settings;
    expect(Object.keys(settings)).not.toContainEqual(expect.stringMatching(/deadline|test/i));
    expect(checkConfig.stdout).not.toMatch(/deadline|TEST_HOOK/i);
  });
});

describe('kes-agent run: one agent, clients that misbehave', () => {
  let e: AgentEnv;
  beforeAll(async () => {
    e = lightEnv();
    await startAgent(e);
  });
  afterAll(async () => {
    if (e !== undefined) await stopAgentEnv(e);
  });
  afterEach(() => {
    // Each test leaves the agent running for the next.
    expect(e.agent!.child.exitCode).toBeNull();
  });

  test('garbage instead of a version-handshake answer: the agent closes after its offer, logs why, and carries on; garbage after picking our protocol gets an ERROR', async () => {
    const mark = e.agent!.mark();
    const exchange = (bytes: Buffer): Promise<Buffer> =>
      new Promise<Buffer>((resolve, reject) => {
        const s = net.connect(e.controlSocket);
        const chunks: Buffer[] = [];
        s.on('data', (d) => chunks.push(d));
        s.on('close', () => resolve(Buffer.concat(chunks)));
        s.on('error', reject);
        s.write(bytes);
      });
    const offer = 4 + 32 * offeredIds('control').length;
    // 0xff is neither "decline" (0) nor "accept" (1): the offer, then the close.
    const refused = await exchange(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(refused.length).toBe(offer);
    expect(refused.readUInt32BE(0)).toBe(offeredIds('control').length);
    await e.agent!.waitFor(/control: version handshake failed; closing reason=malformed/, { after: mark });
    // Our protocol picked, then a frame length above the limit: ERROR FRAME_TOO_LARGE (6).
    const reply = await exchange(Buffer.concat([Buffer.from(nativeAccept('control')), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])]));
    const frames = reply.subarray(offer);
    const welcomeLength = frames.readUInt32BE(0);
    const error = frames.subarray(4 + welcomeLength);
    expect(frames[4]).toBe(0x02); // WELCOME
    expect(error[4]).toBe(0x7f);
    expect(error.readUInt16LE(5)).toBe(6);
    expect((await ctl(e, 'status')).code).toBe(0);
  });

  test('connections over the control limit are turned away with BUSY; the agent carries on', async () => {
    const mark = e.agent!.mark();
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
      await e.agent!.waitFor('control: connection limit reached', { after: mark });
    } finally {
      for (const s of idle) s.destroy();
    }
    // Once the agent has seen the idle connections go, service resumes.
    await eventually('kes-ctl status answers again', async () => (await ctl(e, 'status')).code === 0);
  });

  test('a node on the control socket is told it is the wrong socket', async () => {
    const r = await run(BIN.ctl, ['status', '--socket', e.serviceSocket], { env: e.env });
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toMatch(/PROTOCOL_MISMATCH|service/);
    expect((await ctl(e, 'status')).code).toBe(0);
  });
});
