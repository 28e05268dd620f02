/**
 * The daemon's resource limits, in one place. Each bounds what one peer can make the agent
 * hold or wait for; a peer that exceeds one is disconnected, and the agent carries on.
 */

/** A client must send HELLO within this time after connecting. @default 5000 */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** A control connection with no request for this long is closed. @default 60000 */
export const CONTROL_IDLE_TIMEOUT_MS = 60_000;
/** Simultaneous control connections (kes-ctl is one-shot; a handful is plenty). @default 32 */
export const MAX_CONTROL_CONNECTIONS = 32;
/** Simultaneous service connections (nodes). Sized for a bench of 1,000 nodes with headroom. @default 2048 */
export const MAX_SERVICE_CONNECTIONS = 2048;
/**
 * Bytes queued to one node that the kernel has not taken yet. A node that stops reading reaches
 * it after a few pushes and is disconnected, so it cannot make the agent buffer without bound
 * or slow the others (each node has its own socket buffer). @default 262144
 */
export const MAX_NODE_PENDING_WRITE_BYTES = 256 * 1024;
/** How long a connection turned away with BUSY may linger before it is cut. @default 1000 */
export const BUSY_LINGER_MS = 1_000;
/** Pushes a node may leave unconfirmed before it is disconnected. @default 8 */
export const MAX_UNCONFIRMED_PUSHES = 8;
/**
 * A node that has not confirmed a push this long after it was written is disconnected: it has
 * stopped reading (or is wedged), and keeping it would keep a key frame queued for it, count it
 * as connected, and make every later upload wait for it. A working node confirms in
 * milliseconds; it gets the current key again when it reconnects. Twice the default upload wait,
 * so an upload reports such a node as unconfirmed before it is cut. @default 10000
 */
export const NODE_CONFIRM_DEADLINE_MS = 10_000;
/** Default wait for node confirmations after upload / drop-active. @default 5000 */
export const DEFAULT_CONFIRM_TIMEOUT_MS = 5_000;
