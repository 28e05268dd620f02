/**
 * Precedence flags > env > file > defaults for every setting, with each value's source, and
 * the cross-setting checks. Real files in a temp dir; no mocks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CONFIG_ENV,
  DEFAULT_CONFIG_PATH,
  SETTINGS,
  SETTING_NAMES,
  planReload,
  resolveConfig,
  type ConfigInput,
  type FlagValue,
  type SettingName,
} from '../../src/config';
import { KesError } from '../../src/errors';
import { defaultControlSocket, defaultServiceSocket } from '../../src/server/socket-paths';

let dir: string;
let file: string;
let missingDefault: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-config-'));
  file = path.join(dir, 'agent.toml');
  missingDefault = path.join(dir, 'no-such-default.toml');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Sample {
  flag: FlagValue;
  env: string;
  toml: string;
  fromFlag: unknown;
  fromEnv: unknown;
  fromFile: unknown;
  /** Omitted: no default (the required cold key). */
  byDefault?: (env: NodeJS.ProcessEnv) => unknown;
}

/** One value per source for every setting; neighbouring sources always differ. */
const SAMPLES: Record<SettingName, Sample> = {
  coldVkey: { flag: 'flag.vkey', env: 'env.vkey', toml: '"file.vkey"', fromFlag: 'flag.vkey', fromEnv: 'env.vkey', fromFile: '<dir>/file.vkey' },
  network: { flag: 'preview', env: 'preprod', toml: '"preview"', fromFlag: 'preview', fromEnv: 'preprod', fromFile: 'preview', byDefault: () => 'mainnet' },
  genesis: { flag: 'flag.json', env: '/abs/env.json', toml: '"g/file.json"', fromFlag: 'flag.json', fromEnv: '/abs/env.json', fromFile: '<dir>/g/file.json', byDefault: () => undefined },
  controlSocket: { flag: '/f/c.sock', env: '/e/c.sock', toml: '"/t/c.sock"', fromFlag: '/f/c.sock', fromEnv: '/e/c.sock', fromFile: '/t/c.sock', byDefault: (env) => defaultControlSocket(env) },
  serviceSocket: { flag: '/f/s.sock', env: '/e/s.sock', toml: '"s.sock"', fromFlag: '/f/s.sock', fromEnv: '/e/s.sock', fromFile: '<dir>/s.sock', byDefault: (env) => defaultServiceSocket(env) },
  logLevel: { flag: 'debug', env: 'warn', toml: '"error"', fromFlag: 'debug', fromEnv: 'warn', fromFile: 'error', byDefault: () => 'info' },
  logFormat: { flag: 'json', env: 'text', toml: '"json"', fromFlag: 'json', fromEnv: 'text', fromFile: 'json', byDefault: () => 'text' },
  allowUnlockedMemory: { flag: true, env: '0', toml: 'true', fromFlag: true, fromEnv: false, fromFile: true, byDefault: () => false },
  controlUids: { flag: ['1', '2,3'], env: '4, 5', toml: '[6]', fromFlag: [1, 2, 3], fromEnv: [4, 5], fromFile: [6], byDefault: () => [] },
  serviceUids: { flag: ['7'], env: '8', toml: '[9, 10]', fromFlag: [7], fromEnv: [8], fromFile: [9, 10], byDefault: () => [] },
  serviceGids: { flag: '11,12', env: '13', toml: '[]', fromFlag: [11, 12], fromEnv: [13], fromFile: [], byDefault: () => [] },
};

const BASE_ENV: NodeJS.ProcessEnv = { XDG_RUNTIME_DIR: '/run/user/4242' };

function input(name: SettingName, sources: { flag?: boolean; env?: boolean; file?: boolean }): ConfigInput {
  const s = SAMPLES[name];
  const spec = SETTINGS[name];
  const env: NodeJS.ProcessEnv = { ...BASE_ENV };
  // Every case needs a cold key; it comes from the env unless the cold key is under test.
  if (name !== 'coldVkey') env[SETTINGS.coldVkey.env] = 'base.vkey';
  if (sources.env) env[spec.env] = s.env;
  let toml = '# test\n';
  if (sources.file) toml += `${spec.toml} = ${s.toml}\n`;
  fs.writeFileSync(file, toml);
  return { flags: sources.flag ? { [name]: s.flag } : {}, env: { ...env, [CONFIG_ENV]: file }, defaultConfigPath: missingDefault };
}

