/**
 * kes-agent-control's exit codes. They differ from the other kes-agent CLIs (src/cli/exit-codes.ts)
 * because the Haskell tool gives 1..5 to the agent's RecvResult on `install-key`, and scripts
 * written for it branch on those: so 1..5 mean exactly that here, and every failure of our own
 * gets a code outside 1..5. Codes that mean the same as in our other CLIs keep their number
 * (6 REFUSED, 8 NOT_READY, 12 NOT_TRUSTED). Documented in docs/migrating-from-haskell.md.
 */
import { UsageError } from 'clipanion';
import type { ErrorCode } from '../../errors';
import { KesError } from '../../errors';
import type { RecvResult } from '../../protocol/haskell';
import { CONTROL_RECV_RESULT_CODES } from '../../protocol/haskell';
import { EXIT } from '../exit-codes';

export const HS_EXIT = {
  OK: 0,
  /** RecvErrorKeyOutdated (install-key, drop-key): the agent holds a newer key. */
  KEY_OUTDATED: 1,
  /** RecvErrorInvalidOpCert: the opcert does not match the staged key or the agent's cold key. */
  INVALID_OPCERT: 2,
  /** RecvErrorNoKey: install-key with no staged key. */
  NO_KEY: 3,
  /** RecvErrorUnsupportedOperation: drop-key against an agent whose control protocol has no drop (V0/V1). */
  UNSUPPORTED: 4,
  /** RecvErrorUnknown. */
  UNKNOWN: 5,
  /** The agent answered no: gen-staged-key made no key, drop-staged-key kept one. */
  REFUSED: EXIT.REFUSED,
  /** export-staged-vkey: no staged key. */
  NOT_READY: EXIT.NOT_READY,
  /** The listener is not an agent this user trusts (agent-identity.ts); nothing was sent. */
  NOT_TRUSTED: EXIT.NOT_TRUSTED,
  /** Bad command line or environment variable. */
  USAGE: 20,
  /** A file: missing, unreadable, not the expected envelope, malformed; or the output cannot be written. */
  BAD_INPUT: 21,
  /** No agent at the socket path (no file, refused, not a socket, permission denied), after any retries. */
  UNREACHABLE: 22,
  /** The version handshake failed: no Control version in common, no offer, or not a control socket. */
  HANDSHAKE_FAILED: 23,
  /** The agent's reply cannot be decoded, or it closed the connection before or in the middle of it. */
  PROTOCOL: 24,
  /** A bug. */
  INTERNAL: 70,
} as const;

export type HsExitCode = (typeof HS_EXIT)[keyof typeof HS_EXIT];

/** RecvResult → exit code: the Haskell tool's `exitWith (ExitFailure (fromEnum result))`. */
export function exitForRecvResult(r: RecvResult): HsExitCode {
  return CONTROL_RECV_RESULT_CODES[r] as HsExitCode;
}

/** `formatReason` (kes-agent/cli/ControlMain.hs). */
export const REASON_TEXT: Readonly<Record<RecvResult, string>> = Object.freeze({
  RecvOK: 'no error',
  RecvErrorInvalidOpCert: 'OpCert validation failed',
  RecvErrorKeyOutdated: 'KES key outdated',
  RecvErrorNoKey: 'No KES key found',
  RecvErrorUnsupportedOperation: 'Operation not supported',
  RecvErrorUnknown: 'unknown error',
});

const FOR_ERROR: Partial<Record<ErrorCode, HsExitCode>> = {
  SETTING_INVALID: HS_EXIT.USAGE,
  // Two socket variables naming different sockets.
  CONFIG_INVALID: HS_EXIT.USAGE,
  SOCKET_PATH_TOO_LONG: HS_EXIT.USAGE,
  FILE_UNREADABLE: HS_EXIT.BAD_INPUT,
  FILE_NOT_ENVELOPE: HS_EXIT.BAD_INPUT,
  ENVELOPE_WRONG_TYPE: HS_EXIT.BAD_INPUT,
  ENVELOPE_BAD_HEX: HS_EXIT.BAD_INPUT,
  CBOR_MALFORMED: HS_EXIT.BAD_INPUT,
  FILE_WRITE_FAILED: HS_EXIT.BAD_INPUT,
  FILE_TOO_LARGE: HS_EXIT.BAD_INPUT,
  FILE_EXISTS: HS_EXIT.BAD_INPUT,
  FILE_IS_SYMLINK: HS_EXIT.BAD_INPUT,
  INVALID_LENGTH: HS_EXIT.BAD_INPUT,
  OUT_OF_RANGE: HS_EXIT.BAD_INPUT,
  // An opcert whose signature does not verify under its own cold key: what the agent would answer.
  OPCERT_BAD_SIGNATURE: HS_EXIT.INVALID_OPCERT,
  AGENT_SOCKET_MISSING: HS_EXIT.UNREACHABLE,
  AGENT_SOCKET_DENIED: HS_EXIT.UNREACHABLE,
  AGENT_UNREACHABLE: HS_EXIT.UNREACHABLE,
  AGENT_HANDSHAKE_FAILED: HS_EXIT.HANDSHAKE_FAILED,
  AGENT_HANDSHAKE_TIMEOUT: HS_EXIT.HANDSHAKE_FAILED,
  AGENT_PROTOCOL: HS_EXIT.PROTOCOL,
  AGENT_CONNECTION_LOST: HS_EXIT.PROTOCOL,
  AGENT_NOT_TRUSTED: HS_EXIT.NOT_TRUSTED,
};

/** An outcome that is not a KesError code: its own exit code and tag (e.g. drop-key on Control V1). */
export class HsControlFailure extends Error {
  static override readonly name = 'HsControlFailure';
  constructor(
    readonly exitCode: HsExitCode,
    readonly tag: string,
    message: string,
  ) {
    super(message);
    this.name = 'HsControlFailure';
  }
}

export function hsExitFor(error: unknown): HsExitCode {
  if (error instanceof HsControlFailure) return error.exitCode;
  if (error instanceof UsageError) return HS_EXIT.USAGE;
  if (error instanceof KesError) return FOR_ERROR[error.code] ?? HS_EXIT.INTERNAL;
  return HS_EXIT.INTERNAL;
}
