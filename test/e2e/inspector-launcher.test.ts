/**
 * The kes-agent launcher (bin/kes-agent, what package.json's bin and the install guide link to
 * /usr/local/bin/kes-agent) with NODE_OPTIONS as a systemd unit could pass it: every inspector
 * form is refused before Node starts (no "Debugger listening", exit 2, one line), and a harmless
 * NODE_OPTIONS reaches the agent, which then runs with no TCP port open. Ports are 0 so that a
 * failure never clashes with anything else on the host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { makeAgentEnv, stopAgentEnv, type AgentEnv } from '../helpers/agent-env';
import { NodeChild } from '../../scripts/child-process';
import { BIN, ROOT, run, runExecutable, type RunResult } from '../helpers/processes';
import { listeningTcpInodes } from '../helpers/proc-fds';

const LAUNCHER = path.join(ROOT, 'bin', 'kes-agent');
/** A safety bound only: every refusal here is immediate; an inspector waiting for a debugger would hang. */
const REFUSAL_BOUND_MS = 20_000;

let e: AgentEnv;
let link: string;
beforeAll(async () => {
  e = await makeAgentEnv({ timingArgs: ['--network', 'preview'] });
  // As installed: a symlink somewhere else, the launcher finding its checkout through it.
  link = path.join(e.dir, 'kes-agent');
  fs.symlinkSync(LAUNCHER, link);
});
afterAll(async () => stopAgentEnv(e));

/** Run the launcher (through the link) to completion with `nodeOptions`. */
function launch(args: string[], nodeOptions: string): Promise<RunResult> {
  return runExecutable(link, args, { env: { ...e.env, NODE_OPTIONS: nodeOptions }, timeoutMs: REFUSAL_BOUND_MS });
}

test('package.json points kes-agent at the launcher, and the launcher is executable', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  expect(pkg.bin['kes-agent']).toBe('bin/kes-agent');
  expect(fs.statSync(LAUNCHER).mode & 0o111).toBe(0o111);
});

test.each([
  ['--inspect=127.0.0.1:0', '--inspect'],
  ['--inspect-brk=127.0.0.1:0', '--inspect-brk'],
  ['--inspect-wait=127.0.0.1:0', '--inspect-wait'],
  ['--inspect-port=0 --inspect', '--inspect-port'],
  ['--debug-port=0 --inspect', '--debug-port'],
  ['--max-semi-space-size=2 --inspect=127.0.0.1:0', '--inspect'],
  ['"--inspect=127.0.0.1:0"', '--inspect'],
])('NODE_OPTIONS=%s: refused before Node starts (exit 2, one line, no debugger)', async (nodeOptions, named) => {
  for (const args of [['run', '--cold-vkey', e.coldVkey, '--network', 'preview'], ['--version']]) {
    const r = await launch(args, nodeOptions);
    expect({ code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({ code: EXIT.USAGE, signal: null, stdout: '' });
    expect(r.stderr).toBe(`kes-agent: error: refusing to run with ${named} in NODE_OPTIONS: it would expose key memory (remove it from NODE_OPTIONS)\n`);
  }
  expect(fs.existsSync(e.controlSocket)).toBe(false);
});

test('a harmless NODE_OPTIONS (the unit\'s V8 flag) reaches the agent, which runs with no TCP port and no debugger', async () => {
  const agent = new NodeChild(['run', '--cold-vkey', e.coldVkey, '--network', 'preview'], {
    executable: link,
    env: { ...e.env, NODE_OPTIONS: '--max-semi-space-size=2' },
  });
  try {
    await agent.waitFor('agent: started');
    const pid = agent.pid;
    // The launcher exec'd Node: same pid, now node running the agent with the flag.
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(fs.realpathSync(argv[1]!)).toBe(fs.realpathSync(BIN.agent));
    expect(fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain('NODE_OPTIONS=--max-semi-space-size=2');
    expect(listeningTcpInodes(pid)).toEqual([]);
    expect((await run(BIN.ctl, ['status'], { env: e.env })).code).toBe(EXIT.OK);
  } finally {
    await agent.stop('SIGTERM');
  }
  expect((await agent.closed).code).toBe(EXIT.OK);
  expect(agent.stderr).not.toMatch(/Debugger listening/);
});

test('started without the launcher, the agent closes the inspector Node opened and refuses (exit 2)', async () => {
  const r = await run(BIN.agent, ['--version'], { env: { ...e.env, NODE_OPTIONS: '--inspect=127.0.0.1:0' } });
  expect(r.code).toBe(EXIT.USAGE);
  expect(r.stdout).toBe('');
  // Node's own lines come first (the port was open for that moment), then ours, the last line.
  expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^kes-agent: error: refusing to run with an inspector open .*; it is closed now\. Start kes-agent through its launcher \(bin\/kes-agent\)/);
});
