/**
 * Built-in timings for the public networks (docs/kes-construction.md §7.3).
 *
 * Mainnet and preprod began with a Byron era of 20-second slots, so their absolute slot numbers
 * are NOT "seconds since systemStart". Reading their Shelley genesis alone (which is all the
 * Haskell kes-agent does, docs/kes-construction.md §7.4) puts the KES period ~659 periods ahead of the
 * ledger on mainnet. These presets anchor on the Shelley hard-fork point instead, which is what
 * the ledger's `slot div slotsPerKESPeriod` needs.
 */
import { KesError } from '../errors';
import { type ChainTiming, makeChainTiming } from './chain-timing';
import type { GenesisContents } from './genesis';

export const NETWORK_NAMES = ['mainnet', 'preprod', 'preview'] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

/** Byron slots lasted 20 s on both Byron-era public networks (mainnet Byron genesis slotDuration 20000). */
export const BYRON_SLOT_LENGTH_MS = 20_000;

/** Shelley parameters shared by all three public networks (their Shelley genesis files). */
const SHELLEY_SLOT_LENGTH_MS = 1000;
const PUBLIC_SLOTS_PER_KES_PERIOD = 129_600;
const PUBLIC_MAX_KES_EVOLUTIONS = 62;

interface HardForkPoint {
  /** First Shelley slot. */
  readonly slot: number;
  /** Its wall clock, unix seconds. */
  readonly unixSeconds: number;
}

function byronNetwork(name: NetworkName, shelley: HardForkPoint): ChainTiming {
  const shelleyStartMs = shelley.unixSeconds * 1000;
  return makeChainTiming({
    name,
    // The Byron era ran `slot` slots of 20 s before Shelley; for mainnet this lands exactly on the
    // Byron genesis startTime 1506203091 (= Shelley genesis systemStart 2017-09-23T21:44:51Z).
    systemStartMs: shelleyStartMs - shelley.slot * BYRON_SLOT_LENGTH_MS,
    shelleyStartMs,
    shelleyStartSlot: shelley.slot,
    slotLengthMs: SHELLEY_SLOT_LENGTH_MS,
    slotsPerKESPeriod: PUBLIC_SLOTS_PER_KES_PERIOD,
    maxKESEvolutions: PUBLIC_MAX_KES_EVOLUTIONS,
  });
}

const PRESETS: Readonly<Record<NetworkName, ChainTiming>> = Object.freeze({
  // Shelley at epoch 208, slot 4492800 = 2020-07-29T21:44:51Z.
  mainnet: byronNetwork('mainnet', { slot: 4_492_800, unixSeconds: 1_596_059_091 }),
  // 4 Byron epochs of 21600 slots; Shelley at slot 86400 = 2022-06-21T00:00:00Z.
  preprod: byronNetwork('preprod', { slot: 86_400, unixSeconds: 1_655_769_600 }),
  // No Byron era: slot 0 at systemStart 2022-10-25T00:00:00Z.
  preview: makeChainTiming({
    name: 'preview',
    systemStartMs: 1_666_656_000_000,
    shelleyStartMs: 1_666_656_000_000,
    shelleyStartSlot: 0,
    slotLengthMs: SHELLEY_SLOT_LENGTH_MS,
    slotsPerKESPeriod: PUBLIC_SLOTS_PER_KES_PERIOD,
    maxKESEvolutions: PUBLIC_MAX_KES_EVOLUTIONS,
  }),
});

/** Keeps an error message one line even when the argument is garbage. */
const MAX_ECHOED_NAME_CHARS = 40;

export const DEFAULT_NETWORK: NetworkName = 'mainnet';

export function isNetworkName(name: string): name is NetworkName {
  return (NETWORK_NAMES as readonly string[]).includes(name);
}

