/** `kes-ctl import-opcert FILE`: attach an operational certificate to the staged key. */
import { Command, Option } from 'clipanion';
import { readOpcertFile } from '../../cardano';
import { toHex } from '../../crypto/bytes';
import { EXIT } from '../exit-codes';
import { CtlCommand } from './base';

export class ImportOpcertCommand extends CtlCommand {
  static override paths = [['import-opcert']];
  static override usage = Command.Usage({
    description: 'Attach an operational certificate to the staged key',
    details: `
      Reads a cardano-cli NodeOperationalCertificate file and hands it to the agent, which
      checks: the cold signature against the agent's cold verification key, that the opcert is
      for the staged key, that it has not already expired (c0 + maxKESEvolutions), and that its
      counter is not lower than the active key's. An opcert whose start period is still in the
      future is accepted with a note.

      On any refusal the staged key stays staged and usable: fix the opcert and import again.
    `,
    examples: [['Import an opcert', '$0 import-opcert opcert.cert']],
  });

  file = Option.String({ name: 'opcert-file' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  async execute(): Promise<number> {
    const opcert = readOpcertFile(this.file);
    const r = await this.withAgent((ctl) => ctl.importOpcert(opcert));
    if (this.json) {
      this.printJson({
        kesVkey: toHex(r.kesVk), counter: r.counter, startKesPeriod: r.startKesPeriod,
        currentKesPeriod: r.currentKesPeriod, startsInFuture: r.startsInFuture,
      });
      return EXIT.OK;
    }
    this.print(`opcert imported for staged key ${toHex(r.kesVk)}: counter ${r.counter}, start KES period ${r.startKesPeriod}`);
    if (r.startsInFuture) {
      this.print(`note: it becomes valid at KES period ${r.startKesPeriod}, which has not started yet; nodes cannot forge with it until then`);
    }
    this.print('next: kes-ctl upload');
    return EXIT.OK;
  }
}
