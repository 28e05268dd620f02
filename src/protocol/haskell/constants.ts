/**
 * Every size, limit, identifier and enum table of the Haskell kes-agent's wire protocols
 * (input-output-hk/kes-agent 1.3.0.0; 1.4.0.0 has identical protocol modules).
 *
 * These protocols have no framing: each message is a fixed concatenation of fields, big-endian,
 * and the receiver knows what to read from the protocol state
 * (kes-agent/src/Cardano/KESAgent/Serialization/DirectCodec.hs, RawUtil.hs). Sizes below are the
 * StandardCrypto ones (kes-agent-crypto/src/Cardano/KESAgent/Protocols/StandardCrypto.hs:
 * KES = Sum6KES Ed25519DSIGN Blake2b_256, DSIGN = Ed25519DSIGN).
 *
 * The caps (MAX_*) are ours: Haskell reads whatever count or length a peer sends; we refuse a
 * count or length above a cap before allocating anything for it.
 */
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../../crypto/ed25519';
import { KES_SIGN_KEY_BYTES, KES_VK_BYTES } from '../../crypto/kes/params';

// ---------------------------------------------------------------------------------------------
// Sizes

/**
 * A VersionIdentifier: exactly 32 bytes, ASCII, NUL-padded or truncated
 * (kes-agent-crypto/src/Cardano/KESAgent/Protocols/VersionedProtocol.hs, `versionIdentifierLength`).
 * @default 32
 */
export const VERSION_ID_BYTES = 32;

/** A raw Sum6KES sign key (`SignKeyKES`, direct serialisation). @default 608 */
export const HS_SIGN_KEY_BYTES = KES_SIGN_KEY_BYTES;

/** A raw KES verification key (`VerKeyKES`, Blake2b-256 of vk0‖vk1). @default 32 */
export const HS_VK_BYTES = KES_VK_BYTES;

/** An Ed25519 signature (`SigDSIGN`), the opcert's sigma. @default 64 */
export const HS_SIGMA_BYTES = ED25519_SIGNATURE_BYTES;

/** An Ed25519 (cold) verification key. Not on these wires; for completeness. @default 32 */
export const HS_COLD_VK_BYTES = ED25519_PUBLIC_KEY_BYTES;

/** `Period` (the sign key's evolution): Word32 BE. @default 4 */
export const HS_EVOLUTION_BYTES = 4;

/** Word64 BE: `KESPeriod`, `ocertN`, the service bundle `Timestamp`. @default 8 */
export const HS_U64_BYTES = 8;

/**
 * The wire `OCert`: vkHot(32) ‖ ocertN u64be ‖ kesPeriod u64be ‖ sigma(64) (DirectCodec.hs,
 * `Serializable (DirectCodec m) (OCert c)`). Raw fixed-size fields, not the ledger CBOR.
 * @default 112
 */
export const HS_OCERT_BYTES = HS_VK_BYTES + HS_U64_BYTES + HS_U64_BYTES + HS_SIGMA_BYTES;

/** `Bundle`: SignKeyKES(608) ‖ evolution u32be ‖ OCert(112) (DirectCodec.hs, `Bundle m c`). @default 724 */
export const HS_BUNDLE_BYTES = HS_SIGN_KEY_BYTES + HS_EVOLUTION_BYTES + HS_OCERT_BYTES;

/** Service V2 KeyMessage: tag u8 ‖ timestamp u64be µs ‖ Bundle (Service/V2/Driver.hs). @default 733 */
export const HS_SERVICE_V2_KEY_MESSAGE_BYTES = 1 + HS_U64_BYTES + HS_BUNDLE_BYTES;

/** Service V2 DropKeyMessage: tag u8 ‖ timestamp u64be µs. @default 9 */
export const HS_SERVICE_V2_DROP_MESSAGE_BYTES = 1 + HS_U64_BYTES;

/** `BundleInfo` in AgentInfo: evolution u32 ‖ startKESPeriod u64 ‖ ocertN u64 ‖ vk(32) ‖ sigma(64). @default 116 */
export const HS_BUNDLE_INFO_BYTES = HS_EVOLUTION_BYTES + HS_U64_BYTES + HS_U64_BYTES + HS_VK_BYTES + HS_SIGMA_BYTES;

// ---------------------------------------------------------------------------------------------
// Caps on what we decode (ours, not Haskell's)

/**
 * Most entries a client reads from a VersionOfferMessage. The agent offers 3 (service) or 4
 * (control); a larger count is refused before anything is allocated.
 * @default 16
 */
export const MAX_OFFER_ENTRIES = 16;

/**
 * Longest Text we decode (AgentInfo's programVersion, a bootstrap address), in bytes. Haskell's
 * address is `show addr` of a Unix socket address (a path of at most 108 bytes, plus quoting).
 * @default 4096
 */
export const MAX_TEXT_BYTES = 4096;

/** Most bootstrap entries we decode in an AgentInfo (the agent has one per --bootstrap-address). @default 64 */
export const MAX_BOOTSTRAP_ENTRIES = 64;

/**
 * Most bytes the ByteReader holds from a socket before it pauses the socket (a peer that sends
 * faster than we read fills its own socket buffer, not our memory). Also the largest single read.
 * @default 65536
 */
