/**
 * What a SIGHUP reload would change, and whether it may.
 *
 * The cold key, the chain (network or genesis) and the memory policy are fixed for the life of
 * the process: the keys it holds were checked against them. Changing one live would leave an
 * active key certified under another cold key, or evolving on another chain's clock; so a
 * reload that changes any of them is refused whole and the agent keeps running as it was.
 */
import { SETTINGS, SETTING_NAMES, type SettingName } from './settings';
import type { ResolvedConfig } from './resolve';
import type { ValueKind } from './value-kinds';

export interface ReloadPlan {
  /** Settings whose value differs, in table order. */
  readonly changed: readonly SettingName[];
  /** The changed settings that need a restart; non-empty means "refuse the reload". */
  readonly needRestart: readonly SettingName[];
}

export function planReload(current: ResolvedConfig, next: ResolvedConfig): ReloadPlan {
  const changed = SETTING_NAMES.filter((n) => !sameValue(n, current.values[n], next.values[n]));
  return { changed, needRestart: changed.filter((n) => !SETTINGS[n].reloadable) };
}

export function sameValue(name: SettingName, a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (SETTINGS[name].kind as ValueKind<unknown>).equal(a, b);
}