const withDir = (v: unknown): unknown => (typeof v === 'string' ? v.replace('<dir>', dir) : v);

describe('precedence: flag > env > file > default, for every setting', () => {
  test('the samples cover every setting in the table', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...SETTING_NAMES].sort());
  });

  test.each(SETTING_NAMES)('%s', (name) => {
    const s = SAMPLES[name];
    const cases: [{ flag?: boolean; env?: boolean; file?: boolean }, unknown, string][] = [
      [{ flag: true, env: true, file: true }, s.fromFlag, 'flag'],
      [{ flag: true }, s.fromFlag, 'flag'],
      [{ env: true, file: true }, s.fromEnv, 'env'],
      [{ env: true }, s.fromEnv, 'env'],
      [{ file: true }, withDir(s.fromFile), 'file'],
    ];
    if (s.byDefault) cases.push([{}, s.byDefault({ ...BASE_ENV }), 'default']);
    for (const [sources, expected, source] of cases) {
      const r = resolveConfig(input(name, sources));
      expect({ sources, value: r.values[name], source: r.sources[name] }).toEqual({ sources, value: expected, source });
    }
  });

  test('the settings object carries the resolved values, peer lists grouped per socket', () => {
    fs.writeFileSync(file, 'cold-vkey = "/k/cold.vkey"\ncontrol-uids = [1000]\nservice-uids = [1001]\nservice-gids = [1002, 1003]\nlog-format = "json"\n');
    const r = resolveConfig({ flags: { logLevel: 'debug' }, configFlag: file, env: BASE_ENV, defaultConfigPath: missingDefault });
    expect(r.settings).toEqual({
      coldVkey: '/k/cold.vkey',
      network: 'mainnet',
      genesis: undefined,
      controlSocket: defaultControlSocket(BASE_ENV),
      serviceSocket: defaultServiceSocket(BASE_ENV),
      logLevel: 'debug',
      logFormat: 'json',
      allowUnlockedMemory: false,
      controlAccess: { uids: [1000], gids: [] },
      serviceAccess: { uids: [1001], gids: [1002, 1003] },
    });
    expect(r.file).toEqual({ path: file, source: 'flag', read: true });
  });

  test('a boolean flag can turn off what the file turns on (--no-allow-unlocked-memory)', () => {
    fs.writeFileSync(file, 'cold-vkey = "c"\nallow-unlocked-memory = true\n');
    const r = resolveConfig({ flags: { allowUnlockedMemory: false }, configFlag: file, env: {}, defaultConfigPath: missingDefault });
    expect([r.settings.allowUnlockedMemory, r.sources.allowUnlockedMemory]).toEqual([false, 'flag']);
  });

  test('an empty env value or empty flag counts as not set', () => {
    fs.writeFileSync(file, 'cold-vkey = "/c.vkey"\nlog-level = "warn"\n');
    const r = resolveConfig({ flags: { logLevel: '', controlUids: [] }, configFlag: file, env: { KES_AGENT_LOG_LEVEL: '', KES_AGENT_CONTROL_UIDS: '' }, defaultConfigPath: missingDefault });
    expect([r.settings.logLevel, r.sources.logLevel]).toEqual(['warn', 'file']);
    expect(r.sources.controlUids).toBe('default');
  });
});

