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
import { HASKELL_CONFIG_FLAG, HASKELL_LOG_LEVELS } from '../../src/config';
import { defaultControlSocket, defaultServiceSocket } from '../../src/platform/socket-paths';
import { thrownBy } from '../helpers/thrown';

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
  // A union (every source adds): the precedence cases below see only one source at a time for it.
  bootstrapPaths: { flag: ['/f/a.sock'], env: '/e/b.sock:/e/c.sock', toml: '["d.sock"]', fromFlag: ['/f/a.sock'], fromEnv: ['/e/b.sock', '/e/c.sock'], fromFile: ['<dir>/d.sock'], byDefault: () => [] },
  // A socket path in the file is relative to the file's directory; a TCP address stays as written.
  metrics: { flag: '127.0.0.1:9101', env: '[::1]:9102', toml: '"./m/metrics.sock"', fromFlag: '127.0.0.1:9101', fromEnv: '[::1]:9102', fromFile: '<dir>/m/metrics.sock', byDefault: () => undefined },
};

/** Settings whose sources are joined, not overridden (settings.ts `union`). */
const UNION = SETTING_NAMES.filter((n) => (SETTINGS[n] as { union?: boolean }).union === true);

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

const withDir = (v: unknown): unknown => (typeof v === 'string' ? v.replace('<dir>', dir) : Array.isArray(v) ? v.map(withDir) : v);

describe('precedence: flag > env > file > default, for every setting', () => {
  test('the samples cover every setting in the table', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...SETTING_NAMES].sort());
  });

  test('bootstrap-paths: flags (ours and -b), KES_AGENT_BOOTSTRAP_PATHS and the file are joined, duplicates once', () => {
    const r = resolveConfig({
      ...input('bootstrapPaths', { flag: true, env: true, file: true }),
      haskellFlags: { bootstrapPaths: ['/h/x.sock', '/f/a.sock'] },
    });
    expect([...r.values.bootstrapPaths!].sort()).toEqual(['/e/b.sock', '/e/c.sock', '/f/a.sock', '/h/x.sock', `${dir}/d.sock`].sort());
    expect(r.settings.bootstrapPaths).toEqual(r.values.bootstrapPaths);
    expect(r.sources.bootstrapPaths).toBe('flag');
  });

  test.each(SETTING_NAMES)('%s', (name) => {
    const s = SAMPLES[name];
    const union = UNION.includes(name);
    const cases: [{ flag?: boolean; env?: boolean; file?: boolean }, unknown, string][] = [
      ...(union ? [] : [[{ flag: true, env: true, file: true }, s.fromFlag, 'flag'] as [{ flag?: boolean; env?: boolean; file?: boolean }, unknown, string]]),
      [{ flag: true }, s.fromFlag, 'flag'],
      ...(union ? [] : [[{ env: true, file: true }, s.fromEnv, 'env'] as [{ flag?: boolean; env?: boolean; file?: boolean }, unknown, string]]),
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
    fs.writeFileSync(file, 'cold-vkey = "/k/cold.vkey"\ncontrol-uid = [1000]\nservice-uid = [1001]\nservice-gid = [1002, 1003]\nlog-format = "json"\n');
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
      bootstrapPaths: [],
      metrics: undefined,
    });
    expect(r.file).toEqual({ path: file, source: 'flag', from: '--config', read: true });
  });

  test('a boolean flag can turn off what the file turns on (--no-allow-unlocked-memory)', () => {
    fs.writeFileSync(file, 'cold-vkey = "c"\nallow-unlocked-memory = true\n');
    const r = resolveConfig({ flags: { allowUnlockedMemory: false }, configFlag: file, env: {}, defaultConfigPath: missingDefault });
    expect([r.settings.allowUnlockedMemory, r.sources.allowUnlockedMemory]).toEqual([false, 'flag']);
  });

  test('an empty env value or empty flag counts as not set', () => {
    fs.writeFileSync(file, 'cold-vkey = "/c.vkey"\nlog-level = "warn"\n');
    const r = resolveConfig({ flags: { logLevel: '', controlUids: [] }, configFlag: file, env: { KES_AGENT_LOG_LEVEL: '', KES_AGENT_CONTROL_UID: '' }, defaultConfigPath: missingDefault });
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
    expect([byDefault.file, byDefault.settings.logLevel]).toEqual([{ path: file, source: 'default', from: 'default', read: true }, 'debug']);
  });

  test('a missing default file is not an error: nothing is read', () => {
    const r = resolveConfig({ flags: {}, env: cold, defaultConfigPath: missingDefault });
    expect(r.file).toEqual({ path: missingDefault, source: 'default', from: 'default', read: false });
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
    [{ KES_AGENT_LOG_LEVEL: 'warning' }, 'environment variable KES_AGENT_LOG_LEVEL: unknown log level "warning"'],
    [{ KES_AGENT_ALLOW_UNLOCKED_MEMORY: 'yes' }, 'environment variable KES_AGENT_ALLOW_UNLOCKED_MEMORY: expected true or false, got "yes"'],
    [{ KES_AGENT_SERVICE_UID: '1000;1001' }, 'environment variable KES_AGENT_SERVICE_UID: expected a list of uids/gids'],
    [{ KES_AGENT_CONTROL_UID: Array.from({ length: 65 }, (_, i) => i).join(',') }, 'KES_AGENT_CONTROL_UID: expected a list of uids/gids (integers 0..4294967294, at most 64'],
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

});

