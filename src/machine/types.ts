/**
 * Public types of the key-state machine and its facade (src/machine/agent.ts).
 *
 * The machine context is public metadata (bigint timestamps included) plus opaque slot handles
 * whose fields are all `#private`: serialising or logging a snapshot cannot reveal a key.
 */
import type { Opcert } from '../cardano/opcert';
import type { KesSignKey } from '../crypto/kes';
import type { ActiveSlot, StagedSlot } from '../slots';
import type { ChainTiming } from '../time';

/**
 * Why a command was refused, in the order the machine checks them (agent-machine.ts). Domain
 * codes: each protocol maps them to its own wire (src/server/control-handler.ts to the wire
 * error codes of spec/protocol.md, src/server/haskell-control-handler.ts to RecvResult). Stable:
 * they also name the refusal counters of /metrics.
 */
export const AGENT_ERROR_CODES = [
  'NO_STAGED_KEY',
  'STAGED_KEY_EXISTS',
  'NO_OPCERT',
  'OPCERT_WRONG_COLD_KEY',
  'OPCERT_BAD_SIGNATURE',
  'OPCERT_WRONG_KES_KEY',
  'OPCERT_EXPIRED',
  'OPCERT_COUNTER_TOO_LOW',
  'OPCERT_NOT_YET_VALID',
] as const;
export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

export type AgentResult<T> = { ok: true; value: T } | { ok: false; code: AgentErrorCode; detail: RefusalDetail };

/**
 * The public facts behind a refusal (numbers and public keys only), for whoever words it: each
 * protocol turns code + detail into its own text (src/protocol/refusal-text.ts).
 */
export type RefusalDetail =
  /** The code says it all. */
  | { readonly kind: 'none' }
  /** OPCERT_WRONG_COLD_KEY: who issued the opcert, and the cold vk this agent serves. */
  | { readonly kind: 'coldKey'; readonly opcertColdVk: Uint8Array; readonly agentColdVk: Uint8Array }
  /** OPCERT_WRONG_KES_KEY: the KES vk the opcert certifies, and the staged key's. */
  | { readonly kind: 'kesKey'; readonly opcertHotVk: Uint8Array; readonly stagedKesVk: Uint8Array }
  /** OPCERT_EXPIRED, OPCERT_NOT_YET_VALID: the opcert's window against the current KES period. */
  | {
      readonly kind: 'window';
      readonly startKesPeriod: number;
      /** 0 while the chain has not started. */
      readonly currentKesPeriod: number;
      readonly maxKesEvolutions: number;
      /** The active key that can sign now (OPCERT_NOT_YET_VALID); null: none. */
      readonly active: { readonly counter: number; readonly startKesPeriod: number } | null;
      /** Whether the operator can force past this refusal (UPLOAD has force, INSTALL has not). */
      readonly forcible: boolean;
    }
  /** OPCERT_COUNTER_TOO_LOW: the opcert's counter against the counter floor. */
  | { readonly kind: 'counter'; readonly counter: number; readonly floor: number; readonly floorIsActiveKey: boolean }
  /** KEY_OVER_EVOLVED: the peer key's evolution, and the one the current KES period needs. */
  | { readonly kind: 'evolution'; readonly evolution: number; readonly needed: number }
  /** TIMESTAMP_IN_FUTURE: how far the sender's timestamp is ahead of our clock, and the limit. */
  | { readonly kind: 'clock'; readonly aheadMs: bigint; readonly limitMs: number }
  /** BUNDLE_NOT_NEWER: what this agent holds, and the timestamp received. */
  | { readonly kind: 'age'; readonly held: { readonly kind: 'key' | 'drop' | 'none'; readonly timestampUs: bigint }; readonly receivedUs: bigint };

/**
 * Why a bundle or drop received from a bootstrap peer was refused: the checks of
 * RECEIVE_BUNDLE / RECEIVE_DROP, in the order the machine runs them (agent-machine.ts). Stable:
 * they appear in logs and in `kes-ctl status`. No control command produces them, so they are a
 * separate list.
 */
export const PEER_REFUSAL_CODES = [
  'OPCERT_WRONG_COLD_KEY',
  'OPCERT_BAD_SIGNATURE',
  'OPCERT_WRONG_KES_KEY',
  'OPCERT_EXPIRED',
  'OPCERT_COUNTER_TOO_LOW',
  'KEY_OVER_EVOLVED',
  'TIMESTAMP_IN_FUTURE',
  'BUNDLE_NOT_NEWER',
] as const;
export type PeerRefusalCode = (typeof PEER_REFUSAL_CODES)[number];

export type PeerResult<T> = { ok: true; value: T } | { ok: false; code: PeerRefusalCode; detail: RefusalDetail };