describe('which config file', () => {
  const cold = { [SETTINGS.coldVkey.env]: '/c.vkey' };

  test('--config beats KES_AGENT_CONFIG beats the default path', () => {
    const other = path.join(dir, 'other.toml');
    fs.writeFileSync(file, 'log-level = "debug"\n');
    fs.writeFileSync(other, 'log-level = "error"\n');
    const byFlag = resolveConfig({ flags: {}, configFlag: file, env: { ...cold, [CONFIG_ENV]: other }, defaultConfigPath: missingDefault });
    expect([byFlag.file.source, byFlag.settings.logLevel]).toEqual(['flag', 'debug']);
    const byEnv = resolveConfig({ flags: {}, env: { ...cold, [CONFIG_ENV]: other }, defaultConfigPath: file });
    expect([byEnv.file.source, byEnv.settings.logLevel]).toEqual(['env', 'error']);
    const byDefault = resolveConfig({ flags: {}, env: cold, defaultConfigPath: file });
    expect([byDefault.file, byDefault.settings.logLevel]).toEqual([{ path: file, source: 'default', read: true }, 'debug']);
  });

  test('a missing default file is not an error: nothing is read', () => {
    const r = resolveConfig({ flags: {}, env: cold, defaultConfigPath: missingDefault });
    expect(r.file).toEqual({ path: missingDefault, source: 'default', read: false });
    expect(r.sources.logLevel).toBe('default');
  });

  test('the default path is /etc/kes-agent/agent.toml', () => {
    expect(DEFAULT_CONFIG_PATH).toBe('/etc/kes-agent/agent.toml');
  });

  test.each([
    ['--config', { configFlag: 'MISSING' }, {}],
    [CONFIG_ENV, {}, { [CONFIG_ENV]: 'MISSING' }],
  ])('a missing file named by %s is an error naming it', (via, extra, env) => {
    const missing = path.join(dir, 'missing.toml');
    const i: ConfigInput = { flags: {}, env: { ...cold, ...env }, defaultConfigPath: missingDefault, ...extra };
    const fixed = JSON.parse(JSON.stringify(i).replace(/MISSING/g, missing)) as ConfigInput;
    expect(() => resolveConfig(fixed)).toThrow(expect.objectContaining({ code: 'FILE_UNREADABLE', message: `config file ${missing} (from ${via}): no such file` }));
  });

  test('a default file that exists but cannot be read is an error, not skipped', () => {
    fs.mkdirSync(file); // a directory where the file should be
    expect(() => resolveConfig({ flags: {}, env: cold, defaultConfigPath: file })).toThrow(/is a directory/);
  });
});

describe('bad values name their place and what was expected', () => {
  const cold = { [SETTINGS.coldVkey.env]: '/c.vkey' };
  const resolve = (flags: ConfigInput['flags'], env: NodeJS.ProcessEnv = {}): unknown =>
    resolveConfig({ flags, env: { ...cold, ...env }, defaultConfigPath: missingDefault });

  test.each<[ConfigInput['flags'], string]>([
    [{ logLevel: 'chatty' }, '--log-level: unknown log level "chatty"; expected one of debug, info, warn, error'],
    [{ network: 'testnet' }, '--network: unknown network "testnet"; expected one of mainnet, preprod, preview'],
    [{ logFormat: 'xml' }, '--log-format: unknown log format "xml"; expected one of text, json'],
    [{ controlUids: ['12', 'x'] }, '--control-uid: expected a list of uids/gids'],
    [{ serviceGids: '4294967295' }, '--service-gid: expected a list of uids/gids (integers 0..4294967294'],
    [{ serviceUids: '-1' }, '--service-uid: expected a list of uids/gids'],
  ])('flag %j → SETTING_INVALID (a usage error)', (flags, message) => {
    expect(() => resolve(flags)).toThrow(expect.objectContaining({ code: 'SETTING_INVALID', message: expect.stringContaining(message) }));
  });

  test.each<[NodeJS.ProcessEnv, string]>([
    [{ KES_AGENT_LOG_LEVEL: 'notice' }, 'environment variable KES_AGENT_LOG_LEVEL: unknown log level "notice"'],
    [{ KES_AGENT_ALLOW_UNLOCKED_MEMORY: 'yes' }, 'environment variable KES_AGENT_ALLOW_UNLOCKED_MEMORY: expected true or false, got "yes"'],
    [{ KES_AGENT_SERVICE_UIDS: '1000;1001' }, 'environment variable KES_AGENT_SERVICE_UIDS: expected a list of uids/gids'],
    [{ KES_AGENT_CONTROL_UIDS: Array.from({ length: 65 }, (_, i) => i).join(',') }, 'KES_AGENT_CONTROL_UIDS: expected a list of uids/gids (integers 0..4294967294, at most 64'],
  ])('env %j → CONFIG_INVALID', (env, message) => {
    expect(() => resolve({}, env)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(message) }));
  });

  test('a bad env value is refused even when a flag overrides it', () => {
    expect(() => resolve({ logLevel: 'debug' }, { KES_AGENT_LOG_LEVEL: 'loud' })).toThrow(/KES_AGENT_LOG_LEVEL/);
  });

  test('a missing cold key says every way to set it', () => {
    expect(() => resolveConfig({ flags: {}, env: {}, defaultConfigPath: missingDefault })).toThrow(
      new KesError('SETTING_INVALID', `cold-vkey is not set: pass --cold-vkey FILE, set KES_AGENT_COLD_VKEY, or set cold-vkey in ${missingDefault}`),
    );
  });

  test('a missing cold key names the Haskell agent\'s KES_AGENT_COLD_VK when it is set (it is not read)', () => {
    expect(() => resolveConfig({ flags: {}, env: { KES_AGENT_COLD_VK: '/etc/cold.vkey' }, defaultConfigPath: missingDefault })).toThrow(
      /cold-vkey is not set: .* \(KES_AGENT_COLD_VK is the Haskell agent's variable and is not read\)$/,
    );
  });
});

