/**
 * `--network NAME | --genesis FILE`, shared by every command that needs KES time.
 */
import { UsageError } from 'clipanion';
import { KesError } from '../../errors';
import { type ChainTiming, DEFAULT_NETWORK, byronPresetMatching, networkTiming, readGenesisFile } from '../../time';

/**
 * The chain timing the operator chose. The mainnet and preprod genesis files are refused: their
 * chains began in the Byron era, which a genesis file does not describe, so every KES period
 * computed from them would be ~659 periods off (haskell-kes-agent.md §1.6).
 */
export function resolveTiming(network: string | undefined, genesis: string | undefined): ChainTiming {
  if (network !== undefined && genesis !== undefined) {
    throw new UsageError('--network and --genesis are mutually exclusive');
  }
  if (genesis === undefined) return networkTiming(network ?? DEFAULT_NETWORK);
  const timing = readGenesisFile(genesis);
  const preset = byronPresetMatching(timing);
  if (preset !== undefined) {
    throw new KesError(
      'GENESIS_INVALID',
      `${genesis}: this is the ${preset} Shelley genesis; its chain began in the Byron era, which a genesis file does not describe, so its KES periods would be wrong: use --network ${preset}`,
    );
  }
  return timing;
}
