/** KES time: wall clock → ledger slot → KES period, and opcert windows (docs/kes-construction.md §7). */
export { type ChainTiming, MAX_KES_EVOLUTIONS_LIMIT, MAX_KES_PERIOD_LENGTH_MS, makeChainTiming } from './chain-timing';
export {
  NETWORK_NAMES,
  type NetworkName,
  DEFAULT_NETWORK,
  BYRON_SLOT_LENGTH_MS,
  isNetworkName,
  networkTiming,
  byronPresetMatching,
  NETWORK_MAGIC,
  timingForGenesis,
} from './networks';
export { parseGenesis, parseGenesisDoc, readGenesisFile, readGenesisDoc, type GenesisContents, MAX_GENESIS_FILE_BYTES } from './genesis';
export { slotAt, kesPeriodOfSlot, periodStartMs, type KesTime, kesTimeAt, currentKesPeriodAt } from './kes-period';
export { type OpcertWindow, opcertWindow, type OpcertStanding, opcertStanding } from './opcert-window';
