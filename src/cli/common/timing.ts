/**
 * `--network NAME | --genesis FILE`, shared by every command that needs KES time.
 */
import { UsageError } from 'clipanion';
import { type ChainTiming, DEFAULT_NETWORK, networkTiming, readGenesisDoc, timingForGenesis } from '../../time';

/**
 * The chain timing the operator chose. A genesis file is a private testnet's (no Byron era),
 * except the mainnet and preprod Shelley genesis files, recognised by networkMagic: those give
 * the built-in timing of their network, whose chain began in the Byron era that a genesis file
 * does not describe (docs/kes-construction.md §7.4). A file that looks like mainnet's or preprod's
 * but does not match it is refused (timingForGenesis).
 */
export function resolveTiming(network: string | undefined, genesis: string | undefined): ChainTiming {
  if (network !== undefined && genesis !== undefined) {
    throw new UsageError('--network and --genesis are mutually exclusive');
  }
  if (genesis === undefined) return networkTiming(network ?? DEFAULT_NETWORK);
  return timingForGenesis(readGenesisDoc(genesis), genesis).timing;
}
