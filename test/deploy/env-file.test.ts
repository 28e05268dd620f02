/**
 * deploy/kes-agent.env and deploy/agent.toml against the settings table (src/config/settings.ts):
 * every variable and key they mention is a real setting, every setting is mentioned, and every
 * example value is one the agent accepts, so an operator who uncomments a line gets a working
 * setting, not an error at 3 a.m.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_ENV, SETTINGS, SETTING_NAMES, parseConfigText, readConfigFile, type SettingName } from '../../src/config';
import { ROOT } from '../helpers/processes';

const ENV_PATH = path.join(ROOT, 'deploy', 'kes-agent.env');
const TOML_PATH = path.join(ROOT, 'deploy', 'agent.toml');

const BY_ENV = new Map<string, SettingName>(SETTING_NAMES.map((n) => [SETTINGS[n].env, n]));
const BY_TOML = new Map<string, SettingName>(SETTING_NAMES.map((n) => [SETTINGS[n].toml, n]));

interface EnvLine { line: number; name: string; value: string; above: string | undefined }

/** `#NAME=value` lines (commented-out assignments) and any live `NAME=value` lines. */
function readEnvFile(text: string): { commented: EnvLine[]; live: EnvLine[]; other: string[] } {
  const lines = text.split('\n');
  const commented: EnvLine[] = [];
  const live: EnvLine[] = [];
  const other: string[] = [];
  lines.forEach((raw, i) => {
    const above = i > 0 ? lines[i - 1] : undefined;
    const c = /^#([A-Z][A-Z0-9_]*)=(.*)$/.exec(raw);
    if (c) return void commented.push({ line: i + 1, name: c[1]!, value: c[2]!, above });
    const l = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (l) return void live.push({ line: i + 1, name: l[1]!, value: l[2]!, above });
    if (raw !== '' && !raw.startsWith('#')) other.push(`${i + 1}: ${raw}`);
  });
  return { commented, live, other };
}

describe('deploy/kes-agent.env', () => {
  const text = fs.readFileSync(ENV_PATH, 'utf8');
  const env = readEnvFile(text);

  test('everything is commented out: settings belong in agent.toml', () => {
    expect(env.live).toEqual([]);
    expect(env.other).toEqual([]);
  });

  test('every variable is a setting of `kes-agent run` (or the config file variable)', () => {
    const unknown = env.commented.filter((v) => !BY_ENV.has(v.name) && v.name !== CONFIG_ENV).map((v) => v.name);
    expect(unknown).toEqual([]);
    expect(env.commented.length).toBeGreaterThan(0);
  });

  test('every setting has its variable in the file, once', () => {
    const names = env.commented.map((v) => v.name);
    expect([...names].sort()).toEqual([...SETTING_NAMES.map((n) => SETTINGS[n].env), CONFIG_ENV].sort());
  });

  test('every variable has an explanation right above it', () => {
    const bare = env.commented.filter((v) => v.above === undefined || !/^# \S/.test(v.above)).map((v) => v.name);
    expect(bare).toEqual([]);
  });

  test('every example value is accepted by its setting (empty means "set nothing")', () => {
    const refused = env.commented
      .filter((v) => v.value !== '' && BY_ENV.has(v.name))
      .filter((v) => SETTINGS[BY_ENV.get(v.name)!].kind.fromText(v.value) === undefined)
      .map((v) => `${v.name}=${v.value}`);
    expect(refused).toEqual([]);
  });

  test('EnvironmentFile syntax: no quotes, no spaces around =, no export', () => {
    for (const v of env.commented) {
      expect(v.value).not.toMatch(/^["']|\s/);
      expect(v.name).not.toMatch(/^export/);
    }
  });
});

describe('deploy/agent.toml', () => {
  const text = fs.readFileSync(TOML_PATH, 'utf8');

  test('the agent reads it as it stands', () => {
    const file = readConfigFile(TOML_PATH);
    expect(file.values.coldVkey).toBe('/etc/kes-agent/cold.vkey');
    expect(file.values.network).toBe('mainnet');
    expect(file.values.logLevel).toBe('info');
  });

  test('with every commented example switched on (bar the genesis alternative), it still reads', () => {
    const all = text.replace(/^# ((?!genesis )[a-z-]+ = .*)$/gm, '$1');
    expect(all).not.toBe(text);
    const file = parseConfigText(all, TOML_PATH);
    expect(file.values.serviceUids).toEqual([1001]);
    expect(file.values.allowUnlockedMemory).toBe(false);
  });

  test('the genesis alternative reads too (instead of network)', () => {
    const alt = text.replace(/^network = .*$/m, '').replace(/^# (genesis = .*)$/m, '$1');
    expect(parseConfigText(alt, TOML_PATH).values.genesis).toBe('/etc/kes-agent/shelley-genesis.json');
  });

  test('every setting appears (set or as a commented example), and every key is a setting', () => {
    const keys = [...text.matchAll(/^(?:# )?([a-z][a-z-]*) = /gm)].map((m) => m[1]!);
    expect(keys.filter((k) => !BY_TOML.has(k))).toEqual([]);
    expect([...new Set(keys)].sort()).toEqual(SETTING_NAMES.map((n) => SETTINGS[n].toml).sort());
  });
});
