/**
 * `kes-agent check-config`: the settings `kes-agent run` would use with the same flags and
 * environment, and where each came from. Run it before `systemctl reload kes-agent`.
 */
import { Command, Option } from 'clipanion';
import { readColdVerificationKeyFile } from '../../cardano';
import { SETTINGS, describeConfig, describeSource, type ResolvedConfig, type SettingName, type SettingRow } from '../../config';
import { KesError } from '../../errors';
import { MAX_SOCKET_PATH_BYTES } from '../../platform/socket-paths';
import { EXIT } from '../exit-codes';
import { resolveTiming } from '../common/timing';
import { AgentSettingsCommand } from './settings-command';
import { nodeConfirmDeadline } from '../../server/limits';
import { checkStartup } from '../../server/startup-checks';

/** Width of the key column in the text output (the longest key is allow-unlocked-memory). */
const KEY_COLUMN = 23;

export class CheckConfigCommand extends AgentSettingsCommand {
  static override paths = [['check-config']];
  static override usage = Command.Usage({
    description: 'Print the effective settings and where each came from',
    details: `
      Resolves the settings exactly as \`kes-agent run\` would with the same flags and
      environment (flags, then KES_AGENT_* variables, then the config file, then defaults) and
      prints each with its source. It also reads the cold verification key and the genesis file,
      and makes the start-up checks of \`run\` (the same code): each socket's directory exists
      and is safe, nothing is listening at a socket path and no other kind of file is there, and
      RLIMIT_MEMLOCK allows locking key memory. It binds nothing, removes nothing and locks
      nothing.

      Exit 0 when the settings are valid; otherwise one line on stderr and exit 2 (a flag) or 3
      (the file, an environment variable, or a file it points to), naming the setting; what
      stops \`run\` at start-up gives run's line and exit code (3 for a socket, 11 for memory).
      Nothing in the configuration is secret.
    `,
    examples: [
      ['Check /etc/kes-agent/agent.toml', '$0 check-config'],
      ['Check another file, as JSON', '$0 check-config --config ./agent.toml --json'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'One JSON object on stdout' });

  async execute(): Promise<number> {
    const resolved = this.resolveSettings();
    checkWhatRunWouldRead(resolved);
    // run refuses the test-suite hook outside the suite; so does the check of what run would do.
    nodeConfirmDeadline(this.context.env);
    const s = resolved.settings;
    await checkStartup({ controlSocket: s.controlSocket, serviceSocket: s.serviceSocket, allowUnlockedMemory: s.allowUnlockedMemory });
    const rows = describeConfig(resolved);
    if (this.json) {
      this.printJson({
        configFile: resolved.file,
        settings: Object.fromEntries(rows.map((r) => [r.key, { value: r.value, source: r.source, from: r.from, reloadable: r.reloadable }])),
      });
    } else {
      this.print(formatText(resolved, rows));
    }
    return EXIT.OK;
  }
}

/** The files and paths `run` would touch before it holds a key. */
function checkWhatRunWouldRead(r: ResolvedConfig): void {
  const s = r.settings;
  // Each failure names the setting and where its value came from, keeping the reader's code.
  const about = (name: SettingName, check: () => void): void => {
    try {
      check();
    } catch (e) {
      if (!(e instanceof KesError)) throw e;
      throw new KesError(e.code, `${SETTINGS[name].toml} (${describeSource(name, r.sources[name], r.file, r.via[name])}): ${e.message}`, { cause: e });
    }
  };
  about(s.genesis !== undefined ? 'genesis' : 'network', () => resolveTiming(s.network, s.genesis));
  about('coldVkey', () => readColdVerificationKeyFile(s.coldVkey));
  for (const name of ['controlSocket', 'serviceSocket'] as const) {
    const p = s[name];
    if (p !== null && Buffer.byteLength(p) > MAX_SOCKET_PATH_BYTES) {
      const why = `${SETTINGS[name].toml} ${p} (${describeSource(name, r.sources[name], r.file, r.via[name])}): ${Buffer.byteLength(p)} bytes; the limit is ${MAX_SOCKET_PATH_BYTES}`;
      // A bad flag is a command-line mistake (exit 2); a bad file or env value is bad input (exit 3).
      throw new KesError(r.sources[name] === 'flag' ? 'SOCKET_PATH_TOO_LONG' : 'CONFIG_INVALID', why);
    }
  }
}

function formatText(r: ResolvedConfig, rows: readonly SettingRow[]): string {
  const file = r.file.read
    ? `${r.file.path} (${r.file.source === 'default' ? 'default path' : r.file.from})`
    : `${r.file.path} (default path; no file there, none read)`;
  const lines = [`${'config file'.padEnd(KEY_COLUMN)}${file}`];
  const valueColumn = Math.max(...rows.map((row) => row.shown.length)) + 2;
  for (const row of rows) {
    const from = row.source === 'flag' ? `flag ${row.from}` : row.source === 'env' ? `env ${row.from}` : row.source;
    lines.push(`${row.key.padEnd(KEY_COLUMN)}${row.shown.padEnd(valueColumn)}${from}${row.reloadable ? '' : '  (restart to change)'}`);
  }
  return lines.join('\n') + '\n';
}
