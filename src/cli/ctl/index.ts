/** kes-ctl: one-shot control steps, each a separate protocol request, for scripts and people. */
import type { Cli } from 'clipanion';
import { createCli, type KesCliContext } from '../common';
import { DropActiveCommand, DropStagedCommand } from './drop';
import { ExportVerkeyCommand } from './export-verkey';
import { ImportOpcertCommand } from './import-opcert';
import { KeygenCommand } from './keygen';
import { StatusCommand } from './status';
import { UploadCommand } from './upload';

export const KES_CTL_BIN = 'kes-ctl';

export function buildKesCtlCli(argv?: readonly string[]): Cli<KesCliContext> {
  return createCli<KesCliContext>({
    binaryName: KES_CTL_BIN,
    binaryLabel: 'kes-ctl: control a running kes-agent (keygen, export-verkey, import-opcert, upload, status, drop-*)',
    commands: [KeygenCommand, ExportVerkeyCommand, ImportOpcertCommand, UploadCommand, StatusCommand, DropStagedCommand, DropActiveCommand],
  }, argv);
}
