/**
 * `AgentInfo`, the reply to RequestInfoCmd, per control version
 * (kes-agent/src/Cardano/KESAgent/Protocols/Control/V{0,1,2,3}/Protocol.hs for the records,
 * Control/V{0,1,2,3}/Driver.hs `deriveSerDoc`: record fields in declaration order, no envelope;
 * Processes/Agent/ControlDrivers.hs `fromAgentInfo` for how the agent fills each version).
 *
 *   BundleInfo (116): evolution u32 ‖ startKESPeriod u64 ‖ ocertN u64 ‖ vk(32) ‖ sigma(64)
 *   KeyInfo (32): vk
 *   BootstrapInfo: address Text ‖ status Word8 (0 Up, 1 Connecting, 2 Down)
 *   TaggedBundleInfo (V2, V3): Maybe BundleInfo ‖ Maybe UTCTime (i64 s)
 *   V0/V1: Maybe BundleInfo ‖ Maybe KeyInfo ‖ currentTime i64 ‖ currentKESPeriod u64 ‖ [BootstrapInfo]
 *   V2:    Maybe TaggedBundleInfo ‖ Maybe KeyInfo ‖ currentTime ‖ currentKESPeriod ‖ [BootstrapInfo]
 *   V3:    programVersion Text ‖ Maybe TaggedBundleInfo ‖ Maybe KeyInfo ‖ currentTime ‖
 *          currentKESPeriod ‖ periodStart i64 ‖ periodEnd i64 ‖ [BootstrapInfo]
 */
import type { ByteReader, ReadOptions } from './byte-reader';
import {
  CONNECTION_STATUSES,
  HS_SIGMA_BYTES,
  HS_VK_BYTES,
  MAX_BOOTSTRAP_ENTRIES,
  MAX_TEXT_BYTES,
  type ConnectionStatus,
  type ControlVersion,
} from './constants';
import { ByteWriter, enumAt, readList, readText } from './primitives';

/** `BundleInfo`: what the agent says about its installed key. */
export interface BundleInfo {
  /** Current evolution of the key (`periodKES`, Word32). */
  evolution: number;
  /** The opcert's KES period (`ocertKESPeriod`). */
  startKesPeriod: bigint | number;
  /** The opcert's counter (`ocertN`). */
  ocertCounter: bigint | number;
  /** The opcert's hot vk (`ocertVkHot`), 32 bytes. */
  vk: Uint8Array;
  /** The opcert's sigma, 64 bytes. */
  sigma: Uint8Array;
}

/**
 * The installed slot. A key: `bundle` set, `timestampS` its install time. A drop (tombstone):
 * `bundle` undefined, `timestampS` the drop time. V2/V3 carry both as they are (a drop is
 * `Just {Nothing, Just ts}`); V0/V1 carry only a key's BundleInfo, a drop is `Nothing`
 * (ControlDrivers.hs `convertBundleInfoCP0/CP1`), and decode with `timestampS` undefined.
 */
export interface InstalledInfo {
  bundle: BundleInfo | undefined;
  /** `UTCTime`: whole POSIX seconds (floor), i64. */
  timestampS: bigint | number | undefined;
}

export interface BootstrapInfo {
  /** Haskell sends `show addr`; ours is free text. At most MAX_TEXT_BYTES UTF-8 bytes. */
  address: string;
  status: ConnectionStatus;
}

/** Protocol-neutral AgentInfo; each version encodes the fields it has. */
export interface AgentInfo {
  /** V3 only (`agentInfoProgramVersion`; Haskell sends "unknown" when it has none). */
  programVersion: string;
  /** Undefined: nothing installed (and nothing dropped). */
  installed: InstalledInfo | undefined;
  /** The staged key's vk (32 bytes), if one is staged. */
  stagedVk: Uint8Array | undefined;
  /** The agent's clock, whole POSIX seconds. */
  currentTimeS: bigint | number;
  currentKesPeriod: bigint | number;
  /** V3 only: start and end of the current KES period, whole POSIX seconds. */
  periodStartS: bigint | number;
  periodEndS: bigint | number;
  bootstrap: BootstrapInfo[];
}

/** A decoded AgentInfo: the same shape, with every Word64/Int64 as a bigint. */
export interface DecodedAgentInfo extends AgentInfo {
  installed: { bundle: DecodedBundleInfo | undefined; timestampS: bigint | undefined } | undefined;
  currentTimeS: bigint;
  currentKesPeriod: bigint;
  /** 0n on V0..V2 (not on the wire). */
  periodStartS: bigint;
  periodEndS: bigint;
}

export interface DecodedBundleInfo extends BundleInfo {
  startKesPeriod: bigint;
  ocertCounter: bigint;
}

