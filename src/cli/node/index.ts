/** kes-node: the node side of the service socket, for operators (watch what a node gets; sign with it). */
import type { Cli } from 'clipanion';
import { createCli, type KesCliContext } from '../common';
import { SignCommand } from './sign';
import { WatchCommand } from './watch';

export const KES_NODE_BIN = 'kes-node';

export function buildKesNodeCli(argv?: readonly string[]): Cli<KesCliContext> {
  return createCli<KesCliContext>({
    binaryName: KES_NODE_BIN,
    binaryLabel: 'kes-node: connect to kes-agent\'s service socket as a block producer does',
    commands: [WatchCommand, SignCommand],
  }, argv);
}
