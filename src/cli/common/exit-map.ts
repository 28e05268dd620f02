/**
 * Which exit code each error code produces (src/cli/exit-codes.ts documents the codes).
 *
 * A new ERROR_CODE should get an explicit entry here: test/cli/common.test.ts fails until it
 * has one. Until then it falls back to BAD_INPUT (an expected failure, not a crash).
 */
import type { ErrorCode } from '../../errors';
import type { WireErrorName } from '../../protocol/errors';
import { EXIT, type ExitCode } from '../exit-codes';

export const EXIT_FOR_ERROR: Partial<Record<ErrorCode, ExitCode>> = {
  // A wrong type crossing one of our own APIs is a bug, not the user's doing.
  INVALID_ARGUMENT: EXIT.INTERNAL,
  INVALID_LENGTH: EXIT.BAD_INPUT,
  OUT_OF_RANGE: EXIT.BAD_INPUT,
  KES_KEY_DESTROYED: EXIT.INTERNAL,
  KES_KEY_EXHAUSTED: EXIT.INVALID,
  KES_KEY_INVALID: EXIT.INVALID,
  COLD_KEY_DESTROYED: EXIT.INTERNAL,
  FILE_UNREADABLE: EXIT.BAD_INPUT,
  FILE_NOT_ENVELOPE: EXIT.BAD_INPUT,
  ENVELOPE_WRONG_TYPE: EXIT.BAD_INPUT,
  ENVELOPE_BAD_HEX: EXIT.BAD_INPUT,
  CBOR_MALFORMED: EXIT.BAD_INPUT,
  FILE_WRITE_FAILED: EXIT.BAD_INPUT,
  FILE_EXISTS: EXIT.BAD_INPUT,
  FILE_TOO_LARGE: EXIT.BAD_INPUT,
  FILE_IS_SYMLINK: EXIT.BAD_INPUT,
  OPCERT_BAD_SIGNATURE: EXIT.INVALID,
  OPCERT_WRONG_COLD_KEY: EXIT.INVALID,
  COUNTER_WRONG_COLD_KEY: EXIT.INVALID,
  COLD_KEY_MISMATCH: EXIT.INVALID,
  GENESIS_INVALID: EXIT.BAD_INPUT,
  // --network with an unknown name is a command-line mistake.
  NETWORK_UNKNOWN: EXIT.USAGE,
  NETWORK_MISMATCH: EXIT.NETWORK_MISMATCH,
  CHAIN_NOT_STARTED: EXIT.CHAIN_NOT_STARTED,
  SOCKET_DIR_UNSAFE: EXIT.BAD_INPUT,
  SOCKET_IN_USE: EXIT.BAD_INPUT,
  SOCKET_PATH_TOO_LONG: EXIT.USAGE,
  NATIVE_ADDON_MISSING: EXIT.UNSAFE,
  MEMORY_LOCK_FAILED: EXIT.UNSAFE,
  CORE_DUMPS_NOT_DISABLED: EXIT.UNSAFE,
  // Asking for a secret buffer larger than an arena is a bug in the caller.
  SECURE_MEMORY_EXHAUSTED: EXIT.INTERNAL,
  CONFIG_INVALID: EXIT.BAD_INPUT,
  // Command-line mistakes, and a required setting set nowhere, are usage errors like any other.
  SETTING_INVALID: EXIT.USAGE,
  // Only ever logged by a running agent (a reload is refused, the agent keeps running).
  CONFIG_NOT_RELOADABLE: EXIT.BAD_INPUT,
  AGENT_SOCKET_MISSING: EXIT.UNREACHABLE,
  AGENT_SOCKET_DENIED: EXIT.UNREACHABLE,
  AGENT_UNREACHABLE: EXIT.UNREACHABLE,
  AGENT_HANDSHAKE_FAILED: EXIT.UNREACHABLE,
  // The agent is there but not answering: for the operator that is still "cannot reach it".
  AGENT_HANDSHAKE_TIMEOUT: EXIT.UNREACHABLE,
  AGENT_CONNECTION_LOST: EXIT.UNREACHABLE,
  AGENT_REFUSED: EXIT.REFUSED,
  AGENT_TIMEOUT: EXIT.TIMEOUT,
  AGENT_PROTOCOL: EXIT.UNREACHABLE,
  AGENT_NOT_TRUSTED: EXIT.NOT_TRUSTED,
  NO_KEY: EXIT.NOT_READY,
  KEY_NOT_YET_VALID: EXIT.NOT_READY,
  KEY_EXPIRED: EXIT.NOT_READY,
  TIMEOUT: EXIT.TIMEOUT,
  // A CLI never stops its own client before it is done; if this surfaces, it is a bug.
  CLIENT_STOPPED: EXIT.INTERNAL,
  // Like a socket path in use: the operator's address, busy or not this host's.
  METRICS_LISTEN_FAILED: EXIT.BAD_INPUT,
};

export const DEFAULT_EXIT_FOR_ERROR: ExitCode = EXIT.BAD_INPUT;

/**
 * The one rule for a refusal by the agent (AgentRefusedError, printed with the agent's code):
 * INVALID (4) when the key or opcert itself is wrong, so that no agent state would ever accept it
 * (the same code as when a local check finds it, e.g. `kes-cold inspect`); REFUSED (6) for
 * everything that depends on the agent's state or the time (nothing staged, a key already staged,
 * no opcert yet, expired, counter below the floor, not valid yet over a usable key, busy).
 */
export const EXIT_FOR_AGENT_REFUSAL: Readonly<Partial<Record<WireErrorName, ExitCode>>> = Object.freeze({
  OPCERT_WRONG_COLD_KEY: EXIT.INVALID,
  OPCERT_BAD_SIGNATURE: EXIT.INVALID,
  OPCERT_WRONG_KES_KEY: EXIT.INVALID,
});

export function exitCodeForRefusal(agentCode: string): ExitCode {
  return (EXIT_FOR_AGENT_REFUSAL as Record<string, ExitCode | undefined>)[agentCode] ?? EXIT.REFUSED;
}

export function exitCodeFor(code: ErrorCode): ExitCode {
  return EXIT_FOR_ERROR[code] ?? DEFAULT_EXIT_FOR_ERROR;
}
