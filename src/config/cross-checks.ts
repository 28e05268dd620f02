/**
 * The checks no one setting can make on its own, run once every setting has its value: the
 * required cold key, network against genesis, and the two sockets.
 */
import * as path from 'node:path';
import { KesError } from '../errors';
import type { ConfigFileRef } from './config-location';
import { describeSource } from './describe';
import type { Choices, Source } from './precedence';
import { SETTINGS, type SettingName } from './settings';

/**
 * @throws KesError SETTING_INVALID (cold-vkey set nowhere, or a conflict a flag is part of),
 *   CONFIG_INVALID (a conflict between env and file values).
 */
export function checkAcrossSettings({ values: v, sources, via }: Choices, file: Pick<ConfigFileRef, 'path'>): void {
  const where = (name: SettingName): string => describeSource(name, sources[name], file, via[name]);
  if (v.coldVkey === undefined) {
    throw new KesError(
      'SETTING_INVALID',
      `cold-vkey is not set: pass ${SETTINGS.coldVkey.flag} FILE, set ${SETTINGS.coldVkey.env}, or set cold-vkey in ${file.path}`,
    );
  }
  if (v.genesis !== undefined && sources.network !== 'default') {
    throw conflict(['network', 'genesis'], sources, `${SETTINGS.network.toml} (${where('network')}) and ${SETTINGS.genesis.toml} (${where('genesis')}) are mutually exclusive: set only one`);
  }
  // Empty: no control socket (the Haskell agent's `-c ""`).
  const control = v.controlSocket;
  if (control !== '' && path.resolve(control!) === path.resolve(v.serviceSocket!)) {
    throw conflict(
      ['controlSocket', 'serviceSocket'],
      sources,
      `${SETTINGS.controlSocket.toml} (${where('controlSocket')}) and ${SETTINGS.serviceSocket.toml} (${where('serviceSocket')}) are the same path ${control}: the control and service sockets must be different paths`,
    );
  }
}

/** A conflict is a command-line mistake if a flag is part of it, else the file's or env's. */
function conflict(names: SettingName[], sources: Readonly<Record<SettingName, Source>>, message: string): KesError {
  return new KesError(names.some((n) => sources[n] === 'flag') ? 'SETTING_INVALID' : 'CONFIG_INVALID', message);
}