/** @throws KesError NETWORK_UNKNOWN */
export function networkTiming(name: string): ChainTiming {
  if (!isNetworkName(name)) {
    throw new KesError('NETWORK_UNKNOWN', `unknown network ${JSON.stringify(String(name).slice(0, MAX_ECHOED_NAME_CHARS))}: expected mainnet, preprod or preview`);
  }
  return PRESETS[name];
}

/**
 * The Byron-era preset whose systemStart equals this timing's, if any. A Shelley genesis file
 * read on its own assumes no Byron era; when it is in fact the mainnet or preprod genesis, its
 * periods are wrong by hundreds (mainnet) or a fraction (preprod) of a period. Callers use this
 * to tell the operator to pass the network name instead.
 */
export function byronPresetMatching(timing: ChainTiming): NetworkName | undefined {
  if (timing.shelleyStartSlot !== 0) return undefined;
  for (const name of NETWORK_NAMES) {
    const p = PRESETS[name];
    if (p.shelleyStartSlot > 0 && p.systemStartMs === timing.systemStartMs) return name;
  }
  return undefined;
}

/** networkMagic of the public networks (their Shelley genesis files). */
export const NETWORK_MAGIC: Readonly<Record<NetworkName, number>> = Object.freeze({ mainnet: 764_824_073, preprod: 1, preview: 2 });

/** The networks whose Shelley genesis is recognised by its networkMagic: those that began with Byron. */
const BYRON_ERA_NETWORKS: readonly NetworkName[] = ['mainnet', 'preprod'];

/**
 * The timing to use for a Shelley genesis file. The mainnet and preprod files (recognised by
 * networkMagic, checked field by field against the built-in network) give that network's
 * built-in era history, so a Haskell-style setup that passes mainnet-shelley-genesis.json gets
 * the ledger's KES period, not the Haskell agent's wall-clock one (docs/kes-construction.md §7.4).
 * Any other file is a chain without a Byron era, as before, except that a file with mainnet's or
 * preprod's systemStart but another networkMagic is refused: its periods would be wrong.
 *
 * @returns the timing, and the network when the file was recognised as one
 * @throws KesError GENESIS_INVALID naming the file and the contradicting field
 */
export function timingForGenesis(g: GenesisContents, label: string): { timing: ChainTiming; network: NetworkName | undefined } {
  const byMagic = BYRON_ERA_NETWORKS.find((n) => NETWORK_MAGIC[n] === g.networkMagic);
  if (byMagic !== undefined) {
    const preset = PRESETS[byMagic];
    const t = g.timing;
    const checks: [string, string, string][] = [
      ['systemStart', isoSeconds(t.systemStartMs), isoSeconds(preset.systemStartMs)],
      ['slotLength', `${t.slotLengthMs / 1000}`, `${preset.slotLengthMs / 1000}`],
      ['slotsPerKESPeriod', `${t.slotsPerKESPeriod}`, `${preset.slotsPerKESPeriod}`],
      ['maxKESEvolutions', `${t.maxKESEvolutions}`, `${preset.maxKESEvolutions}`],
    ];
    for (const [field, got, want] of checks) {
      if (got !== want) {
        throw new KesError(
          'GENESIS_INVALID',
          `${label}: networkMagic ${g.networkMagic} says ${byMagic}, but ${field} is ${got}, not ${byMagic}'s ${want}: use ${byMagic}'s real Shelley genesis, or a networkMagic of your own for a private testnet`,
        );
      }
    }
    return { timing: preset, network: byMagic };
  }
  const lookalike = byronPresetMatching(g.timing);
  if (lookalike !== undefined) {
    throw new KesError(
      'GENESIS_INVALID',
      `${label}: systemStart is ${lookalike}'s but networkMagic is ${g.networkMagic ?? '(missing)'}, not ${NETWORK_MAGIC[lookalike]}: ${lookalike} began in the Byron era, which a genesis file does not describe, so this file's KES periods would be wrong: use ${lookalike}'s real Shelley genesis or --network ${lookalike}`,
    );
  }
  return { timing: g.timing, network: undefined };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
