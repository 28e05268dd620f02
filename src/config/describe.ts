/**
 * The effective settings as check-config and the reload log show them: TOML key, value, and
 * where the value came from. Nothing in the configuration is secret, and nothing secret can be
 * added to it: a setting holds paths, names, flags and ids, never key bytes.
 */
import type { ConfigFileRef } from './config-location';
import type { Source } from './precedence';
import type { ResolvedConfig } from './resolve';
import { SETTINGS, SETTING_NAMES, type SettingName } from './settings';
import type { ValueKind } from './value-kinds';

export interface SettingRow {
  readonly name: SettingName;
  /** The TOML key, which is also the name used in messages. */
  readonly key: string;
  /** `null`: an optional setting nobody set. */
  readonly value: string | boolean | readonly number[] | readonly string[] | null;
  readonly shown: string;
  readonly source: Source;
  /** The flag, the env variable, "config file <path>" or "default". */
  readonly from: string;
  readonly reloadable: boolean;
}

export function describeConfig(r: ResolvedConfig): SettingRow[] {
  return SETTING_NAMES.map((name) => {
    const spec = SETTINGS[name];
    const kind = spec.kind as ValueKind<unknown>;
    const v = r.values[name];
    const source = r.sources[name];
    return {
      name,
      key: spec.toml,
      value: v === undefined ? null : kind.json(v),
      shown: v === undefined ? notSetText(name, r) : kind.show(v),
      source,
      from: describeSource(name, source, r.file, r.via[name]),
      reloadable: spec.reloadable,
    };
  });
}

/**
 * "--log-level", "KES_AGENT_LOG_LEVEL", "config file /etc/kes-agent/agent.toml" or "default".
 * `via`: the flag or variable name the value was given under (an alias), if not our own.
 */
export function describeSource(name: SettingName, source: Source, file: Pick<ConfigFileRef, 'path'>, via?: string): string {
  const spec = SETTINGS[name];
  switch (source) {
    case 'flag':
      return via ?? spec.flag;
    case 'env':
      return via ?? spec.env;
    case 'file':
      // An old key name still works; saying so lets the operator move to the new one.
      return via === undefined ? `config file ${file.path}` : `config file ${file.path} (as ${via}, the old name of ${spec.toml})`;
    case 'default':
      return 'default';
  }
}

function notSetText(name: SettingName, r: ResolvedConfig): string {
  if (name === 'network' && r.values.genesis !== undefined) return '(from genesis)';
  if (name === 'controlSocket') return '(disabled)';
  return '(none)';
}

/** `key=value` pairs for one log line; lists as comma-separated text. */
export function logFieldsFor(r: ResolvedConfig, names: readonly SettingName[]): Record<string, string | boolean | null> {
  const rows = new Map(describeConfig(r).map((row) => [row.name, row]));
  const fields: Record<string, string | boolean | null> = {};
  for (const n of names) {
    const row = rows.get(n)!;
    fields[row.key] = Array.isArray(row.value) ? row.value.join(',') : (row.value as string | boolean | null);
  }
  return fields;
}