/** Which bootstrap peer a bundle came from: the peer's service socket path. */
export type BundleSource = string;

/** What the received-bundle and received-drop events return on success. */
export interface PeerValues {
  receiveBundle: { kesVk: Uint8Array; counter: number; evolution: number; timestampUs: bigint; replacedActive: boolean };
  receiveDrop: { hadKey: boolean; timestampUs: bigint };
}
export type PeerCommandName = keyof PeerValues;
export type PeerOutcome = { [K in PeerCommandName]: { command: K; result: PeerResult<PeerValues[K]> } }[PeerCommandName];

/** What each command returns on success. */
export interface CommandValues {
  keygen: { kesVk: Uint8Array; replacedStaged: boolean };
  exportVerkey: { kesVk: Uint8Array; hasOpcert: boolean };
  importOpcert: {
    kesVk: Uint8Array;
    counter: number;
    startKesPeriod: number;
    /** 0 while the chain has not started. */
    currentKesPeriod: number;
    startsInFuture: boolean;
    /** The counter floor the opcert was checked against (AgentContext.counterFloor); null: none yet. */
    counterFloor: number | null;
  };
  upload: { kesVk: Uint8Array; counter: number; startKesPeriod: number; evolution: number; replacedActive: boolean };
  install: { kesVk: Uint8Array; counter: number; startKesPeriod: number; evolution: number; replacedActive: boolean };
  dropStaged: { hadKey: boolean };
  dropActive: { hadKey: boolean };
}
export type CommandName = keyof CommandValues;

/** The outcome of one command, as the machine emits it. */
export type CommandOutcome = { [K in CommandName]: { command: K; result: AgentResult<CommandValues[K]> } }[CommandName];

/**
 * A change of the active slot, for the service side (push KEY / KEY_DROPPED to nodes).
 * `seq` numbers changes per agent process (1, 2, ...), so a consumer can order them and spot
 * duplicates; it is not the wire `seq`, which the server assigns per pushed message.
 */
export type ActiveChange =
  | {
      type: 'installed';
      seq: number;
      kesVk: Uint8Array;
      counter: number;
      startKesPeriod: number;
      /** Already the current evolution: listeners never see the key before it is evolved. */
      evolution: number;
      /**
       * The bundle timestamp (µs since the epoch, the Haskell Service V2 `Timestamp`): assigned
       * by the machine for a local install, the sender's for a bundle from a bootstrap peer.
       */
      timestampUs: bigint;
      /** null: installed here (upload/install); else the bootstrap peer it came from. */
      source: BundleSource | null;
    }
  | {
      type: 'dropped';
      seq: number;
      reason: 'drop-active' | 'expired' | 'peer-drop';
      /** The tombstone's timestamp (µs), as for 'installed'. */
      timestampUs: bigint;
      source: BundleSource | null;
    }
  | { type: 'evolved'; seq: number; evolution: number };

/** Public facts about the active key, lent with it by Agent.withActiveKey. */
export interface ActiveInfo {
  kesVk: Uint8Array;
  opcert: Opcert;
  counter: number;
  startKesPeriod: number;
  evolution: number;
  installedAtMs: number;
  /** When the opcert stops being valid (start of period c0 + maxKESEvolutions). */
  expiresAtMs: number;
}

/**
 * The agent's key state and chain time at one instant (Agent.status). The control protocol maps
 * it into its wire Status (src/server/control-handler.ts), with what only the server knows.
 */
