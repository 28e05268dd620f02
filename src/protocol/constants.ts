/**
 * Every number the wire protocol depends on, in one place (spec/protocol.md "Limits").
 *
 * A limit is a contract with the peer: changing one changes what a conforming peer may send, so
 * it needs a new PROTOCOL_VERSION. Each is enforced by the decoder before the value is used and by
 * the encoder before anything is written.
 */
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../crypto/ed25519';
import { KES_SIGN_KEY_BYTES, KES_VK_BYTES as CRYPTO_KES_VK_BYTES } from '../crypto/kes/params';

/** Bytes of the big-endian u32 length that starts every frame. @default 4 */
export const FRAME_HEADER_BYTES = 4;

/**
 * Largest payload (kind byte + body + secret segment) a frame may carry. A length field above it
 * is rejected with FRAME_TOO_LARGE before any payload byte is buffered. Small on purpose: the
 * largest real message (STATUS_OK) is under 5 KiB, and a small cap bounds what one connection can
 * make the agent hold.
 * @default 65536
 */
export const MAX_FRAME_PAYLOAD_BYTES = 65536;

/** Smallest payload: the kind byte alone. A zero length field is MALFORMED_FRAME. @default 1 */
export const MIN_FRAME_PAYLOAD_BYTES = 1;

/** Bytes of the message kind that starts every payload. @default 1 */
export const KIND_BYTES = 1;

/**
 * The version of both native protocols. Version 2 opens with the Haskell kes-agent's
 * VersionHandshake (the agent offers, the client accepts one id: spec/protocol.md §4), so one
 * socket serves our clients and Haskell ones; the version-1 HELLO is gone, and the agent's
 * WELCOME follows the accept unasked. @default 2
 */
export const PROTOCOL_VERSION = 2;

/** The versions both protocols speak: what the VersionHandshake id settles. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = Object.freeze([PROTOCOL_VERSION]);

/**
 * The control protocol version from which STATUS is answered with STATUS_OK_V2 and IMPORT_OPCERT
 * with IMPORT_OK_V2 (the agent's opcert counter floor, spec/protocol.md §7.22-7.23): every
 * version this build speaks. @default 2
 */
export const CONTROL_PROTOCOL_VERSION_COUNTER_FLOOR = 2;

/** Every version of the control protocol the agent speaks. */
export const CONTROL_PROTOCOL_VERSIONS: readonly number[] = Object.freeze([PROTOCOL_VERSION]);

/** Every version of the service protocol the agent speaks. */
export const SERVICE_PROTOCOL_VERSIONS: readonly number[] = Object.freeze([PROTOCOL_VERSION]);

/**
 * The VersionHandshake identifiers of our own protocols, offered beside the Haskell ones
 * (32 bytes on the wire, NUL-padded). Haskell clients look only for their own ids and ignore
 * these; kes-ctl, kes-node and the node library accept only these.
 */
export const NATIVE_CONTROL_VERSION_ID = 'kes-agent/control:2';
export const NATIVE_SERVICE_VERSION_ID = 'kes-agent/service:2';

/** HELLO.protocol on the control socket (kes-ctl ↔ agent). */
export const CONTROL_PROTOCOL = 'kes-agent/control';

/** HELLO.protocol on the service socket (node ↔ agent). */
export const SERVICE_PROTOCOL = 'kes-agent/service';

/** Longest HELLO/WELCOME protocol name, in UTF-8 bytes. @default 64 */
export const MAX_PROTOCOL_NAME_BYTES = 64;

/** Most entries in HELLO.versions; at least one is required. @default 8 */
export const MAX_HELLO_VERSIONS = 8;

/** Longest agentVersion string (WELCOME, STATUS_OK), in UTF-8 bytes. @default 64 */
export const MAX_AGENT_VERSION_BYTES = 64;

/** Longest network name in STATUS_OK, in UTF-8 bytes. @default 64 */
export const MAX_NETWORK_NAME_BYTES = 64;

/** Longest ERROR.message, in UTF-8 bytes. Fits every template the agent fills in. @default 512 */
export const MAX_ERROR_MESSAGE_BYTES = 512;

