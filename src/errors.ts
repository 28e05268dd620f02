/**
 * Errors with stable codes, and their messages as one line for stderr or a log.
 *
 * A code is a contract: scripts, logs and the wire protocol match on it. Never rename or reuse
 * one; add new ones at the end of their group. Messages name the thing and what was expected,
 * and never contain secret bytes or internal exception text from a peer.
 */
export const ERROR_CODES = {
  // Arguments and data shapes
  INVALID_ARGUMENT: 'wrong type of argument',
  INVALID_LENGTH: 'wrong length',
  OUT_OF_RANGE: 'value out of range',
  // KES keys and signatures
  KES_KEY_DESTROYED: 'KES key used after destroy()',
  KES_KEY_EXHAUSTED: 'KES key cannot evolve past its last period',
  KES_KEY_INVALID: 'KES sign key failed validation',
  COLD_KEY_DESTROYED: 'cold signing key used after destroy()',
  // Files
  FILE_UNREADABLE: 'file cannot be read',
  FILE_NOT_ENVELOPE: 'file is not a cardano-cli text envelope',
  ENVELOPE_WRONG_TYPE: 'text envelope has the wrong type',
  ENVELOPE_BAD_HEX: 'text envelope cborHex is not hex',
  CBOR_MALFORMED: 'CBOR does not have the expected shape',
  FILE_WRITE_FAILED: 'file cannot be written',
  FILE_EXISTS: 'file already exists and was not overwritten',
  FILE_TOO_LARGE: 'file is larger than any valid file of its kind',
  FILE_IS_SYMLINK: 'an output path is a symbolic link, which is never written through or replaced',
  // Opcerts and counters
  OPCERT_BAD_SIGNATURE: 'opcert cold signature does not verify',
  OPCERT_WRONG_COLD_KEY: 'opcert was issued by another cold key',
  COUNTER_WRONG_COLD_KEY: 'counter file belongs to another cold key',
  COLD_KEY_MISMATCH: 'cold signing key does not match the cold verification key',
  // Time
  GENESIS_INVALID: 'Shelley genesis file is invalid',
  NETWORK_UNKNOWN: 'unknown network name',
  CHAIN_NOT_STARTED: 'the chain has not started yet',
  NETWORK_MISMATCH: "the agent runs another network than this client's",
  // Sockets and the daemon
  SOCKET_DIR_UNSAFE: 'socket directory or file is unsafe',
  SOCKET_IN_USE: 'socket path is in use',
  SOCKET_PATH_TOO_LONG: 'socket path is too long',
  // Process hardening: locked key memory, core dumps, peer credentials
  NATIVE_ADDON_MISSING: 'the kes_native addon is not built or cannot be loaded',
  MEMORY_LOCK_FAILED: 'memory for key material cannot be locked',
  CORE_DUMPS_NOT_DISABLED: 'core dumps cannot be disabled',
  SECURE_MEMORY_EXHAUSTED: 'a secret buffer is larger than the secure arena',
  // Configuration (kes-agent run / check-config, SIGHUP reload)
  CONFIG_INVALID: 'the config file or an environment variable holds an invalid setting',
  SETTING_INVALID: 'a setting on the command line is malformed, missing or conflicting',
  CONFIG_NOT_RELOADABLE: 'a setting that needs a restart changed in a reload',
  // Agent clients (kes-node, the node library, kes-ctl)
  AGENT_SOCKET_MISSING: 'no socket file at the agent socket path',
  AGENT_SOCKET_DENIED: 'permission denied on the agent socket',
  AGENT_UNREACHABLE: 'nothing is listening on the agent socket',
  AGENT_HANDSHAKE_FAILED: 'the agent refused or broke the handshake',
  AGENT_HANDSHAKE_TIMEOUT: 'the agent did not answer the handshake in time',
  AGENT_CONNECTION_LOST: 'the connection to the agent ended',
  AGENT_REFUSED: 'the agent refused the request',
  AGENT_TIMEOUT: 'the agent did not answer in time',
  AGENT_PROTOCOL: 'the agent sent something this client does not understand',
  AGENT_NOT_TRUSTED: 'the process on the agent socket is not a trusted agent (wrong uid, or an unsafe directory)',
  NO_KEY: 'no KES key is held',
  KEY_NOT_YET_VALID: 'the KES key is not valid yet at the current KES period',
  KEY_EXPIRED: 'the KES key is expired at the current KES period',
  TIMEOUT: 'a bounded wait ran out',
  CLIENT_STOPPED: 'the client was stopped',
  METRICS_LISTEN_FAILED: 'the metrics address cannot be listened on',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class KesError extends Error {
  static override readonly name = 'KesError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KesError';
    this.code = code;
  }
}

export function isKesError(e: unknown, code?: ErrorCode): e is KesError {
  return e instanceof KesError && (code === undefined || e.code === code);
}

/** Long messages are cut so a line stays readable; file paths come first, so the cut loses little. */
export const MAX_ERROR_LINE_CHARS = 1000;

/**
 * A message as one line of stderr or one log field: lines joined, control characters neutralised,
 * the length bounded.
 */
export function oneLine(message: string): string {
  const s = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join('; ')
    // Strip terminal control sequences: a message may quote a file name or value.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > MAX_ERROR_LINE_CHARS ? `${s.slice(0, MAX_ERROR_LINE_CHARS - 1)}…` : s;
}