describe('settings that must agree', () => {
  test('network and genesis: mutually exclusive, named with their sources', () => {
    fs.writeFileSync(file, 'cold-vkey = "c"\ngenesis = "g.json"\n');
    const i = { configFlag: file, defaultConfigPath: missingDefault };
    expect(() => resolveConfig({ ...i, flags: { network: 'preview' }, env: {} })).toThrow(
      new KesError('SETTING_INVALID', `network (--network) and genesis (config file ${file}) are mutually exclusive: set only one`),
    );
    expect(() => resolveConfig({ ...i, flags: {}, env: { KES_AGENT_NETWORK: 'preview' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('network (KES_AGENT_NETWORK) and genesis (') }),
    );
  });

  test('with a genesis file the default network is dropped, not reported as in use', () => {
    fs.writeFileSync(file, 'cold-vkey = "c"\ngenesis = "/g.json"\n');
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
    const a = resolved('cold-vkey = "/a.vkey"\nlog-level = "info"\nservice-uid = [1]\n');
    const b = resolved('cold-vkey = "/a.vkey"\nlog-level = "debug"\nservice-uid = [1, 2]\ncontrol-path = "/x.sock"\n');
    expect(planReload(a, b)).toEqual({ changed: ['controlSocket', 'logLevel', 'serviceUids'], needRestart: [] });
    const c = resolved('cold-vkey = "/b.vkey"\nlog-level = "debug"\nnetwork = "preview"\nallow-unlocked-memory = true\n');
    expect(planReload(a, c)).toEqual({ changed: ['coldVkey', 'network', 'logLevel', 'allowUnlockedMemory', 'serviceUids'], needRestart: ['coldVkey', 'network', 'allowUnlockedMemory'] });
    expect(planReload(a, resolved('cold-vkey = "/a.vkey"\nservice-uid = [1]\n'))).toEqual({ changed: [], needRestart: [] });
  });

  test('only the cold key, the chain, the memory policy and the metrics address need a restart', () => {
    expect(SETTING_NAMES.filter((n) => !SETTINGS[n].reloadable)).toEqual(['coldVkey', 'network', 'genesis', 'allowUnlockedMemory', 'metrics']);
  });
});

/**
 * The Haskell kes-agent's names (docs/haskell-protocol.md §10): aliases of our settings at
 * the same precedence level as our own names.
 */
describe('Haskell kes-agent names', () => {
  /** Settings with a Haskell flag or variable, with a sample value given as text. */
  const ALIASED: { name: SettingName; flag?: string; env?: string; sample: string; other: string }[] = [
    { name: 'coldVkey', flag: '--cold-verification-key', env: 'KES_AGENT_COLD_VK', sample: '/h/cold.vkey', other: '/o/cold.vkey' },
    { name: 'genesis', flag: '--genesis-file', sample: '/h/genesis.json', other: '/o/genesis.json' },
    { name: 'controlSocket', flag: '--control-address', env: 'KES_AGENT_CONTROL_PATH', sample: '/h/control.sock', other: '/o/control.sock' },
    { name: 'serviceSocket', flag: '--service-address', env: 'KES_AGENT_SERVICE_PATH', sample: '/h/service.sock', other: '/o/service.sock' },
  ];
  // -b/--bootstrap-address joins the other sources instead of beating them (tested above).
  const ALIAS_TABLE = [...ALIASED, { name: 'bootstrapPaths' as SettingName, flag: '--bootstrap-address', env: undefined }];
  const cold = (name: SettingName): NodeJS.ProcessEnv => (name === 'coldVkey' ? { ...BASE_ENV } : { ...BASE_ENV, KES_AGENT_COLD_VKEY: '/c.vkey' });

  test('the table names exactly these aliases', () => {
    const table = SETTING_NAMES.filter((n) => SETTINGS[n].haskell !== undefined).map((n) => ({ name: n, flag: SETTINGS[n].haskell?.flag, env: SETTINGS[n].haskell?.env }));
    expect(table).toEqual(ALIAS_TABLE.map((a) => ({ name: a.name, flag: a.flag, env: a.env })));
    expect(SETTINGS.controlSocket.haskell?.short).toBe('-c');
    expect(SETTINGS.serviceSocket.haskell?.short).toBe('-s');
    expect(SETTINGS.logLevel.short).toBe('-l');
  });

  test.each(ALIASED)('$name: the Haskell flag sets it, named as the source; it beats env and file', ({ name, flag, sample }) => {
    if (flag === undefined) return;
    fs.writeFileSync(file, `${SETTINGS[name].toml} = "/file/value"\n`);
    const r = resolveConfig({ flags: {}, haskellFlags: { [name]: sample }, configFlag: file, env: { ...cold(name), [SETTINGS[name].env]: '/env/value' }, defaultConfigPath: missingDefault });
    expect([r.values[name], r.sources[name], r.via[name]]).toEqual([sample, 'flag', flag]);
  });

  test.each(ALIASED.filter((a) => a.env !== undefined))('$name: the Haskell variable sets it, named as the source; it beats the file', ({ name, env, sample }) => {
    fs.writeFileSync(file, `${SETTINGS[name].toml} = "/file/value"\n`);
    const r = resolveConfig({ flags: {}, configFlag: file, env: { ...cold(name), [env!]: sample }, defaultConfigPath: missingDefault });
    expect([r.values[name], r.sources[name], r.via[name]]).toEqual([sample, 'env', env]);
  });

  test.each(ALIASED)('$name: our flag and the Haskell one: same value fine, different values one error naming both', ({ name, flag, sample, other }) => {
    if (flag === undefined) return;
    const i = { configFlag: undefined, env: cold(name), defaultConfigPath: missingDefault };
    const same = resolveConfig({ ...i, flags: { [name]: sample }, haskellFlags: { [name]: sample } });
    expect([same.values[name], same.via[name]]).toEqual([sample, SETTINGS[name].flag]);
    const e = thrownBy(() => resolveConfig({ ...i, flags: { [name]: sample }, haskellFlags: { [name]: other } }));
    expect(e).toEqual(
      new KesError('SETTING_INVALID', `${SETTINGS[name].flag} "${sample}" and ${flag} "${other}" are two flags for the same setting ${SETTINGS[name].toml} with different values: give only one`),
    );
  });

  test.each(ALIASED.filter((a) => a.env !== undefined))('$name: our variable and the Haskell one: same value fine, different values CONFIG_INVALID naming both', ({ name, env, sample, other }) => {
    const i = { flags: {}, defaultConfigPath: missingDefault };
    const same = resolveConfig({ ...i, env: { ...cold(name), [SETTINGS[name].env]: sample, [env!]: sample } });
    expect(same.values[name]).toBe(sample);
    const e = thrownBy(() => resolveConfig({ ...i, env: { ...cold(name), [SETTINGS[name].env]: sample, [env!]: other } }));
    expect(e).toEqual(
      new KesError('CONFIG_INVALID', `${SETTINGS[name].env} "${sample}" and ${env} "${other}" are two environment variables for the same setting ${SETTINGS[name].toml} with different values: give only one`),
    );
  });

  test('a flag (ours or Haskell) beats a variable (ours or Haskell) of the same setting: levels do not conflict', () => {
    const r = resolveConfig({ flags: { serviceSocket: '/f/s.sock' }, env: { ...cold('serviceSocket'), KES_AGENT_SERVICE_PATH: '/e/s.sock' }, defaultConfigPath: missingDefault });
    expect([r.values.serviceSocket, r.via.serviceSocket]).toEqual(['/f/s.sock', '--service-socket']);
    const h = resolveConfig({ flags: {}, haskellFlags: { serviceSocket: '/h/s.sock' }, env: { ...cold('serviceSocket'), KES_AGENT_SERVICE_SOCKET: '/e/s.sock' }, defaultConfigPath: missingDefault });
    expect([h.values.serviceSocket, h.via.serviceSocket]).toEqual(['/h/s.sock', '--service-address']);
  });

  test('a bad value under a Haskell name is refused naming that name', () => {
    expect(() => resolveConfig({ flags: {}, env: { ...BASE_ENV, KES_AGENT_COLD_VK: 'a\0b' }, defaultConfigPath: missingDefault })).toThrow(
      new KesError('CONFIG_INVALID', 'environment variable KES_AGENT_COLD_VK: expected a non-empty path string, got "a\\u0000b"'),
    );
    expect(() => resolveConfig({ flags: {}, haskellFlags: { coldVkey: 'a\0b' }, env: BASE_ENV, defaultConfigPath: missingDefault })).toThrow(
      expect.objectContaining({ code: 'SETTING_INVALID', message: expect.stringMatching(/^--cold-verification-key: expected a non-empty path string/) }),
    );
  });

  test('an empty Haskell cold-key or service variable counts as not given, as ours do', () => {
    const r = resolveConfig({ flags: {}, env: { ...BASE_ENV, KES_AGENT_COLD_VKEY: '/c.vkey', KES_AGENT_COLD_VK: '', KES_AGENT_SERVICE_PATH: '' }, defaultConfigPath: missingDefault });
    expect([r.values.coldVkey, r.sources.serviceSocket]).toEqual(['/c.vkey', 'default']);
  });

  describe('an empty control path disables the control socket (Haskell parseControlPath)', () => {
    test.each([
      ['-c ""', { haskellFlags: { controlSocket: '' } }, 'flag', '--control-address'],
      ['KES_AGENT_CONTROL_PATH=""', { env: { KES_AGENT_CONTROL_PATH: '' } }, 'env', 'KES_AGENT_CONTROL_PATH'],
      ['control-path = "" (the Haskell agent\'s key, an alias)', { toml: 'control-path = ""\n' }, 'file', 'control-path'],
      ['control-socket = ""', { toml: 'control-socket = ""\n' }, 'file', undefined],
    ] as const)('%s', (_label, how, source, via) => {
      fs.writeFileSync(file, 'toml' in how ? how.toml : '# none\n');
      const r = resolveConfig({
        flags: {},
        haskellFlags: 'haskellFlags' in how ? how.haskellFlags : {},
        configFlag: file,
        env: { ...cold('controlSocket'), ...('env' in how ? how.env : {}) },
        defaultConfigPath: missingDefault,
      });
      expect([r.settings.controlSocket, r.values.controlSocket, r.sources.controlSocket, r.via.controlSocket]).toEqual([null, '', source, via]);
    });

    test('our own --control-socket "" and KES_AGENT_CONTROL_SOCKET="" still mean "not given"', () => {
      const r = resolveConfig({ flags: { controlSocket: '' }, env: { ...cold('controlSocket'), KES_AGENT_CONTROL_SOCKET: '' }, defaultConfigPath: missingDefault });
      expect([r.settings.controlSocket, r.sources.controlSocket]).toEqual([defaultControlSocket(cold('controlSocket')), 'default']);
    });

    test('-c "" with --control-socket PATH is a conflict naming both', () => {
      expect(() => resolveConfig({ flags: { controlSocket: '/x.sock' }, haskellFlags: { controlSocket: '' }, env: cold('controlSocket'), defaultConfigPath: missingDefault })).toThrow(
        new KesError('SETTING_INVALID', '--control-socket "/x.sock" and --control-address "" are two flags for the same setting control-socket with different values: give only one'),
      );
    });

    test('a disabled control socket never collides with the service socket; a higher source can re-enable it', () => {
      fs.writeFileSync(file, 'control-path = ""\n');
      const r = resolveConfig({ flags: { controlSocket: '/c.sock' }, configFlag: file, env: cold('controlSocket'), defaultConfigPath: missingDefault });
      expect(r.settings.controlSocket).toBe('/c.sock');
    });

    test('SIGHUP planning sees enabling and disabling as a live change', () => {
      fs.writeFileSync(file, 'control-path = ""\n');
      const off = resolveConfig({ flags: {}, configFlag: file, env: cold('controlSocket'), defaultConfigPath: missingDefault });
      fs.writeFileSync(file, 'control-path = "/c.sock"\n');
      const on = resolveConfig({ flags: {}, configFlag: file, env: cold('controlSocket'), defaultConfigPath: missingDefault });
      expect(planReload(off, on)).toEqual({ changed: ['controlSocket'], needRestart: [] });
      expect(planReload(on, off)).toEqual({ changed: ['controlSocket'], needRestart: [] });
    });
  });

  describe('log levels: the Haskell agent\'s names map onto ours', () => {
    const MAP: [string, string][] = [
      ['debug', 'debug'],
      ['info', 'info'],
      ['notice', 'info'],
      ['warn', 'warn'],
      ['error', 'error'],
      ['critical', 'error'],
      ['emergency', 'error'],
    ];
    test('the table maps exactly the Haskell levels that are not ours', () => {
      expect(HASKELL_LOG_LEVELS).toEqual({ notice: 'info', critical: 'error', emergency: 'error' });
    });
    test.each(MAP)('%s → %s from -l, KES_AGENT_LOG_LEVEL and log-level', (haskell, ours) => {
      const flag = resolveConfig({ flags: { logLevel: haskell }, env: cold('logLevel'), defaultConfigPath: missingDefault });
      const env = resolveConfig({ flags: {}, env: { ...cold('logLevel'), KES_AGENT_LOG_LEVEL: haskell }, defaultConfigPath: missingDefault });
      fs.writeFileSync(file, `log-level = "${haskell}"\n`);
      const toml = resolveConfig({ flags: {}, configFlag: file, env: cold('logLevel'), defaultConfigPath: missingDefault });
      expect([flag.settings.logLevel, env.settings.logLevel, toml.settings.logLevel]).toEqual([ours, ours, ours]);
    });
    test('"warning" (what the Haskell TOML codec prints, but not what it reads) is refused', () => {
      expect(() => resolveConfig({ flags: { logLevel: 'warning' }, env: cold('logLevel'), defaultConfigPath: missingDefault })).toThrow(
        new KesError('SETTING_INVALID', '--log-level: unknown log level "warning"; expected one of debug, info, warn, error (or notice, critical, emergency)'),
      );
    });
  });

  describe('-F/--config-file names the config file', () => {
    test('read, and named as the source', () => {
      fs.writeFileSync(file, 'cold-vkey = "/c.vkey"\n');
      const r = resolveConfig({ flags: {}, haskellConfigFlag: file, env: { ...BASE_ENV, [CONFIG_ENV]: '/nope.toml' }, defaultConfigPath: missingDefault });
      expect(r.file).toEqual({ path: file, source: 'flag', from: HASKELL_CONFIG_FLAG, read: true });
      expect(r.values.coldVkey).toBe('/c.vkey');
    });
    test('with --config: the same file is fine, another is one error naming both', () => {
      fs.writeFileSync(file, 'cold-vkey = "/c.vkey"\n');
      expect(resolveConfig({ flags: {}, configFlag: file, haskellConfigFlag: file, env: BASE_ENV, defaultConfigPath: missingDefault }).file.from).toBe('--config');
      expect(() => resolveConfig({ flags: {}, configFlag: file, haskellConfigFlag: '/other.toml', env: BASE_ENV, defaultConfigPath: missingDefault })).toThrow(
        new KesError('SETTING_INVALID', `--config "${file}" and --config-file "/other.toml" name different config files: give only one`),
      );
    });
    test('a missing file named by -F is an error naming the flag', () => {
      expect(() => resolveConfig({ flags: {}, haskellConfigFlag: path.join(dir, 'nope.toml'), env: BASE_ENV, defaultConfigPath: missingDefault })).toThrow(
        expect.objectContaining({ code: 'FILE_UNREADABLE', message: `config file ${path.join(dir, 'nope.toml')} (from --config-file): no such file` }),
      );
    });
  });

  test("the Haskell agent's shipped agent.toml (systemd/etc/kes-agent/agent.toml) resolves, every key ours", () => {
    fs.writeFileSync(
      file,
      'cold-vkey="/etc/kes-agent/cold.vkey"\ngenesis-file="/etc/kes-agent/mainnet-shelley-genesis.json"\nservice-path="/tmp/kes-agent-service.socket"\ncontrol-path="/tmp/kes-agent-control.socket"\n',
    );
    const r = resolveConfig({ flags: {}, configFlag: file, env: BASE_ENV, defaultConfigPath: missingDefault });
    expect(r.settings).toMatchObject({
      coldVkey: '/etc/kes-agent/cold.vkey',
      genesis: '/etc/kes-agent/mainnet-shelley-genesis.json',
      serviceSocket: '/tmp/kes-agent-service.socket',
      controlSocket: '/tmp/kes-agent-control.socket',
    });
  });
});
