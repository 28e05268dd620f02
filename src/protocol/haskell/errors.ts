/**
 * Errors of the Haskell-protocol codec. Messages are fixed templates with public numbers only
 * (sizes, limits, enum values), never peer bytes or strings: safe to log.
 */

/**
 * Stable codes:
 * - MALFORMED: a field that cannot be decoded (a Bool other than 0/1, bad UTF-8); Haskell's
 *   `ReadMalformed`.
 * - ENUM_OUT_OF_RANGE: a Command, control RecvResult, KeyMessageTypeID or ConnectionStatus beyond
 *   its table; Haskell's `toEnum` throws there.
 * - TOO_LARGE: a count or length above one of our caps (constants.ts MAX_*), refused before
 *   allocation.
 * - VERSION_MISMATCH: a VersionMessage that is not the negotiated version; Haskell's
 *   `ReadVersionMismatch` (the session is aborted).
 * - UNSUPPORTED: a message the negotiated version does not have (DropKeyCmd on Control V0/V1,
 *   which the Haskell agent answers with `ProtocolErrorMessage`, i.e. a close).
 */
export type HaskellWireErrorCode = 'MALFORMED' | 'ENUM_OUT_OF_RANGE' | 'TOO_LARGE' | 'VERSION_MISMATCH' | 'UNSUPPORTED';

/** Bad bytes from a peer speaking a Haskell kes-agent protocol. */
export class HaskellProtocolError extends Error {
  static override readonly name = 'HaskellProtocolError';
  readonly code: HaskellWireErrorCode;
  constructor(code: HaskellWireErrorCode, message: string) {
    super(message);
    this.name = 'HaskellProtocolError';
    this.code = code;
  }
}

/**
 * Why a read ended without its bytes.
 * - `clean`: the peer closed exactly at a message boundary (nothing of the current message was
 *   read): a normal disconnect. Otherwise it closed mid-message (a short read). Haskell treats
 *   both as the end of the session (RawUtil.hs `unsafeReceiveN` → `ReadEOF`), so both are quiet;
 *   the flag is for logging.
 * - `reason`: 'eof' (the peer closed), 'socket-error' (ECONNRESET and the like), 'detached' (the
 *   reader was handed over while a read was pending).
 */
export class PeerClosedError extends Error {
  static override readonly name = 'PeerClosedError';
  readonly clean: boolean;
  readonly reason: 'eof' | 'socket-error' | 'detached';
  constructor(clean: boolean, reason: 'eof' | 'socket-error' | 'detached' = 'eof') {
    super(
      reason === 'detached'
        ? 'the reader was detached'
        : clean
          ? 'the peer closed the connection'
          : 'the peer closed the connection in the middle of a message',
    );
    this.name = 'PeerClosedError';
    this.clean = clean;
    this.reason = reason;
  }
}

/** No bytes within the read's deadline. */
export class ReadTimeoutError extends Error {
  static override readonly name = 'ReadTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`no data within ${timeoutMs} ms`);
    this.name = 'ReadTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

export function isHaskellProtocolError(e: unknown, code?: HaskellWireErrorCode): e is HaskellProtocolError {
  return e instanceof HaskellProtocolError && (code === undefined || e.code === code);
}

/** True for a peer that closed at a message boundary: the normal end of a session. */
export function isCleanClose(e: unknown): e is PeerClosedError {
  return e instanceof PeerClosedError && e.clean && e.reason === 'eof';
}
