/** kes-cold: offline cold-key operations (keys, opcerts, counters, KES periods). */
import type { Cli } from 'clipanion';
import { createCli, type KesCliContext } from '../common';
import { InspectCommand } from './inspect';
import { IssueOpcertCommand } from './issue-opcert';
import { KeygenCommand } from './keygen';
import { PeriodCommand } from './period';

export const KES_COLD_BIN = 'kes-cold';

export function buildKesColdCli(argv?: readonly string[]): Cli<KesCliContext> {
  return createCli<KesCliContext>({
    binaryName: KES_COLD_BIN,
    binaryLabel: 'kes-cold: stake-pool cold key, opcert and KES period tool (cardano-cli compatible files)',
    commands: [KeygenCommand, IssueOpcertCommand, PeriodCommand, InspectCommand],
  }, argv);
}