function writeBundleInfo(w: ByteWriter, b: BundleInfo): void {
  w.u32(b.evolution)
    .u64(b.startKesPeriod, 'start KES period')
    .u64(b.ocertCounter, 'ocert counter')
    .bytes(b.vk, HS_VK_BYTES, 'bundle vk')
    .bytes(b.sigma, HS_SIGMA_BYTES, 'bundle sigma');
}

async function readBundleInfo(r: ByteReader, opts: ReadOptions): Promise<DecodedBundleInfo> {
  const evolution = await r.readU32(opts);
  const startKesPeriod = await r.readU64(opts);
  const ocertCounter = await r.readU64(opts);
  const vk = await r.readExact(HS_VK_BYTES, opts);
  const sigma = await r.readExact(HS_SIGMA_BYTES, opts);
  return { evolution, startKesPeriod, ocertCounter, vk, sigma };
}

function writeBootstrap(w: ByteWriter, b: BootstrapInfo): void {
  const i = CONNECTION_STATUSES.indexOf(b.status);
  if (i < 0) throw new RangeError('not a ConnectionStatus');
  w.text(b.address, MAX_TEXT_BYTES, 'bootstrap address').u8(i);
}

async function readBootstrap(r: ByteReader, opts: ReadOptions): Promise<BootstrapInfo> {
  const address = await readText(r, MAX_TEXT_BYTES, 'bootstrap address');
  const status = enumAt(CONNECTION_STATUSES, await r.readU8(opts), 'ConnectionStatus');
  return { address, status };
}

/** InfoMessage body for `version` (Control/V{0,1,2,3}/Driver.hs `sendItem s info`). */
export function encodeAgentInfo(version: ControlVersion, info: AgentInfo): Uint8Array {
  const w = new ByteWriter();
  if (version === 3) w.text(info.programVersion, MAX_TEXT_BYTES, 'program version');
  if (version <= 1) {
    w.maybe(info.installed?.bundle, writeBundleInfo);
  } else {
    w.maybe(info.installed, (w2, inst) => {
      w2.maybe(inst.bundle, writeBundleInfo);
      w2.maybe(inst.timestampS, (w3, t) => void w3.i64(t, 'bundle timestamp'));
    });
  }
  w.maybe(info.stagedVk, (w2, vk) => void w2.bytes(vk, HS_VK_BYTES, 'staged vk'));
  w.i64(info.currentTimeS, 'current time').u64(info.currentKesPeriod, 'current KES period');
  if (version === 3) w.i64(info.periodStartS, 'period start').i64(info.periodEndS, 'period end');
  w.list(info.bootstrap, MAX_BOOTSTRAP_ENTRIES, writeBootstrap, 'bootstrap list');
  return w.finish();
}

/** Client side: read an InfoMessage of `version`. Caps: MAX_TEXT_BYTES, MAX_BOOTSTRAP_ENTRIES. */
export async function readAgentInfo(r: ByteReader, version: ControlVersion, opts: ReadOptions = {}): Promise<DecodedAgentInfo> {
  r.beginMessage();
  const programVersion = version === 3 ? await readText(r, MAX_TEXT_BYTES, 'program version') : '';
  let installed: DecodedAgentInfo['installed'];
  if (version <= 1) {
    const bundle = await r.readMaybe(() => readBundleInfo(r, opts), opts);
    installed = bundle === undefined ? undefined : { bundle, timestampS: undefined };
  } else {
    installed = await r.readMaybe(async () => {
      const bundle = await r.readMaybe(() => readBundleInfo(r, opts), opts);
      const timestampS = await r.readMaybe(() => r.readI64(opts), opts);
      return { bundle, timestampS };
    }, opts);
  }
  const stagedVk = await r.readMaybe(() => r.readExact(HS_VK_BYTES, opts), opts);
  const currentTimeS = await r.readI64(opts);
  const currentKesPeriod = await r.readU64(opts);
  let periodStartS = 0n;
  let periodEndS = 0n;
  if (version === 3) {
    periodStartS = await r.readI64(opts);
    periodEndS = await r.readI64(opts);
  }
  const bootstrap = await readList(r, MAX_BOOTSTRAP_ENTRIES, 'bootstrap list', () => readBootstrap(r, opts));
  return { programVersion, installed, stagedVk, currentTimeS, currentKesPeriod, periodStartS, periodEndS, bootstrap };
}

/**
 * A bundle `Timestamp` (µs) as AgentInfo shows it: `timestampToUTC` then `sendUTCTime`, i.e.
 * floor(µs / 10^6) seconds (kes-agent-crypto/src/Cardano/KESAgent/KES/Bundle.hs,
 * kes-agent/src/Cardano/KESAgent/Serialization/RawUtil.hs).
 */
export function timestampUsToSeconds(us: bigint): bigint {
  const q = us / 1_000_000n;
  return us < 0n && q * 1_000_000n !== us ? q - 1n : q;
}