export const MAX_READER_BUFFERED_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Version identifiers (kes-agent Protocols/*/Protocol.hs, `versionIdentifier`; docs/haskell-protocol.md §2)

/** Service V0: `"Service:" <> cryptoName <> ":0.4"` (Service/V0/Protocol.hs, StandardCrypto). */
export const SERVICE_V0_ID = 'Service:StandardCrypto:0.4';
/** Service V1 (Service/V1/Protocol.hs). */
export const SERVICE_V1_ID = 'Service:1.0';
/** Service V2: adds the message tag, the bundle timestamp and key drops (Service/V2/Protocol.hs). */
export const SERVICE_V2_ID = 'Service:2.0';
/** Control V0: `"Control:" <> cryptoName <> ":0.5"` (Control/V0/Protocol.hs, StandardCrypto). */
export const CONTROL_V0_ID = 'Control:StandardCrypto:0.5';
/** Control V1 (Control/V1/Protocol.hs). */
export const CONTROL_V1_ID = 'Control:1.0';
/** Control V2: adds DropKey and TaggedBundleInfo (Control/V2/Protocol.hs). */
export const CONTROL_V2_ID = 'Control:2.0';
/** Control V3: adds programVersion and the KES period start/end to AgentInfo (Control/V3/Protocol.hs). */
export const CONTROL_V3_ID = 'Control:3.0';

export type ServiceVersion = 0 | 1 | 2;
export type ControlVersion = 0 | 1 | 2 | 3;

export const SERVICE_VERSION_IDS: Readonly<Record<ServiceVersion, string>> = Object.freeze({
  0: SERVICE_V0_ID,
  1: SERVICE_V1_ID,
  2: SERVICE_V2_ID,
});

export const CONTROL_VERSION_IDS: Readonly<Record<ControlVersion, string>> = Object.freeze({
  0: CONTROL_V0_ID,
  1: CONTROL_V1_ID,
  2: CONTROL_V2_ID,
  3: CONTROL_V3_ID,
});

/**
 * What the agent offers on the service socket, in order (kes-agent/src/Cardano/KESAgent/Processes/
 * Agent/ServiceDrivers.hs: newest first). Also the node's preference (ouroboros-consensus
 * Praos/AgentClient.hs via ServiceClient.hs `availableServiceClientDrivers`).
 */
export const SERVICE_OFFER: readonly ServiceVersion[] = Object.freeze([2, 1, 0] as ServiceVersion[]);

/** What the agent offers on the control socket, in order (Processes/Agent/ControlDrivers.hs). */
export const CONTROL_OFFER: readonly ControlVersion[] = Object.freeze([3, 2, 1, 0] as ControlVersion[]);

// ---------------------------------------------------------------------------------------------
// Enum tables

/**
 * `RecvResult` (kes-agent/src/Cardano/KESAgent/Protocols/RecvResult.hs), constructor order.
 * On the control wire it is `fromEnum` as Word16 (serdoc DefEnumEncoding), 0..5; on the service
 * wire it is Word32 via RawUtil.hs `encodeRecvResult`, where Unknown is 0xFFFF.
 */
export const RECV_RESULTS = Object.freeze([
  'RecvOK',
  'RecvErrorKeyOutdated',
  'RecvErrorInvalidOpCert',
  'RecvErrorNoKey',
  'RecvErrorUnsupportedOperation',
  'RecvErrorUnknown',
] as const);
export type RecvResult = (typeof RECV_RESULTS)[number];

/** Control wire RecvResult (Word16 = fromEnum). Anything above 5 fails `toEnum`: a protocol error. */
export const CONTROL_RECV_RESULT_CODES: Readonly<Record<RecvResult, number>> = Object.freeze({
  RecvOK: 0,
  RecvErrorKeyOutdated: 1,
  RecvErrorInvalidOpCert: 2,
  RecvErrorNoKey: 3,
  RecvErrorUnsupportedOperation: 4,
  RecvErrorUnknown: 5,
});

/** Service wire RecvResult (Word32, RawUtil.hs `encodeRecvResult`). Any other value decodes to Unknown. */
export const SERVICE_RECV_RESULT_CODES: Readonly<Record<RecvResult, number>> = Object.freeze({
  RecvOK: 0,
  RecvErrorKeyOutdated: 1,
  RecvErrorInvalidOpCert: 2,
  RecvErrorNoKey: 3,
  RecvErrorUnsupportedOperation: 4,
  RecvErrorUnknown: 0xffff,
});

/** Bytes of a control RecvResult (Word16). @default 2 */
export const CONTROL_RECV_RESULT_BYTES = 2;
/** Bytes of a service RecvResult (Word32). @default 4 */
export const SERVICE_RECV_RESULT_BYTES = 4;

/**
 * Control `Command` (kes-agent/src/Cardano/KESAgent/Protocols/Types.hs), Word16 BE = fromEnum.
 * A value above 5 fails `toEnum`: a protocol error.
 */
export const COMMANDS = Object.freeze([
  'GenStagedKeyCmd',
  'QueryStagedKeyCmd',
  'DropStagedKeyCmd',
  'InstallKeyCmd',
  'RequestInfoCmd',
  'DropKeyCmd',
] as const);
export type Command = (typeof COMMANDS)[number];
/** Bytes of a Command. @default 2 */
export const COMMAND_BYTES = 2;

/** Service V2 `KeyMessageTypeID` (Service/V2/Driver.hs), Word8: 0 KeyMessageID, 1 DropKeyMessageID. */
export const KEY_MESSAGE_ID = 0;
export const DROP_KEY_MESSAGE_ID = 1;

/**
 * `ConnectionStatus` of a bootstrap peer in AgentInfo (Control/V{0,1,2,3}/Protocol.hs), Word8 (the
 * Control/V{0,1,2,3}/Driver.hs instance overrides the Word16 default).
 */
export const CONNECTION_STATUSES = Object.freeze(['ConnectionUp', 'ConnectionConnecting', 'ConnectionDown'] as const);
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];
