/**
 * Process exit codes shared by every command (kes-cold, kes-agent, kes-ctl, kes-node).
 * Stable: scripts branch on them. Documented in the README.
 */
export const EXIT = {
  OK: 0,
  /** A bug: an unexpected exception. */
  INTERNAL: 1,
  /** Bad command line: unknown command, missing or malformed flag. */
  USAGE: 2,
  /** A file could not be read, parsed or written, or has the wrong type or content. */
  BAD_INPUT: 3,
  /**
   * The key or opcert itself is wrong (bad signature, key/opcert mismatch, wrong cold key),
   * whether a local check or the agent found it: no agent state would accept it.
   */
  INVALID: 4,
  /** The agent could not be reached (no socket, nothing listening, handshake failed). */
  UNREACHABLE: 5,
  /**
   * The agent refused the request because of its state or the time (its error code is printed):
   * nothing staged, expired, counter below the floor, not valid yet over a usable key.
   */
  REFUSED: 6,
  /** A bounded wait ran out. */
  TIMEOUT: 7,
  /** No usable key: none, expired, or not valid yet (for `status --check`: critical). */
  NOT_READY: 8,
  /** The chain has not started yet (genesis start in the future). */
  CHAIN_NOT_STARTED: 9,
  /** `status --check`: the active key expires within --warn-periods KES periods (a warning: rotate now). */
  EXPIRING_SOON: 10,
  /**
   * The agent will not run here as configured: key memory cannot be locked (RLIMIT_MEMLOCK),
   * core dumps cannot be disabled, or the native addon is missing.
   */
  UNSAFE: 11,
  /**
   * The process listening on the agent socket is not the agent this command trusts (it runs as
   * another uid, or its socket directory could be written by another user): a possible impostor.
   * Nothing was sent to it.
   */
  NOT_TRUSTED: 12,
  /** `status --check`: the key is fine, but a configured bootstrap peer has been down longer than --peer-down-after (a warning: redundancy is lost). */
  PEER_DOWN: 13,
  /** The agent runs another network than the one given (--network / --genesis): its key's KES period is another network's. */
  NETWORK_MISMATCH: 14,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
