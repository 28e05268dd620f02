/** The TOML file: every key of the table, unknown keys, wrong types, bad TOML, limits. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_CONFIG_FILE_BYTES, SETTINGS, SETTING_NAMES, parseConfigText, readConfigFile } from '../../src/config';
import { KesError } from '../../src/errors';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-config-file-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const FULL = `
cold-vkey = "keys/cold.vkey"
network = "preview"
genesis = "/etc/kes-agent/genesis.json"
control-socket = "/run/kes-agent/control.sock"
service-socket = "service.sock"
log-level = "debug"
log-format = "json"
allow-unlocked-memory = false
control-uid = [1000]
service-uid = [1001, 1002]
service-gid = []
bootstrap = ["peer/service.sock", "/run/b/service.sock"]
metrics = "run/metrics.sock"
`;

test('reads every key of the table; relative paths are relative to the file', () => {
  const f = path.join(dir, 'agent.toml');
  fs.writeFileSync(f, FULL);
  const { values } = readConfigFile(f);
  expect(Object.keys(values).sort()).toEqual([...SETTING_NAMES].sort());
  expect(values).toEqual({
    coldVkey: path.join(dir, 'keys', 'cold.vkey'),
    network: 'preview',
    genesis: '/etc/kes-agent/genesis.json',
    controlSocket: '/run/kes-agent/control.sock',
    serviceSocket: path.join(dir, 'service.sock'),
    logLevel: 'debug',
    logFormat: 'json',
    allowUnlockedMemory: false,
    controlUids: [1000],
    serviceUids: [1001, 1002],
    serviceGids: [],
    bootstrapPaths: [path.join(dir, 'peer', 'service.sock'), '/run/b/service.sock'],
    metrics: path.join(dir, 'run', 'metrics.sock'),
  });
});

test('the Haskell agent\'s shipped agent.toml reads as is (docs/haskell-protocol.md §10)', () => {
  const text = 'cold-vkey="/etc/kes-agent/cold.vkey"\ngenesis-file="/etc/kes-agent/mainnet-shelley-genesis.json"\nservice-path="/tmp/kes-agent-service.socket"\ncontrol-path="/tmp/kes-agent-control.socket"\n';
  const parsed = parseConfigText(text, '/etc/kes-agent/agent.toml');
  expect(parsed.values).toEqual({
    coldVkey: '/etc/kes-agent/cold.vkey',
    genesis: '/etc/kes-agent/mainnet-shelley-genesis.json',
    serviceSocket: '/tmp/kes-agent-service.socket',
    controlSocket: '/tmp/kes-agent-control.socket',
  });
  // Read under their old names, and said so (check-config shows it).
  expect(parsed.aliases).toEqual({ genesis: 'genesis-file', serviceSocket: 'service-path', controlSocket: 'control-path' });
});

test('the canonical names are not aliases', () => {
  expect(parseConfigText('control-socket = "/c.sock"\nservice-socket = "/s.sock"\n', '/a.toml').aliases).toEqual({});
});

describe('refused, with the file and key named', () => {
  const F = '/etc/kes-agent/agent.toml';
  test.each<[string, string]>([
    ['log-levle = "debug"', "config file /etc/kes-agent/agent.toml: unknown setting 'log-levle'; did you mean 'log-level'?"],
    ['control-pth = "/c.sock"', "unknown setting 'control-pth'; did you mean 'control-socket'?"],
    ['control-sock = "/c.sock"', "unknown setting 'control-sock'; did you mean 'control-socket'?"],
    ['servce-socket = "/s.sock"', "unknown setting 'servce-socket'; did you mean 'service-socket'?"],
    ['colour = 1', "config file /etc/kes-agent/agent.toml: unknown setting 'colour' (known: cold-vkey, network, genesis, control-socket, service-socket, log-level, log-format, allow-unlocked-memory, control-uid, service-uid, service-gid, bootstrap, metrics)"],
    ['control-path = "/a.sock"\ncontrol-socket = "/b.sock"', '"control-path" and "control-socket" are two names for the same setting control-socket: keep only "control-socket"'],
    ['log-target = "syslog"', "unknown setting 'log-target' (a Haskell kes-agent setting this agent does not have: logs always go to stdout"],
    ['user = "kes"', "unknown setting 'user' (a Haskell kes-agent setting this agent does not have"],
    ['[agent]\ncold-vkey = "x"', "unknown setting 'agent'"],
    ['log-level = 3', 'key log-level: expected one of debug, info, warn, error (or notice, critical, emergency), got integer 3'],
    ['log-level = "warning"', 'key log-level: unknown log level "warning"; expected one of debug, info, warn, error (or notice, critical, emergency)'],
    ['network = "testnet"', 'key network: unknown network "testnet"'],
    ['cold-vkey = 1', 'key cold-vkey: expected a non-empty path string, got integer 1'],
    ['cold-vkey = ""', 'key cold-vkey: expected a non-empty path string, got ""'],
    ['control-path = ["a"]', 'key control-path: expected a path string (empty: none), got ["a"]'],
    ['allow-unlocked-memory = "true"', 'key allow-unlocked-memory: expected true or false, got "true"'],
    ['metrics = 9101', 'key metrics: expected HOST:PORT with an IP address or localhost (127.0.0.1:9101, [::1]:9101), or a Unix socket path containing "/" (./metrics.sock), got integer 9101'],
    ['metrics = "prometheus.example:9101"', 'key metrics: expected HOST:PORT with an IP address or localhost'],
    ['allow-unlocked-memory = 1', 'key allow-unlocked-memory: expected true or false, got integer 1'],
    ['control-uid = 1000', 'key control-uid: expected a list of uids/gids'],
    ['control-uid = [1000.0]', 'got [float 1000]'],
    ['service-uid = ["1000"]', 'key service-uid: expected a list of uids/gids'],
    ['service-gid = [-1]', 'key service-gid: expected a list of uids/gids'],
    ['service-gid = [4294967295]', 'key service-gid: expected a list of uids/gids'],
    ['log-format = 1979-05-27', 'key log-format: expected one of text, json, got a date'],
    ['log-format = { a = 1 }', 'key log-format: expected one of text, json, got a table'],
  ])('%s', (text, message) => {
    expect(() => parseConfigText(text, F)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(message) }));
  });

  test('bad TOML: line and column, one line', () => {
    expect(() => parseConfigText('log-level = "info"\nlog-level = "debug"\n', F)).toThrow(
      new KesError('CONFIG_INVALID', 'config file /etc/kes-agent/agent.toml: not valid TOML at line 2, column 1: trying to redefine an already defined table or value'),
    );
    expect(() => parseConfigText('cold-vkey = "unterminated\n', F)).toThrow(/not valid TOML at line 1/);
  });

  test('__proto__ keys are refused by the parser, not merged into objects', () => {
    expect(() => parseConfigText('__proto__ = 1\n', F)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  test('a file larger than the limit is refused before parsing', () => {
    const f = path.join(dir, 'big.toml');
    fs.writeFileSync(f, '#'.repeat(MAX_CONFIG_FILE_BYTES + 1));
    expect(() => readConfigFile(f)).toThrow(expect.objectContaining({ code: 'FILE_TOO_LARGE' }));
  });

  test('a file that is not UTF-8 is refused', () => {
    const f = path.join(dir, 'latin1.toml');
    fs.writeFileSync(f, Buffer.from([0x23, 0xe9, 0x0a]));
    expect(() => readConfigFile(f)).toThrow(new KesError('CONFIG_INVALID', `config file ${f}: is not valid UTF-8 text`));
  });
});

test('every TOML key, flag and env var is unique, and env vars are KES_AGENT_*', () => {
  const specs = SETTING_NAMES.map((n) => SETTINGS[n]);
  for (const field of ['toml', 'flag', 'env'] as const) expect(new Set(specs.map((s) => s[field])).size).toBe(specs.length);
  for (const s of specs) expect(s.env).toMatch(/^KES_AGENT_[A-Z_]+$/);
});
