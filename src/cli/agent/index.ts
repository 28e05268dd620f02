/** kes-agent: the daemon. */
import type { Cli } from 'clipanion';
import { createCli, type KesCliContext } from '../common';
import { CheckConfigCommand } from './check-config';
import { RunCommand } from './run';

export const KES_AGENT_BIN = 'kes-agent';

export function buildKesAgentCli(argv?: readonly string[]): Cli<KesCliContext> {
  return createCli<KesCliContext>({
    binaryName: KES_AGENT_BIN,
    binaryLabel: 'kes-agent: holds a stake pool\'s KES key in memory only and serves it to block producers',
    commands: [RunCommand, CheckConfigCommand],
  }, argv);
}
