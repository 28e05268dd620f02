/**
 * `kes-agent check-config` and `kes-agent run` make the same start-up checks (one function,
 * src/server/startup-checks.ts): for each way a start can fail before any key exists, both
 * binaries give the same exit code and the same error line, and check-config binds, removes
 * and locks nothing. Then the socket directory rule on real directories of every common mode:
 * accepted exactly when the message's rule says so, by both.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { makeAgentEnv, startAgent, stopAgentEnv, type AgentEnv } from '../helpers/agent-env';
import { BIN, run, type RunResult } from '../helpers/processes';
import { NOBODY } from '../helpers/other-user';

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;
const isRoot = process.getuid?.() === 0;

let e: AgentEnv;
beforeAll(async () => {
  e = await makeAgentEnv({ timingArgs: ['--network', 'preview'] });
});
afterAll(async () => stopAgentEnv(e));

/** Flags for both commands: the env's cold key and network, sockets at `control` and `service`. */
function flags(control: string, service: string): string[] {
  return ['--cold-vkey', e.coldVkey, '--network', 'preview', '--control-socket', control, '--service-socket', service];
}

/** `prefix... node kes-agent <cmd> <args>`, to completion (a safety bound only: every case here refuses at once). */
function agentUnder(prefix: readonly string[], cmd: string, args: readonly string[]): RunResult {
  const argv = [...prefix, process.execPath, BIN.agent, cmd, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { env: e.env, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** check-config, then run, with the same flags (under `prefix`, e.g. prlimit, if given). */
async function both(args: string[], prefix?: readonly string[]): Promise<{ check: RunResult; run: RunResult }> {
  if (prefix !== undefined) return { check: agentUnder(prefix, 'check-config', args), run: agentUnder(prefix, 'run', args) };
  return { check: await run(BIN.agent, ['check-config', ...args], { env: e.env }), run: await run(BIN.agent, ['run', ...args], { env: e.env }) };
}

function expectSameRefusal(r: { check: RunResult; run: RunResult }, code: number, line: RegExp): void {
  expect({ check: r.check.code, run: r.run.code }).toEqual({ check: code, run: code });
  expect(r.run.stderr).toMatch(line);
  expect(r.check.stderr).toBe(r.run.stderr);
  expect(r.check.stdout).toBe('');
}

function dirWithMode(name: string, mode: number): string {
  const dir = path.join(e.dir, name);
  fs.mkdirSync(dir);
  fs.chmodSync(dir, mode);
  return dir;
}

describe('check-config refuses what run refuses, with the same exit code and line', () => {
  test('a socket directory that does not exist (exit 3)', async () => {
    const dir = path.join(e.dir, 'missing');
    const r = await both(flags(path.join(dir, 'c.sock'), path.join(dir, 's.sock')));
    expectSameRefusal(r, EXIT.BAD_INPUT, /^kes-agent: error: socket .*missing\/c\.sock: directory .*missing does not exist \[SOCKET_DIR_UNSAFE\]\n$/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('a socket directory with a bad mode (exit 3)', async () => {
    const dir = dirWithMode('group-writable', 0o770);
    const r = await both(flags(path.join(dir, 'c.sock'), path.join(dir, 's.sock')));
    expectSameRefusal(r, EXIT.BAD_INPUT, /directory .*group-writable is writable by other users \(mode 0770\); .* \[SOCKET_DIR_UNSAFE\]\n$/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a regular file at the socket path (exit 3), left as it was', async () => {
    const dir = dirWithMode('with-file', 0o750);
    const file = path.join(dir, 's.sock');
    fs.writeFileSync(file, 'not a socket');
    const r = await both(flags(path.join(dir, 'c.sock'), file));
    expectSameRefusal(r, EXIT.BAD_INPUT, /^kes-agent: error: socket .*with-file\/s\.sock: the path exists and is not a socket; refusing to replace it \[SOCKET_IN_USE\]\n$/);
    expect(fs.readFileSync(file, 'utf8')).toBe('not a socket');
    // run refused before binding the control socket it would have bound first.
    expect(fs.readdirSync(dir)).toEqual(['s.sock']);
  });

  test('a socket held by a running agent (exit 3); that agent keeps serving', async () => {
    const agent = await startAgent(e);
    try {
      const r = await both(flags(e.controlSocket, e.serviceSocket));
      expectSameRefusal(r, EXIT.BAD_INPUT, /^kes-agent: error: socket .*control\.sock: a kes-agent is already listening on it \(it offered [^)]*kes-agent\/control:2\); stop it first or choose another path \[SOCKET_IN_USE\]\n$/);
      expect(agent.child.exitCode).toBeNull();
      expect(fs.lstatSync(e.controlSocket).isSocket()).toBe(true);
      expect((await run(BIN.ctl, ['status', '--json'], { env: e.env })).code).toBe(EXIT.OK);
    } finally {
      await agent.stop();
      e.agent = undefined;
    }
  });

  (hasPrlimit ? test : test.skip)('RLIMIT_MEMLOCK too low (exit 11); with --allow-unlocked-memory check-config passes', async () => {
    const dir = dirWithMode('memlock', 0o750);
    const args = flags(path.join(dir, 'c.sock'), path.join(dir, 's.sock'));
    const r = await both(args, ['prlimit', '--memlock=65536:65536']);
    expectSameRefusal(r, EXIT.UNSAFE, /^kes-agent: error: cannot lock memory for key material: RLIMIT_MEMLOCK is 64 KiB; .* \[MEMORY_LOCK_FAILED\]\n$/);
    expect(fs.readdirSync(dir)).toEqual([]);
    const allowed = agentUnder(['prlimit', '--memlock=65536:65536'], 'check-config', [...args, '--allow-unlocked-memory']);
    expect([allowed.code, allowed.stderr]).toEqual([0, '']);
  });

  test('a stale socket (nothing listens) passes both: check-config leaves it, run replaces it', async () => {
    const dir = dirWithMode('stale', 0o750);
    const stale = path.join(dir, 's.sock');
    // A listener killed outright leaves its socket file behind, as a crashed agent does.
    const holder = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(holder.signal).toBe('SIGKILL');
    const inode = fs.lstatSync(stale).ino;
    const check = await run(BIN.agent, ['check-config', ...flags(path.join(dir, 'c.sock'), stale)], { env: e.env });
    expect([check.code, check.stderr]).toEqual([0, '']);
    expect(fs.lstatSync(stale).ino).toBe(inode);
    await startAgent(e, ['--control-socket', path.join(dir, 'c.sock'), '--service-socket', stale]);
    // The path answers now: the agent's own socket took the stale one's place.
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(stale, () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
    await e.agent!.stop();
    e.agent = undefined;
  });
});

describe('the socket directory rule: owned by the agent\'s user or root, no group or other write bit, sticky or not', () => {
  const RULE = "expected a directory owned by the agent's user or root that no other user can write to (no group or other write bit, sticky or not; e.g. 0750 or 0755)";
  const accepted = [0o700, 0o750, 0o755];
  const refused = [0o770, 0o775, 0o777, 0o1777];

  test.each(refused.map((m) => [m.toString(8).padStart(4, '0'), m]))('mode %s: refused by check-config and run alike (exit 3), the message stating the rule', async (shown, mode) => {
    const dir = dirWithMode(`refused-${shown}`, mode as number);
    expect(fs.statSync(dir).mode & 0o7777).toBe(mode);
    const r = await both(flags(path.join(dir, 'c.sock'), path.join(dir, 's.sock')));
    expectSameRefusal(r, EXIT.BAD_INPUT, new RegExp(`^kes-agent: error: socket .*c\\.sock: directory .*refused-${shown} is writable by other users \\(mode ${shown}\\); ${RULE.replace(/[().]/g, '\\$&')} \\[SOCKET_DIR_UNSAFE\\]\\n$`));
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test.each(accepted.map((m) => [m.toString(8).padStart(4, '0'), m]))('mode %s: accepted by check-config, and run serves there', async (shown, mode) => {
    const dir = dirWithMode(`accepted-${shown}`, mode as number);
    const socketFlags = ['--control-socket', path.join(dir, 'c.sock'), '--service-socket', path.join(dir, 's.sock')];
    const check = await run(BIN.agent, ['check-config', ...flags(path.join(dir, 'c.sock'), path.join(dir, 's.sock'))], { env: e.env });
    expect([check.code, check.stderr]).toEqual([0, '']);
    await startAgent(e, socketFlags);
    try {
      expect((await run(BIN.ctl, ['status', '--socket', path.join(dir, 'c.sock')], { env: e.env })).code).toBe(EXIT.OK);
    } finally {
      await e.agent!.stop();
      e.agent = undefined;
    }
  });

  (isRoot ? test : test.skip)('mode 0755 owned by another user: refused by both, naming the owner (that user could replace the socket)', async () => {
    const dir = dirWithMode('foreign', 0o755);
    fs.chownSync(dir, NOBODY, NOBODY);
    const r = await both(flags(path.join(dir, 'c.sock'), path.join(dir, 's.sock')));
    expectSameRefusal(r, EXIT.BAD_INPUT, new RegExp(`directory .*foreign is owned by uid ${NOBODY}, not the agent's uid 0 or root; expected a directory owned by the agent's user or root .*\\[SOCKET_DIR_UNSAFE\\]\\n$`));
  });
});