/** Most entries in STATUS_OK.status.warnings. @default 16 */
export const MAX_STATUS_WARNINGS = 16;

/** Longest single warning in STATUS_OK.status.warnings, in UTF-8 bytes. @default 256 */
export const MAX_WARNING_BYTES = 256;

/** Most entries in STATUS_OK_V3.peers (bootstrap peers an agent may have). @default 16 */
export const MAX_STATUS_PEERS = 16;

/** Longest peer path in STATUS_OK_V3.peers, in UTF-8 bytes: a Unix socket path (sun_path) is at most 107. @default 108 */
export const MAX_PEER_PATH_BYTES = 108;

/** Longest refusal code in STATUS_OK_V3.peers[].lastRefusal, in UTF-8 bytes. @default 32 */
export const MAX_REFUSAL_CODE_BYTES = 32;

/**
 * Longest confirmation wait the agent honours for UPLOAD / DROP_ACTIVE. Larger requested values
 * are valid on the wire (any u32) and capped by the agent, not rejected by the codec.
 * @default 30000
 */
export const MAX_CONFIRM_TIMEOUT_MS = 30_000;

/**
 * After sending a closing ERROR, how long the connection stays open for the peer to read it
 * (and any earlier replies still queued) before it is destroyed. A peer that has stopped reading
 * cannot hold the connection longer than this. @default 1000
 */
export const ERROR_LINGER_MS = 1_000;

/** KES verification key: a Blake2b-256 hash at the Sum6 root (docs/kes-construction.md §1). @default 32 */
export const KES_VK_BYTES = CRYPTO_KES_VK_BYTES;

/** Cold (Ed25519) verification key in an opcert (docs/kes-construction.md §5.1). @default 32 */
export const COLD_VK_BYTES = ED25519_PUBLIC_KEY_BYTES;

/** Ed25519 signature of the cold key over the opcert signable (docs/kes-construction.md §5.2). @default 64 */
export const OPCERT_SIGMA_BYTES = ED25519_SIGNATURE_BYTES;

/**
 * The secret segment of a KEY frame: one serialised Sum6KES sign key (docs/kes-construction.md §1, §4.4).
 * It is the last KES_SECRET_BYTES of the payload and never passes through borsh.
 * @default 608
 */
export const KES_SECRET_BYTES = KES_SIGN_KEY_BYTES;

/**
 * Largest integer a u64 field may carry. JS numbers are exact only up to 2^53 - 1; a larger
 * value on the wire is MALFORMED_FRAME rather than silently rounded.
 * @default Number.MAX_SAFE_INTEGER
 */
export const MAX_WIRE_U64 = Number.MAX_SAFE_INTEGER;

/** Message kinds (the first payload byte). Never renumber: peers match on these. */
export const KIND = Object.freeze({
  HELLO: 0x01,
  WELCOME: 0x02,
  KEYGEN: 0x10,
  EXPORT_VERKEY: 0x11,
  IMPORT_OPCERT: 0x12,
  UPLOAD: 0x13,
  STATUS: 0x14,
  DROP_STAGED: 0x15,
  DROP_ACTIVE: 0x16,
  UPLOAD_V2: 0x17,
  KEYGEN_OK: 0x30,
  VERKEY: 0x31,
  IMPORT_OK: 0x32,
  UPLOAD_OK: 0x33,
  STATUS_OK: 0x34,
  DROPPED: 0x35,
  STATUS_OK_V2: 0x36,
  IMPORT_OK_V2: 0x37,
  STATUS_OK_V3: 0x38,
  KEY: 0x50,
  NO_KEY: 0x51,
  KEY_DROPPED: 0x52,
  CONFIRM: 0x58,
  ERROR: 0x7f,
} as const);

/**
 * Kinds whose payload ends with a KES_SECRET_BYTES secret segment. The frame decoder puts such
 * payloads in allocSecret() memory from their first byte on.
 */
export const KINDS_WITH_SECRET: ReadonlySet<number> = new Set([KIND.KEY]);
