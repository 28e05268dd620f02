/**
 * Every setting of `kes-agent run`, in ONE table: its TOML key, flag, environment variable,
 * kind, default, documentation, and whether SIGHUP may change it while keys are held.
 *
 * One name per setting: the TOML key `control-socket` is the flag `--control-socket` and the
 * variable KES_AGENT_CONTROL_SOCKET. The Haskell agent's names are aliases (`haskell`, and
 * `tomlAliases` for its agent.toml keys control-path and service-path; docs/migrating-from-haskell.md),
 * so an operator's existing unit, env file and agent.toml keep working.
 */
import { LOG_LEVELS, type LogFormat, type LogLevel } from '../platform/logger';
import {
  CONTROL_SOCKET_ENV,
  HASKELL_CONTROL_PATH_ENV,
  HASKELL_SERVICE_PATH_ENV,
  SERVICE_SOCKET_ENV,
  defaultControlSocket,
  defaultServiceSocket,
} from '../platform/socket-paths';
import { DEFAULT_NETWORK, NETWORK_NAMES, type NetworkName } from '../time';
import type { PeerAccess } from '../platform/peer-access';
import { METRICS_ADDRESS_KIND } from '../metrics/address';
import { BOOL_KIND, ID_LIST_KIND, OPTIONAL_PATH_KIND, PATH_KIND, PATH_LIST_KIND, choiceKind, type ValueKind } from './value-kinds';

// Who may connect to a socket besides the agent's own uid; the SO_PEERCRED check owns the type.
export type { PeerAccess } from '../platform/peer-access';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/**
 * The Haskell agent's log levels (`readLogLevel`, docs/haskell-protocol.md §10) that are not
 * ours, as ours. Its Notice events (listening, client connected, key installed/evolved) are the
 * ones we log at info, so notice = info; we have nothing above error.
 */
export const HASKELL_LOG_LEVELS: Readonly<Record<string, LogLevel>> = Object.freeze({ notice: 'info', critical: 'error', emergency: 'error' });

/**
 * The Haskell kes-agent's name for a setting where it differs from ours (docs/haskell-protocol.md §10): an
 * alias of the same setting, so an operator can swap binaries and keep their unit, env file and agent.toml
 * (its TOML keys that differ are `tomlAliases`).
 */
export interface HaskellNames {
  /** Long flag, e.g. `--control-address`. */
  readonly flag?: string;
  /** Its one-letter form, e.g. `-c`. */
  readonly short?: string;
  readonly env?: string;
}

export interface SettingSpec<T> {
  readonly toml: string;
  /** Other TOML keys read as this setting (the Haskell agent's, and ours before they lined up). */
  readonly tomlAliases?: readonly string[];
  readonly flag: string;
  /** A one-letter form of `flag`, as the Haskell agent has it (`-l` for --log-level). */
  readonly short?: string;
  readonly env: string;
  /** Other variables read as this setting (ours before the names lined up). */
  readonly envAliases?: readonly string[];
  readonly haskell?: HaskellNames;
  /**
   * An empty value from the Haskell flag or variable, or from the file, means "off" (Haskell:
   * `-c ""` disables the control socket). Our own flag and variable keep "empty = not given".
   */
  readonly emptyDisables?: boolean;
  readonly kind: ValueKind<T>;
  /** The value when no source sets it; `undefined` = no value (optional, or `required`). */
  readonly fallback: (env: NodeJS.ProcessEnv) => T | undefined;
  /** Shown by check-config and the example file when the default depends on the machine. */
  readonly fallbackDoc: string;
  readonly required: boolean;
  /**
   * Values from every source are joined (a set union) instead of the highest source winning:
   * the Haskell agent's bootstrap paths (github.com/input-output-hk/kes-agent cli/AgentMain.hs: a `Set` semigroup).
   */
  readonly union?: boolean;
  /** May SIGHUP change it while the agent runs? */
  readonly reloadable: boolean;
  readonly doc: string;
}

function setting<T>(s: SettingSpec<T>): SettingSpec<T> {
  return s;
}

const none = (): undefined => undefined;

