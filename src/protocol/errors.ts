/**
 * Wire error codes and the error the codec throws for bad input from a peer.
 *
 * The numbers travel in ERROR.code and CONFIRM.result (spec/protocol.md "Error codes"). They are a
 * contract with every deployed peer: never renumber or reuse one; add new ones at the end of
 * their group.
 */

/** Wire error name → u16 code. */
export const WIRE_ERROR_CODES = Object.freeze({
  // Framing and handshake
  MALFORMED_FRAME: 1,
  UNKNOWN_KIND: 2,
  VERSION_MISMATCH: 3,
  PROTOCOL_MISMATCH: 4,
  UNEXPECTED_MESSAGE: 5,
  FRAME_TOO_LARGE: 6,
  HANDSHAKE_TIMEOUT: 7,
  INTERNAL: 8,
  BUSY: 9,
  PEER_NOT_ALLOWED: 10,
  // Control requests
  NO_STAGED_KEY: 16,
  STAGED_KEY_EXISTS: 17,
  NO_OPCERT: 18,
  OPCERT_WRONG_COLD_KEY: 19,
  OPCERT_BAD_SIGNATURE: 20,
  OPCERT_WRONG_KES_KEY: 21,
  OPCERT_EXPIRED: 22,
  OPCERT_COUNTER_TOO_LOW: 23,
  NO_ACTIVE_KEY: 24,
  CHAIN_NOT_STARTED: 25,
  KEY_EXHAUSTED: 26,
  OPCERT_NOT_YET_VALID: 27,
  // Node refusals (CONFIRM.result)
  NODE_KEY_INVALID: 40,
  NODE_OPCERT_INVALID: 41,
  NODE_KEY_EXPIRED: 42,
} as const);

export type WireErrorName = keyof typeof WIRE_ERROR_CODES;

/** u16 code → wire error name (the reverse of WIRE_ERROR_CODES). */
export const WIRE_ERROR_NAMES: Readonly<Record<number, WireErrorName>> = Object.freeze(
  Object.fromEntries(
    (Object.entries(WIRE_ERROR_CODES) as [WireErrorName, number][]).map(([name, code]) => [code, name]),
  ),
);

/** The name of a wire code, or undefined for a code this build does not know (a newer peer's). */
export function wireErrorName(code: number): WireErrorName | undefined {
  return Object.prototype.hasOwnProperty.call(WIRE_ERROR_NAMES, code) ? WIRE_ERROR_NAMES[code] : undefined;
}

/**
 * Bad bytes from a peer, or a peer that refused us. `code` is the wire error name the agent would
 * send back in ERROR; `wireCode` its number.
 *
 * The message is a fixed template filled with small public numbers only (lengths, limits, kinds),
 * never peer bytes or strings, so it is safe to log and to send back in ERROR.message.
 * `peerMessage` is set only when the peer itself sent an ERROR: it is the peer's text (validated:
 * bounded length, no control characters), kept apart so callers choose whether to show it.
 */
export class ProtocolError extends Error {
  static override readonly name = 'ProtocolError';
  readonly code: WireErrorName;
  readonly wireCode: number;
  readonly peerMessage: string | undefined;

  constructor(code: WireErrorName, message: string, options?: { peerMessage?: string }) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.wireCode = WIRE_ERROR_CODES[code];
    this.peerMessage = options?.peerMessage;
  }
}

export function isProtocolError(e: unknown, code?: WireErrorName): e is ProtocolError {
  return e instanceof ProtocolError && (code === undefined || e.code === code);
}
