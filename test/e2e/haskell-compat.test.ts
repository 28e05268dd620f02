/**
 * Migrating from the Haskell kes-agent by swapping binaries, through the built binaries on real
 * sockets and files: its flags, variables, agent.toml and log levels (docs/haskell-protocol.md §10), `-c ""`
 * (no control socket), its mainnet Shelley genesis file (docs/kes-construction.md §7.4), and kes-ctl /
 * kes-node reading its socket variables. Every test removes what it creates.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { BIN, Proc, cleanEnv, run, tempDir, type OutputMark, type RunResult } from '../helpers/processes';
import { vectorPath } from '../helpers/vectors';

jest.setTimeout(60_000);

const COLD_VKEY = vectorPath('cardano-cli', 'cold.vkey');
const MAINNET_GENESIS = vectorPath('genesis', 'mainnet-shelley-genesis.json');

interface CheckConfigJson {
  configFile: { path: string; source: string; from: string; read: boolean };
  settings: Record<string, { value: unknown; source: string; from: string }>;
}

let dir: string;
beforeAll(() => {
  dir = tempDir('kes-haskell-compat-');
});
afterAll(() => {
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

const agentCmd = (args: string[], env: Record<string, string> = {}): Promise<RunResult> => run(BIN.agent, args, { env: cleanEnv(env), cwd: dir });

function expectOneStderrLine(r: RunResult, code: number, pattern: RegExp): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code, stderr: expect.stringMatching(pattern) });
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
}

describe('kes-agent check-config with the Haskell agent\'s names', () => {
  test('flags (and -F before the command): each value names the flag it came from', async () => {
    const toml = path.join(dir, 'flags.toml');
    fs.writeFileSync(toml, 'control-path = ""\n');
    const service = path.join(dir, 'flags-service.sock');
    const r = await agentCmd(['-F', toml, 'check-config', '--json', '-s', service, '--cold-verification-key', COLD_VKEY, '--genesis-file', MAINNET_GENESIS, '-l', 'notice']);
    expect([r.code, r.stderr]).toEqual([EXIT.OK, '']);
    const out = JSON.parse(r.stdout) as CheckConfigJson;
    expect(out.configFile).toEqual({ path: toml, source: 'flag', from: '--config-file', read: true });
    expect(out.settings).toMatchObject({
      'cold-vkey': { value: COLD_VKEY, source: 'flag', from: '--cold-verification-key' },
      'genesis': { value: MAINNET_GENESIS, source: 'flag', from: '--genesis-file' },
      'service-socket': { value: service, source: 'flag', from: '--service-address' },
      'control-socket': { value: '', source: 'file', from: `config file ${toml} (as control-path, the old name of control-socket)` },
      'log-level': { value: 'info', source: 'flag', from: '--log-level' },
    });
  });

  test('variables: each value names the variable it came from; the text output too', async () => {
    const service = path.join(dir, 'env-service.sock');
    const env = { KES_AGENT_COLD_VK: COLD_VKEY, KES_AGENT_SERVICE_PATH: service, KES_AGENT_CONTROL_PATH: '', KES_AGENT_GENESIS_FILE: MAINNET_GENESIS, KES_AGENT_LOG_LEVEL: 'critical' };
    const [json, text] = await Promise.all([agentCmd(['check-config', '--json'], env), agentCmd(['check-config'], env)]);
    expect([json.code, json.stderr, text.code]).toEqual([EXIT.OK, '', EXIT.OK]);
    expect((JSON.parse(json.stdout) as CheckConfigJson).settings).toMatchObject({
      'cold-vkey': { value: COLD_VKEY, source: 'env', from: 'KES_AGENT_COLD_VK' },
      'service-socket': { value: service, source: 'env', from: 'KES_AGENT_SERVICE_PATH' },
      'control-socket': { value: '', source: 'env', from: 'KES_AGENT_CONTROL_PATH' },
      'genesis': { value: MAINNET_GENESIS, source: 'env', from: 'KES_AGENT_GENESIS_FILE' },
      'log-level': { value: 'error', source: 'env', from: 'KES_AGENT_LOG_LEVEL' },
    });
    expect(text.stdout).toMatch(/^cold-vkey +\S+ +env KES_AGENT_COLD_VK/m);
    expect(text.stdout).toMatch(/^control-socket +\(disabled\) +env KES_AGENT_CONTROL_PATH$/m);
  });

  test("the Haskell agent's shipped agent.toml, pointed at this host's files, checks clean", async () => {
    const toml = path.join(dir, 'shipped.toml');
    fs.writeFileSync(
      toml,
      `cold-vkey="${COLD_VKEY}"\ngenesis-file="${MAINNET_GENESIS}"\nservice-path="${path.join(dir, 'shipped-service.socket')}"\ncontrol-path="${path.join(dir, 'shipped-control.socket')}"\n`,
    );
    const r = await agentCmd(['check-config', '--config-file', toml, '--json']);
    expect([r.code, r.stderr]).toEqual([EXIT.OK, '']);
  });

  test('two names of one setting with different values: one line naming both (flags exit 2, variables exit 3); the same value is fine', async () => {
    const other = path.join(dir, 'other.vkey');
    const [flags, vars, same] = await Promise.all([
      agentCmd(['check-config', '--cold-vkey', COLD_VKEY, '--cold-verification-key', other]),
      agentCmd(['check-config'], { KES_AGENT_COLD_VKEY: COLD_VKEY, KES_AGENT_COLD_VK: other }),
      agentCmd(['check-config'], { KES_AGENT_COLD_VKEY: COLD_VKEY, KES_AGENT_COLD_VK: COLD_VKEY }),
    ]);
    expectOneStderrLine(flags, EXIT.USAGE, /^kes-agent: error: --cold-vkey ".*" and --cold-verification-key ".*other\.vkey" are two flags for the same setting cold-vkey with different values: give only one \[SETTING_INVALID\]\n$/);
    expectOneStderrLine(vars, EXIT.BAD_INPUT, /^kes-agent: error: KES_AGENT_COLD_VKEY ".*" and KES_AGENT_COLD_VK ".*other\.vkey" are two environment variables for the same setting cold-vkey with different values: give only one \[CONFIG_INVALID\]\n$/);
    expect(same.code).toBe(EXIT.OK);
  });

  test('a mainnet genesis file contradicted by --network is refused', async () => {
    const r = await agentCmd(['check-config', '--cold-vkey', COLD_VKEY, '--genesis-file', MAINNET_GENESIS, '--network', 'preprod']);
    expectOneStderrLine(r, EXIT.USAGE, /network \(--network\) and genesis \(--genesis-file\) are mutually exclusive/);
  });
});

describe('kes-agent run as a Haskell kes-agent unit would start it', () => {
  test('-c "": only the service socket, said at start; kes-ctl finds no agent; kes-node reads KES_AGENT_SERVICE_PATH; mainnet genesis gives the ledger period', async () => {
    const service = path.join(dir, 'run-service.sock');
    const control = path.join(dir, 'run-control.sock');
    // Our control variable is set too: -c "" (a flag) beats it.
    const agent = new Proc(BIN.agent, ['run', '-c', '', '-s', service, '--cold-verification-key', COLD_VKEY, '--genesis-file', MAINNET_GENESIS, '-l', 'notice'], cleanEnv({ KES_AGENT_CONTROL_SOCKET: control }));
    try {
      await agent.waitFor('agent: started');
      expect(agent.stdout).toMatch(/agent: started network=mainnet kesPeriod=\d+ control=null service=/);
      expect(agent.stdout).toContain('control: socket disabled');
      expect(fs.statSync(service).isSocket()).toBe(true);
      expect(fs.existsSync(control)).toBe(false);
      const started = Number(/kesPeriod=(\d+)/.exec(agent.stdout)![1]);

      const [status, period] = await Promise.all([
        run(BIN.ctl, ['status'], { env: cleanEnv({ KES_AGENT_CONTROL_PATH: control }) }),
        run(BIN.cold, ['period', '--network', 'mainnet', '--json']),
      ]);
      expectOneStderrLine(status, EXIT.UNREACHABLE, /^kes-ctl: error: .*run-control\.sock: no such socket file.*\[AGENT_SOCKET_MISSING\]\n$/);
      expect(started).toBe((JSON.parse(period.stdout) as { kesPeriod: number }).kesPeriod);

      const node = new Proc(BIN.node, ['watch', '--genesis', MAINNET_GENESIS], cleanEnv({ KES_AGENT_SERVICE_PATH: service }));
      try {
        await node.waitFor('the agent has no active key');
        expect(node.stdout).toContain(`watching ${service} (network mainnet, KES period ${started})`);
        expect(node.stdout).toContain('connected: agent');
      } finally {
        await node.stop();
      }
    } finally {
      expect(await agent.stop()).toEqual({ code: 0, signal: null });
    }
    expect(fs.existsSync(service)).toBe(false);
  });

  test('kes-agent -F agent.toml run; SIGHUP with control-path = "" disables the control socket, with a path enables it again; kes-ctl reads KES_AGENT_CONTROL_PATH', async () => {
    const toml = path.join(dir, 'reload.toml');
    const service = path.join(dir, 'reload-service.sock');
    const control = path.join(dir, 'reload-control.sock');
    const control2 = path.join(dir, 'reload-control2.sock');
    const write = (controlPath: string): void =>
      fs.writeFileSync(toml, `cold-vkey="${COLD_VKEY}"\ngenesis-file="${MAINNET_GENESIS}"\nservice-path="${service}"\ncontrol-path="${controlPath}"\nlog-level="notice"\n`);
    const status = (p: string): Promise<RunResult> => run(BIN.ctl, ['status', '--json'], { env: cleanEnv({ KES_AGENT_CONTROL_PATH: p }) });
    write(control);
    const agent = new Proc(BIN.agent, ['-F', toml, 'run'], cleanEnv());
    let mark: OutputMark;
    const hangup = async (): Promise<void> => {
      mark = agent.mark();
      agent.child.kill('SIGHUP');
      await agent.waitFor(/config: reloaded[^\n]*\n/, { after: mark });
    };
    try {
      await agent.waitFor('agent: started');
      expect((await status(control)).code).toBe(EXIT.OK);

      write('');
      await hangup();
      expect(agent.stdout.slice(mark!.stdout)).toMatch(/control: socket disabled from=.*reload-control\.sock/);
      expect(agent.stdout.slice(mark!.stdout)).toContain('config: reloaded changed=control-socket control-socket=');
      expect(fs.existsSync(control)).toBe(false);
      expect((await status(control)).code).toBe(EXIT.UNREACHABLE);

      write(control2);
      await hangup();
      expect(agent.stdout.slice(mark!.stdout)).toMatch(/control: socket enabled from=null to=.*reload-control2\.sock/);
      expect((await status(control2)).code).toBe(EXIT.OK);
      expect(fs.statSync(service).isSocket()).toBe(true);
      expect(agent.stderr).toBe('');
    } finally {
      expect(await agent.stop()).toEqual({ code: 0, signal: null });
    }
  });
});

describe('kes-ctl and kes-node read the Haskell socket variables', () => {
  test('ours and the Haskell one naming different sockets: one line naming both, exit 3; the same socket is fine', async () => {
    const a = path.join(dir, 'a.sock');
    const b = path.join(dir, 'b.sock');
    const [ctl, node, same] = await Promise.all([
      run(BIN.ctl, ['status'], { env: cleanEnv({ KES_AGENT_CONTROL_SOCKET: a, KES_AGENT_CONTROL_PATH: b }) }),
      run(BIN.node, ['watch', '--network', 'mainnet'], { env: cleanEnv({ KES_AGENT_SERVICE_SOCKET: a, KES_AGENT_SERVICE_PATH: b }) }),
      run(BIN.ctl, ['status'], { env: cleanEnv({ KES_AGENT_CONTROL_SOCKET: a, KES_AGENT_CONTROL_PATH: a }) }),
    ]);
    expectOneStderrLine(ctl, EXIT.BAD_INPUT, /^kes-ctl: error: environment variables KES_AGENT_CONTROL_SOCKET ".*a\.sock" and KES_AGENT_CONTROL_PATH ".*b\.sock" name different sockets: set only one \(or pass --socket\) \[CONFIG_INVALID\]\n$/);
    expectOneStderrLine(node, EXIT.BAD_INPUT, /^kes-node: error: environment variables KES_AGENT_SERVICE_SOCKET ".*a\.sock" and KES_AGENT_SERVICE_PATH ".*b\.sock" name different sockets/);
    // Same socket: no conflict, just no agent there.
    expectOneStderrLine(same, EXIT.UNREACHABLE, /a\.sock: no such socket file/);
  });
});
