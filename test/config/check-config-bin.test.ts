/**
 * `kes-agent check-config` through the built binary: the effective settings and their sources
 * (text and --json), precedence across all four sources in one run, and one-line failures with
 * the usage / bad-input exit codes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SETTINGS, SETTING_NAMES } from '../../src/config';
import { EXIT } from '../../src/cli/exit-codes';
import { defaultControlSocket } from '../../src/platform/socket-paths';
import { BIN, cleanEnv, run, tempDir } from '../helpers/processes';
import { vectorPath } from '../helpers/vectors';

const COLD_VKEY = vectorPath('cardano-cli', 'cold.vkey');
let dir: string;
let file: string;

beforeEach(() => {
  dir = tempDir('kes-check-config-');
  file = path.join(dir, 'agent.toml');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The binary with no default file in reach: KES_AGENT_CONFIG or --config says which file. */
function checkConfig(args: string[], env: Record<string, string> = {}): ReturnType<typeof run> {
  return run(BIN.agent, ['check-config', ...args], { env: cleanEnv(env) });
}

interface JsonOut {
  configFile: { path: string; source: string; from: string; read: boolean };
  settings: Record<string, { value: unknown; source: string; from: string; reloadable: boolean }>;
}

test('--json: every setting with its value, source and origin; flag > env > file > default in one run', async () => {
  fs.writeFileSync(file, [`cold-vkey = "${COLD_VKEY}"`, 'log-level = "warn"', 'log-format = "json"', 'service-uid = [1001]', 'control-path = "c.sock"'].join('\n'));
  const r = await checkConfig(['--json', '--log-level', 'debug', '--service-gid', '5', '--service-gid', '6,7'], {
    KES_AGENT_CONFIG: file,
    KES_AGENT_LOG_FORMAT: 'text', // env beats the file's json
    KES_AGENT_LOG_LEVEL: 'error', // the flag beats env and file
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as JsonOut;
  expect(out.configFile).toEqual({ path: file, source: 'env', from: 'KES_AGENT_CONFIG', read: true });
  expect(Object.keys(out.settings)).toEqual(SETTING_NAMES.map((n) => SETTINGS[n].toml));
  expect(out.settings).toMatchObject({
    'cold-vkey': { value: COLD_VKEY, source: 'file', from: `config file ${file}`, reloadable: false },
    network: { value: 'mainnet', source: 'default', from: 'default', reloadable: false },
    'genesis': { value: null, source: 'default' },
    // Given under the Haskell agent's key, which still works and is named.
    'control-socket': { value: path.join(dir, 'c.sock'), source: 'file', from: `config file ${file} (as control-path, the old name of control-socket)`, reloadable: true },
    'service-socket': { source: 'default' },
    'log-level': { value: 'debug', source: 'flag', from: '--log-level' },
    'log-format': { value: 'text', source: 'env', from: 'KES_AGENT_LOG_FORMAT' },
    'allow-unlocked-memory': { value: false, source: 'default' },
    'control-uid': { value: [], source: 'default' },
    'service-uid': { value: [1001], source: 'file' },
    'service-gid': { value: [5, 6, 7], source: 'flag', from: '--service-gid' },
  });
});

test('text: one line per setting, value and source, restart-only settings marked', async () => {
  fs.writeFileSync(file, `cold-vkey = "${COLD_VKEY}"\nnetwork = "preview"\n`);
  const r = await checkConfig(['--config', file, '--allow-unlocked-memory'], { KES_AGENT_CONTROL_UID: '1000,1001' });
  expect([r.code, r.stderr]).toEqual([0, '']);
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1 + SETTING_NAMES.length);
  expect(lines[0]).toBe(`config file            ${file} (--config)`);
  const row = (key: string): string => lines.find((l) => l.startsWith(`${key} `))!.replace(/ +/g, ' ');
  expect(row('cold-vkey')).toBe(`cold-vkey ${COLD_VKEY} file (restart to change)`);
  expect(row('network')).toBe('network preview file (restart to change)');
  expect(row('genesis')).toBe('genesis (none) default (restart to change)');
  expect(row('log-level')).toBe('log-level info default');
  expect(row('allow-unlocked-memory')).toBe('allow-unlocked-memory true flag --allow-unlocked-memory (restart to change)');
  expect(row('control-uid')).toBe('control-uid 1000,1001 env KES_AGENT_CONTROL_UID');
  expect(row('control-socket')).toBe(`control-socket ${defaultControlSocket(cleanEnv())} default`);
});

test('a missing default file is fine and is said so; settings then come from flags and env', async () => {
  // KES_AGENT_CONFIG='' counts as unset, so the default path is used; on this machine it must not exist.
  expect(fs.existsSync('/etc/kes-agent/agent.toml')).toBe(false);
  const r = await checkConfig(['--json'], { KES_AGENT_CONFIG: '', KES_AGENT_COLD_VKEY: COLD_VKEY });
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as JsonOut;
  expect(out.configFile).toEqual({ path: '/etc/kes-agent/agent.toml', source: 'default', from: 'default', read: false });
  expect(out.settings['cold-vkey']).toMatchObject({ value: COLD_VKEY, source: 'env' });
  const text = await checkConfig([], { KES_AGENT_CONFIG: '', KES_AGENT_COLD_VKEY: COLD_VKEY });
  expect(text.stdout.split('\n')[0]).toBe('config file            /etc/kes-agent/agent.toml (default path; no file there, none read)');
});

describe('invalid: one stderr line, nothing on stdout, the usage or bad-input exit code', () => {
  test.each<[string, string[], Record<string, string>, string, number, RegExp]>([
    ['unknown key', [], {}, 'cold-vkey = "x"\nlog-levle = "info"\n', EXIT.BAD_INPUT, /config file .*agent\.toml: unknown setting 'log-levle'; did you mean 'log-level'\? \[CONFIG_INVALID\]$/],
    ['wrong type', [], {}, 'cold-vkey = "x"\nservice-uid = "1001"\n', EXIT.BAD_INPUT, /key service-uid: expected a list of uids\/gids .*got "1001" \[CONFIG_INVALID\]$/],
    ['bad TOML', [], {}, 'cold-vkey = \n', EXIT.BAD_INPUT, /not valid TOML at line 1, column \d+/],
    ['bad env value', [], { KES_AGENT_NETWORK: 'testnet' }, `cold-vkey = "${COLD_VKEY}"\n`, EXIT.BAD_INPUT, /environment variable KES_AGENT_NETWORK: unknown network "testnet"/],
    ['bad flag value', ['--log-format', 'xml'], {}, `cold-vkey = "${COLD_VKEY}"\n`, EXIT.USAGE, /--log-format: unknown log format "xml"; expected one of text, json \[SETTING_INVALID\]$/],
    ['no cold key anywhere', [], {}, 'log-level = "info"\n', EXIT.USAGE, /cold-vkey is not set: pass --cold-vkey FILE, set KES_AGENT_COLD_VKEY, or set cold-vkey in /],
    ['network and genesis', ['--network', 'preview'], {}, `cold-vkey = "${COLD_VKEY}"\ngenesis = "g.json"\n`, EXIT.USAGE, /network \(--network\) and genesis \(config file .*\) are mutually exclusive/],
    ['cold key file missing', [], {}, 'cold-vkey = "nope.vkey"\n', EXIT.BAD_INPUT, /^kes-agent: error: cold-vkey \(config file .*\): .*nope\.vkey: no such file \[FILE_UNREADABLE\]$/],
    ['cold key of the wrong type', [], {}, `cold-vkey = "${vectorPath('cardano-cli', 'kes.vkey')}"\n`, EXIT.BAD_INPUT, /StakePoolVerificationKey_ed25519/],
    ['socket path too long, from the file (bad input)', [], {}, `cold-vkey = "${COLD_VKEY}"\ncontrol-path = "/${'x'.repeat(120)}.sock"\n`, EXIT.BAD_INPUT, /control-socket \/x+\.sock \(config file .*\): 126 bytes; the limit is 107 \[CONFIG_INVALID\]$/],
    ['socket path too long, from a flag (usage)', ['--control-socket', `/${'x'.repeat(120)}.sock`], {}, `cold-vkey = "${COLD_VKEY}"\n`, EXIT.USAGE, /control-socket \/x+\.sock \(--control-socket\): 126 bytes; the limit is 107 \[SOCKET_PATH_TOO_LONG\]$/],
  ])('%s', async (_name, args, env, toml, code, pattern) => {
    fs.writeFileSync(file, toml);
    const r = await checkConfig(['--config', file, ...args], env);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(pattern);
  });

  test('a missing explicit file, by flag and by env', async () => {
    const missing = path.join(dir, 'missing.toml');
    const byFlag = await checkConfig(['--config', missing]);
    expect([byFlag.code, byFlag.stderr]).toEqual([EXIT.BAD_INPUT, `kes-agent: error: config file ${missing} (from --config): no such file [FILE_UNREADABLE]\n`]);
    const byEnv = await checkConfig([], { KES_AGENT_CONFIG: missing });
    expect([byEnv.code, byEnv.stderr]).toEqual([EXIT.BAD_INPUT, `kes-agent: error: config file ${missing} (from KES_AGENT_CONFIG): no such file [FILE_UNREADABLE]\n`]);
  });
});

test('the test-suite confirm-deadline hook outside the suite: refused as kes-agent run refuses it (exit 3, one line)', async () => {
  const r = await checkConfig(['--cold-vkey', COLD_VKEY], { KES_AGENT_TEST_CONFIRM_DEADLINE_MS: '1000' });
  expect(r.code).toBe(EXIT.BAD_INPUT);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^kes-agent: error: environment variable KES_AGENT_TEST_CONFIRM_DEADLINE_MS is a test-suite hook, not a setting, and is refused without KES_AGENT_TEST_HOOKS=1: .*\[CONFIG_INVALID\]\n$/);
});