export const SETTINGS = {
  coldVkey: setting<string>({
    toml: 'cold-vkey',
    flag: '--cold-vkey',
    env: 'KES_AGENT_COLD_VKEY',
    haskell: { flag: '--cold-verification-key', env: 'KES_AGENT_COLD_VK' },
    kind: PATH_KIND,
    fallback: none,
    fallbackDoc: '(required)',
    required: true,
    reloadable: false,
    doc: "The pool's cold verification key (StakePoolVerificationKey_ed25519 envelope); every opcert must be signed by it",
  }),
  network: setting<NetworkName>({
    toml: 'network',
    flag: '--network',
    env: 'KES_AGENT_NETWORK',
    kind: choiceKind(NETWORK_NAMES, 'network'),
    fallback: () => DEFAULT_NETWORK,
    fallbackDoc: `${DEFAULT_NETWORK} (unless genesis-file is set)`,
    required: false,
    reloadable: false,
    doc: 'Which chain\'s KES periods to follow; mutually exclusive with genesis-file',
  }),
  genesis: setting<string>({
    toml: 'genesis',
    tomlAliases: ['genesis-file'],
    flag: '--genesis',
    env: 'KES_AGENT_GENESIS',
    envAliases: ['KES_AGENT_GENESIS_FILE'],
    haskell: { flag: '--genesis-file' },
    kind: PATH_KIND,
    fallback: none,
    fallbackDoc: '(none)',
    required: false,
    reloadable: false,
    doc: 'Shelley genesis file: a private testnet\'s, or the mainnet or preprod one (recognised by networkMagic; gives that network\'s built-in era history, as network would)',
  }),
  controlSocket: setting<string>({
    toml: 'control-socket',
    tomlAliases: ['control-path'],
    flag: '--control-socket',
    env: CONTROL_SOCKET_ENV,
    haskell: { flag: '--control-address', short: '-c', env: HASKELL_CONTROL_PATH_ENV },
    emptyDisables: true,
    kind: OPTIONAL_PATH_KIND,
    fallback: (env) => defaultControlSocket(env),
    fallbackDoc: 'control.sock in /run/kes-agent (root), $XDG_RUNTIME_DIR/kes-agent, or a per-user temp dir',
    required: false,
    reloadable: true,
    doc: 'Control socket for kes-ctl (mode 0600); empty (-c "", KES_AGENT_CONTROL_PATH="", control-socket = "") runs without one',
  }),
  serviceSocket: setting<string>({
    toml: 'service-socket',
    tomlAliases: ['service-path'],
    flag: '--service-socket',
    env: SERVICE_SOCKET_ENV,
    haskell: { flag: '--service-address', short: '-s', env: HASKELL_SERVICE_PATH_ENV },
    kind: PATH_KIND,
    fallback: (env) => defaultServiceSocket(env),
    fallbackDoc: 'service.sock next to the default control socket',
    required: false,
    reloadable: true,
    doc: 'Service socket for block producers (mode 0660)',
  }),
  logLevel: setting<LogLevel>({
    toml: 'log-level',
    flag: '--log-level',
    short: '-l',
    env: 'KES_AGENT_LOG_LEVEL',
    kind: choiceKind(LOG_LEVELS, 'log level', HASKELL_LOG_LEVELS),
    fallback: () => 'info',
    fallbackDoc: 'info',
    required: false,
    reloadable: true,
    doc: `Lowest level logged: ${LOG_LEVELS.join(', ')}; the Haskell kes-agent's other levels are accepted as ${Object.entries(HASKELL_LOG_LEVELS).map(([h, o]) => `${h}=${o}`).join(', ')}`,
  }),
  logFormat: setting<LogFormat>({
    toml: 'log-format',
    flag: '--log-format',
    env: 'KES_AGENT_LOG_FORMAT',
    kind: choiceKind(LOG_FORMATS, 'log format'),
    fallback: () => 'text',
    fallbackDoc: 'text',
    required: false,
    reloadable: true,
    doc: 'One line per event: text (key=value) or json (one object)',
  }),
  allowUnlockedMemory: setting<boolean>({
    toml: 'allow-unlocked-memory',
    flag: '--allow-unlocked-memory',
    env: 'KES_AGENT_ALLOW_UNLOCKED_MEMORY',
    kind: BOOL_KIND,
    fallback: () => false,
    fallbackDoc: 'false',
    required: false,
    reloadable: false,
    doc: 'Run even if key memory cannot be locked (RLIMIT_MEMLOCK too low); keys may then reach swap. Warned at every start and in status',
  }),
  controlUids: setting<readonly number[]>({
    toml: 'control-uid',
    tomlAliases: ['control-uids'],
    flag: '--control-uid',
    env: 'KES_AGENT_CONTROL_UID',
    envAliases: ['KES_AGENT_CONTROL_UIDS'],
    kind: ID_LIST_KIND,
    fallback: () => [],
    fallbackDoc: '(none: only the agent\'s own uid)',
    required: false,
    reloadable: true,
    doc: 'Extra uids allowed on the control socket besides the agent\'s own. The socket is mode 0600, so only root gets past the file mode: in practice, list 0 to let root run kes-ctl',
  }),
  serviceUids: setting<readonly number[]>({
    toml: 'service-uid',
    tomlAliases: ['service-uids'],
    flag: '--service-uid',
    env: 'KES_AGENT_SERVICE_UID',
    envAliases: ['KES_AGENT_SERVICE_UIDS'],
    kind: ID_LIST_KIND,
    fallback: () => [],
    fallbackDoc: '(none: only the agent\'s own uid)',
    required: false,
    reloadable: true,
    doc: 'Extra uids allowed on the service socket besides the agent\'s own (the node\'s user)',
  }),
  serviceGids: setting<readonly number[]>({
    toml: 'service-gid',
    tomlAliases: ['service-gids'],
    flag: '--service-gid',
    env: 'KES_AGENT_SERVICE_GID',
    envAliases: ['KES_AGENT_SERVICE_GIDS'],
    kind: ID_LIST_KIND,
    fallback: () => [],
    fallbackDoc: '(none)',
    required: false,
    reloadable: true,
    doc: 'Extra gids allowed on the service socket (the gid SO_PEERCRED reports for the peer, i.e. its process\'s gid)',
  }),
  bootstrapPaths: setting<readonly string[]>({
    toml: 'bootstrap',
    tomlAliases: ['bootstrap-paths'],
    flag: '--bootstrap',
    env: 'KES_AGENT_BOOTSTRAP',
    envAliases: ['KES_AGENT_BOOTSTRAP_PATHS'],
    haskell: { flag: '--bootstrap-address', short: '-b' },
    kind: PATH_LIST_KIND,
    union: true,
    fallback: () => [],
    fallbackDoc: '(none)',
    required: false,
    reloadable: true,
    doc: "Other agents' service sockets to take the key from (agent-to-agent bootstrap): each is followed as a Service V2 client, and a newer valid bundle is installed here. Flags, environment and file are joined, as the Haskell kes-agent does",
  }),
  metrics: setting<string>({
    toml: 'metrics',
    flag: '--metrics',
    env: 'KES_AGENT_METRICS',
    kind: METRICS_ADDRESS_KIND,
    fallback: none,
    fallbackDoc: '(none: no metrics listener)',
    required: false,
    reloadable: false,
    doc: 'Serve Prometheus metrics (public values only) on GET /metrics at HOST:PORT (127.0.0.1:9101; an IP address, or localhost) or a Unix socket path containing "/"; unset: no listener',
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

type ValueOf<S> = S extends SettingSpec<infer T> ? T : never;
/** A value for each setting (`undefined`: an optional setting nobody set). */
export type SettingValues = { readonly [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> | undefined };

/** The settings as the agent uses them, after precedence and the cross-setting checks. */
export interface AgentSettings {
  readonly coldVkey: string;
  /** Unset when genesis is set. */
  readonly network: NetworkName | undefined;
  readonly genesis: string | undefined;
  /** `null`: no control socket (set empty, as the Haskell agent's `-c ""`). */
  readonly controlSocket: string | null;
  readonly serviceSocket: string;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly allowUnlockedMemory: boolean;
  readonly controlAccess: PeerAccess;
  readonly serviceAccess: PeerAccess;
  readonly bootstrapPaths: readonly string[];
  /** Where to serve metrics (METRICS_ADDRESS_KIND text); undefined: no metrics listener. */
  readonly metrics: string | undefined;
}

/** The agent's view of the values, once the checks across settings have passed (cold-vkey set). */
export function toAgentSettings(v: SettingValues): AgentSettings {
  return {
    coldVkey: v.coldVkey!,
    network: v.network,
    genesis: v.genesis,
    // Empty: no control socket (the Haskell agent's `-c ""`).
    controlSocket: v.controlSocket === '' ? null : v.controlSocket!,
    serviceSocket: v.serviceSocket!,
    logLevel: v.logLevel!,
    logFormat: v.logFormat!,
    allowUnlockedMemory: v.allowUnlockedMemory!,
    controlAccess: { uids: v.controlUids!, gids: [] },
    serviceAccess: { uids: v.serviceUids!, gids: v.serviceGids! },
    bootstrapPaths: v.bootstrapPaths ?? [],
    metrics: v.metrics,
  };
}

/** Settings the Haskell agent's agent.toml has and we do not, with what to do instead. */
export const HASKELL_ONLY_KEYS: Readonly<Record<string, string>> = {
  'log-target': 'logs always go to stdout, which systemd sends to the journal',
  user: 'run the agent as the user you want, e.g. with systemd User=',
  group: 'run the agent with the group you want, e.g. with systemd Group=; list node users in service-uids or service-gids',
};