export interface AgentStatus {
  network: string;
  chainStarted: boolean;
  /** 0 while the chain has not started. */
  currentKesPeriod: number;
  /** 0 while the chain has not started. */
  currentSlot: number;
  /** Start of the current KES period; 0 while the chain has not started. */
  periodStartMs: number;
  /** Start of the next KES period; while the chain has not started, the instant it starts. */
  nextPeriodMs: number;
  slotsPerKesPeriod: number;
  maxKesEvolutions: number;
  staged: { kesVk: Uint8Array; opcert: Opcert | null } | null;
  active: {
    kesVk: Uint8Array;
    opcert: Opcert;
    evolution: number;
    /** Periods in which the key can still sign, counting the current one (all of them before c0). */
    periodsRemaining: number;
    expiresAtMs: number;
    installedAtMs: number;
  } | null;
  expired: { kesVk: Uint8Array; counter: number; startKesPeriod: number; expiredAtMs: number } | null;
  /** AgentContext.counterFloor: an opcert with a lower counter is refused; null while there is none. */
  counterFloor: number | null;
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Machine context and events

export interface StagedEntry {
  readonly slot: StagedSlot;
  readonly kesVkHex: string;
  /** Public summary of the imported opcert; the opcert itself lives in the slot. */
  readonly opcert: { readonly counter: number; readonly kesPeriod: number } | null;
}

export interface ActiveEntry {
  readonly slot: ActiveSlot;
  readonly kesVkHex: string;
  readonly counter: number;
  readonly startKesPeriod: number;
  readonly evolution: number;
  readonly installedAtMs: number;
  readonly expiresAtMs: number;
  /** The bundle timestamp (µs): see ActiveChange 'installed'. */
  readonly timestampUs: bigint;
  readonly source: BundleSource | null;
}

/** The last drop (drop-active, expiry or a peer's), while no key is active: Haskell's tombstone. */
export interface Tombstone {
  readonly timestampUs: bigint;
  readonly source: BundleSource | null;
}

export interface ExpiredEntry {
  readonly kesVkHex: string;
  readonly counter: number;
  readonly startKesPeriod: number;
  /** The boundary at which the opcert stopped being valid (not when the agent noticed). */
  readonly expiredAtMs: number;
}

export interface AgentContext {
  readonly staged: StagedEntry | null;
  readonly active: ActiveEntry | null;
  readonly expired: ExpiredEntry | null;
  /**
   * The counter floor: the highest opcert counter of any key made active (uploaded) since this
   * process started, or null while none has been. Import and upload refuse an opcert below it.
   * Only uploaded keys count: only they reached nodes, so only they can have forged a block and
   * raised the counter the chain holds for the pool (docs/kes-construction.md §5.4). An opcert that was only
   * imported never reached the chain; counting it would block re-issuing a lower counter after
   * an opcert issued too high by mistake. Kept in memory only (docs/security.md): a restart
   * starts again from null.
   */
  readonly counterFloor: number | null;
  /** Last ActiveChange.seq handed out. */
  readonly changeSeq: number;
  /** Set when the active slot was emptied by a drop or expiry; cleared by the next install. */
  readonly tombstone: Tombstone | null;
  /**
   * The highest bundle timestamp this process has held (installed, dropped, or accepted from a
   * peer), 0n before any. A local install or drop is stamped max(now µs, this + 1), so it is
   * newer than everything the agent has seen even when the wall clock stepped back, and beats
   * any bundle a peer sent earlier.
   */
  readonly lastTimestampUs: bigint;
}

/**
 * Every event that can change key state carries the wall-clock instant it is judged at, read
 * once by the sender: guards and actions of one event can never disagree about the KES period.
 */
export type AgentEvent =
  | { type: 'SYNC'; nowMs: number }
  /**
   * `key` is generated by the Agent before the event is sent, so a generation failure (no locked
   * memory left) is an error of the command, not of the machine, and touches no slot. The machine
   * owns it from here: staged, or wiped when the command is refused.
   */
  | { type: 'KEYGEN'; nowMs: number; force: boolean; key: KesSignKey }
  | { type: 'EXPORT_VERKEY'; nowMs: number }
  | { type: 'IMPORT_OPCERT'; nowMs: number; opcert: Opcert }
  /** IMPORT_OPCERT then UPLOAD in one event (the Haskell control protocol's InstallKey). */
  | { type: 'INSTALL'; nowMs: number; opcert: Opcert }
  /**
   * `force`: install even when that replaces an active key that can sign now with one that
   * cannot yet (OPCERT_NOT_YET_VALID otherwise). INSTALL has no force: the Haskell wire has none.
   */
  | { type: 'UPLOAD'; nowMs: number; force: boolean }
  | { type: 'DROP_STAGED'; nowMs: number }
  | { type: 'DROP_ACTIVE'; nowMs: number }
  /**
   * A bundle from a bootstrap peer. `key` is already in locked memory (KesSignKey.fromBytes, at
   * the evolution the peer sent); `opcert` carries OUR cold vk (the wire OCert has none). The
   * machine owns the key from here: installed, or wiped on refusal. `timestampUs` is the
   * sender's, and is kept: that is what makes two agents that feed each other settle.
   */
  | { type: 'RECEIVE_BUNDLE'; nowMs: number; key: KesSignKey; opcert: Opcert; timestampUs: bigint; source: BundleSource }
  /** A tombstone from a bootstrap peer (Haskell Service V2 DropKeyMessage). */
  | { type: 'RECEIVE_DROP'; nowMs: number; timestampUs: bigint; source: BundleSource }
  | { type: 'STOP' };

export type AgentEmitted =
  | { type: 'outcome'; outcome: CommandOutcome }
  | { type: 'peerOutcome'; outcome: PeerOutcome }
  | { type: 'activeChange'; change: ActiveChange };

/** Effects the machine needs from its environment. */
export interface MachineDeps {
  readonly timing: ChainTiming;
  readonly coldVk: Uint8Array;
  /** Unix ms; read only to arm timers and to stamp timer-driven SYNC events. */
  now(): number;
}
