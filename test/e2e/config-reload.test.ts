/**
 * The config file and SIGHUP, through the built binaries on real sockets: the agent starts from
 * a TOML file, holds an active and a staged key, and every reload (a moved control socket, a
 * moved service socket, a new log level and format, an invalid file, a cold-key change, a path
 * that cannot be bound) leaves both keys exactly where they were.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, Proc, cleanEnv, run, type OutputMark } from '../helpers/processes';
import { type AgentEnv, cold, ctlJson, makeAgentEnv, stageAndCertify, stopAgentEnv } from '../helpers/agent-env';

interface StatusJson {
  serviceClients: number;
  staged: null | { kesVkey: string };
  active: null | { kesVkey: string; counter: number; evolution: number };
}

jest.setTimeout(60_000);

describe('kes-agent run with a config file, reloaded by SIGHUP', () => {
  let e: AgentEnv;
  let agent: Proc;
  let file: string;
  let activeVk: string;
  let stagedVk: string;
  const watchers: Proc[] = [];
  /** The agent's log lines so far, from the first one after `mark`. */
  let mark: OutputMark = { stdout: 0, stderr: 0 };
  const linesSinceMark = (): string[] => agent.stdout.slice(mark.stdout).trimEnd().split('\n');
  const settingsFile = (lines: string[]): void => fs.writeFileSync(file, lines.join('\n') + '\n');
  const status = (): Promise<StatusJson> => ctlJson<StatusJson>(e, 'status');
  const useControl = (p: string): void => {
    e.env = { ...e.env, KES_AGENT_CONTROL_SOCKET: p };
  };

  /** SIGHUP, then wait for this reload's own outcome line, whole; returns the lines logged since the signal. */
  async function hangup(outcome: string): Promise<string[]> {
    mark = agent.mark();
    agent.child.kill('SIGHUP');
    await agent.waitFor(new RegExp(`${outcome.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\n]*\n`), { after: mark });
    return linesSinceMark();
  }

  beforeAll(async () => {
    e = await makeAgentEnv();
    file = path.join(e.dir, 'agent.toml');
    // Relative cold-vkey: resolved against the file's directory, not the agent's cwd.
    settingsFile(['cold-vkey = "cold.vkey"', `control-socket = "${e.controlSocket}"`, `service-socket = "${e.serviceSocket}"`, 'log-level = "info"']);
    // No socket variables for the agent: the file must be what places the sockets.
    agent = new Proc(BIN.agent, ['run', '--config', file], cleanEnv());
    e.agent = agent;
    await agent.waitFor('agent: started');

    const first = await stageAndCertify(e, { name: 'first' });
    expect((await ctlJson(e, 'import-opcert', first.opcert)).kesVkey).toBe(first.kesVkey);
    await ctlJson(e, 'upload');
    activeVk = first.kesVkey;
    stagedVk = (await ctlJson<{ kesVkey: string }>(e, 'keygen')).kesVkey;
    const s = await status();
    expect([s.active?.kesVkey, s.staged?.kesVkey]).toEqual([activeVk, stagedVk]);
  });

  afterAll(async () => {
    for (const w of watchers) await w.stop();
    if (e !== undefined) await stopAgentEnv(e);
  });

  async function expectKeysKept(): Promise<void> {
    const s = await status();
    expect(s.active).toMatchObject({ kesVkey: activeVk, counter: 0 });
    expect(s.staged?.kesVkey).toBe(stagedVk);
  }

  test('the agent started from the file: sockets where the file put them, no stderr', () => {
    expect(fs.statSync(e.controlSocket).isSocket()).toBe(true);
    expect(fs.statSync(e.serviceSocket).isSocket()).toBe(true);
    expect(agent.stdout).toContain(`config: settings resolved file=${file}`);
    expect(agent.stderr).toBe('');
  });

  test('moving the control socket and raising the log level: new path answers, old path gone, keys kept', async () => {
    const moved = path.join(e.dir, 'moved', 'control.sock');
    fs.mkdirSync(path.dirname(moved), { mode: 0o700 });
    settingsFile(['cold-vkey = "cold.vkey"', `control-socket = "${moved}"`, `service-socket = "${e.serviceSocket}"`, 'log-level = "debug"']);
    const lines = await hangup('config: reloaded');
    expect(lines.filter((l) => l.includes('config: reloaded'))).toEqual([expect.stringMatching(new RegExp(`info  config: reloaded changed=control-socket,log-level control-socket=${moved} log-level=debug$`))]);
    expect(lines.some((l) => / info  control: socket moved from=.* to=/.test(l))).toBe(true);
    expect(fs.existsSync(e.controlSocket)).toBe(false);
    expect(fs.statSync(moved).isSocket()).toBe(true);
    expect(fs.statSync(moved).mode & 0o777).toBe(0o600);
    useControl(moved);
    await expectKeysKept();
    e.controlSocket = moved;
  });

  test('moving the service socket keeps connected nodes; new nodes use the new path and get the key', async () => {
    const beforeNode1 = agent.mark();
    const node1 = new Proc(BIN.node, ['watch', '--json', '--socket', e.serviceSocket, '--cold-vkey', e.coldVkey], cleanEnv());
    watchers.push(node1);
    await node1.waitFor('"event":"key"');
    // log-level = debug from the last reload is in force: the node's confirmation is logged.
    await agent.waitFor(/ debug service: node confirmed /, { after: beforeNode1 });
    const movedService = path.join(e.dir, 'moved', 'service.sock');
    settingsFile(['cold-vkey = "cold.vkey"', `control-socket = "${e.controlSocket}"`, `service-socket = "${movedService}"`, 'log-level = "debug"', 'service-uid = [1001, 1002]']);
    const lines = await hangup('config: reloaded');
    expect(lines.filter((l) => l.includes('config: reloaded'))).toEqual([
      expect.stringMatching(new RegExp(`config: reloaded changed=service-socket,service-uid service-socket=${movedService} service-uid=1001,1002$`)),
    ]);
    expect(fs.existsSync(e.serviceSocket)).toBe(false);
    expect(fs.statSync(movedService).mode & 0o777).toBe(0o660);
    expect((await status()).serviceClients).toBe(1); // node1 is still connected through the old listener
    const node2 = new Proc(BIN.node, ['watch', '--json', '--socket', movedService, '--cold-vkey', e.coldVkey], cleanEnv());
    watchers.push(node2);
    await node2.waitFor('"event":"key"');
    expect(node2.stdout).toContain(`"kesVk":"${activeVk}"`);
    expect((await status()).serviceClients).toBe(2);
    expect(node1.stdout).not.toContain('"event":"disconnected"');
    e.serviceSocket = movedService;
    await expectKeysKept();
  });

  test('an invalid file: one error line naming the key and file, nothing changes', async () => {
    settingsFile(['cold-vkey = "cold.vkey"', `control-socket = "${path.join(e.dir, 'elsewhere.sock')}"`, 'log-levle = "info"']);
    const lines = await hangup('config: reload failed');
    const errors = lines.filter((l) => / error /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('code=CONFIG_INVALID');
    expect(errors[0]).toContain(`config file ${file}: unknown setting 'log-levle'; did you mean 'log-level'?`);
    expect(fs.existsSync(path.join(e.dir, 'elsewhere.sock'))).toBe(false);
    expect(fs.statSync(e.controlSocket).isSocket()).toBe(true);
    await expectKeysKept();
  });

  test('a different cold key is refused whole: one error line naming cold-vkey, nothing else applied', async () => {
    const other = path.join(e.dir, 'other-cold.vkey');
    const r = await cold(e, 'keygen', '--cold-vkey', other, '--cold-skey', path.join(e.dir, 'other-cold.skey'), '--counter', path.join(e.dir, 'other-cold.counter'));
    expect(r.code).toBe(0);
    // Also asks for a log-format change, which must NOT be applied: the reload is all or nothing.
    settingsFile(['cold-vkey = "other-cold.vkey"', `control-socket = "${e.controlSocket}"`, `service-socket = "${e.serviceSocket}"`, 'log-level = "debug"', 'log-format = "json"', 'service-uid = [1001, 1002]']);
    const lines = await hangup('config: reload refused');
    const errors = lines.filter((l) => / error /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/config: reload refused; running settings unchanged code=CONFIG_NOT_RELOADABLE setting=cold-vkey error=".*restart the agent/);
    expect(lines.every((l) => !l.startsWith('{'))).toBe(true); // still text
    await expectKeysKept();
  });

  test('a socket path that cannot be bound: the old socket stays, one error, the rest applies', async () => {
    const unbindable = path.join(e.dir, 'no-such-dir', 'control.sock');
    settingsFile(['cold-vkey = "cold.vkey"', `control-socket = "${unbindable}"`, `service-socket = "${e.serviceSocket}"`, 'log-level = "debug"', 'service-uid = [1001]']);
    const lines = await hangup('config: reloaded');
    expect(lines.filter((l) => / error /.test(l))).toEqual([expect.stringContaining('control: cannot move the socket; still listening at the old path')]);
    expect(lines.filter((l) => l.includes('config: reloaded'))).toEqual([expect.stringMatching(/config: reloaded changed=service-uid service-uid=1001$/)]);
    expect(fs.statSync(e.controlSocket).isSocket()).toBe(true);
    await expectKeysKept();
    // The failed path is not taken as in force: a later reload with a bindable path moves it.
    const back = path.join(e.dir, 'control-again.sock');
    settingsFile(['cold-vkey = "cold.vkey"', `control-socket = "${back}"`, `service-socket = "${e.serviceSocket}"`, 'log-level = "debug"', 'service-uid = [1001]']);
    await hangup('config: reloaded');
    expect(fs.statSync(back).isSocket()).toBe(true);
    expect(fs.existsSync(e.controlSocket)).toBe(false);
    useControl(back);
    e.controlSocket = back;
    await expectKeysKept();
  });

  test('switching to JSON logs at warn: the reload line is still written (in the old format), then JSON', async () => {
    settingsFile(['cold-vkey = "cold.vkey"', `control-socket = "${e.controlSocket}"`, `service-socket = "${e.serviceSocket}"`, 'log-level = "warn"', 'log-format = "json"', 'service-uid = [1001]']);
    const lines = await hangup('config: reloaded');
    expect(lines.filter((l) => l.includes('config: reloaded'))).toEqual([expect.stringMatching(/ info  config: reloaded changed=log-level,log-format log-level=warn log-format=json$/)]);
    // Something at warn or above, in JSON: an invalid file.
    fs.writeFileSync(file, 'cold-vkey = 42\n');
    const after = await hangup('config: reload failed');
    const json = after.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json).toEqual([expect.objectContaining({ level: 'error', event: 'config: reload failed; running settings unchanged', code: 'CONFIG_INVALID' })]);
    await expectKeysKept();
  });

  test('SIGTERM still stops cleanly after the reloads: exit 0, sockets removed', async () => {
    const r = await agent.stop('SIGTERM');
    expect(r).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(e.controlSocket)).toBe(false);
    expect(fs.existsSync(e.serviceSocket)).toBe(false);
    expect(agent.stderr).toBe('');
    // The old control path from the first move is long gone too.
    expect(fs.readdirSync(path.join(e.dir, 'moved'))).toEqual([]);
  });
});

describe('a config file that stops the agent at start-up', () => {
  test('unknown key: one stderr line naming key and file, exit 3, no socket', async () => {
    const e = await makeAgentEnv();
    try {
      const f = path.join(e.dir, 'agent.toml');
      fs.writeFileSync(f, `cold-vkey = "cold.vkey"\ncontrol-socket = "${e.controlSocket}"\nlog-target = "syslog"\n`);
      const r = await run(BIN.agent, ['run', '--config', f], { env: cleanEnv() });
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(`kes-agent: error: config file ${f}: unknown setting 'log-target' (a Haskell kes-agent setting this agent does not have: logs always go to stdout, which systemd sends to the journal) [CONFIG_INVALID]\n`);
      expect(fs.existsSync(e.controlSocket)).toBe(false);
    } finally {
      await stopAgentEnv(e);
    }
  });
});