describe('settings that must agree', () => {
  test('network and genesis-file: mutually exclusive, named with their sources', () => {
    fs.writeFileSync(file, 'cold-vkey = "c"\ngenesis-file = "g.json"\n');
    const i = { configFlag: file, defaultConfigPath: missingDefault };
    expect(() => resolveConfig({ ...i, flags: { network: 'preview' }, env: {} })).toThrow(
      new KesError('SETTING_INVALID', `network (--network) and genesis-file (config file ${file}) are mutually exclusive: set only one`),
    );
    expect(() => resolveConfig({ ...i, flags: {}, env: { KES_AGENT_NETWORK: 'preview' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('network (KES_AGENT_NETWORK) and genesis-file') }),
    );
  });

  test('with a genesis file the default network is dropped, not reported as in use', () => {
    fs.writeFileSync(file, 'cold-vkey = "c"\ngenesis-file = "/g.json"\n');
    const r = resolveConfig({ flags: {}, configFlag: file, env: {}, defaultConfigPath: missingDefault });
    expect([r.settings.network, r.settings.genesis]).toEqual([undefined, '/g.json']);
  });

  test('the control and service sockets must differ, even spelt differently', () => {
    fs.writeFileSync(file, 'cold-vkey = "c"\ncontrol-path = "/run/k/a.sock"\n');
    expect(() => resolveConfig({ flags: { serviceSocket: '/run/k/../k/a.sock' }, configFlag: file, env: {}, defaultConfigPath: missingDefault })).toThrow(
      expect.objectContaining({ code: 'SETTING_INVALID', message: expect.stringContaining('must be different paths') }),
    );
  });
});

describe('planReload', () => {
  function resolved(toml: string): ReturnType<typeof resolveConfig> {
    fs.writeFileSync(file, toml);
    return resolveConfig({ flags: {}, configFlag: file, env: {}, defaultConfigPath: missingDefault });
  }

  test('reports changed settings in table order and which need a restart', () => {
    const a = resolved('cold-vkey = "/a.vkey"\nlog-level = "info"\nservice-uids = [1]\n');
    const b = resolved('cold-vkey = "/a.vkey"\nlog-level = "debug"\nservice-uids = [1, 2]\ncontrol-path = "/x.sock"\n');
    expect(planReload(a, b)).toEqual({ changed: ['controlSocket', 'logLevel', 'serviceUids'], needRestart: [] });
    const c = resolved('cold-vkey = "/b.vkey"\nlog-level = "debug"\nnetwork = "preview"\nallow-unlocked-memory = true\n');
    expect(planReload(a, c)).toEqual({ changed: ['coldVkey', 'network', 'logLevel', 'allowUnlockedMemory', 'serviceUids'], needRestart: ['coldVkey', 'network', 'allowUnlockedMemory'] });
    expect(planReload(a, resolved('cold-vkey = "/a.vkey"\nservice-uids = [1]\n'))).toEqual({ changed: [], needRestart: [] });
  });

  test('only the cold key, the chain and the memory policy need a restart', () => {
    expect(SETTING_NAMES.filter((n) => !SETTINGS[n].reloadable)).toEqual(['coldVkey', 'network', 'genesis', 'allowUnlockedMemory']);
  });
});
