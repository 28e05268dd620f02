/** `kes-ctl import-opcert FILE`: attach an operational certificate to the staged key. */
import { Command, Option } from 'clipanion';
import { readOpcertFile } from '../../cardano';
import { toHex } from '../../crypto/bytes';
import type { ImportReport } from '../../protocol';
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
      counter is not lower than the agent's counter floor: the highest counter of any key it has
      had active since it started. An opcert whose start period is still in the future is
      accepted with a note.

      A freshly started agent has no counter floor (it keeps none on disk), so it cannot tell an
      old opcert from a new one: the import then says so with a warning; check the counter
      against the cold host's counter file.

      With --json one object: kesVkey, counter, startKesPeriod, currentKesPeriod, startsInFuture,
      and, from an agent that reports it (control protocol 2), counterFloor (the floor the counter
      was checked against, or null when there was none) and warnings.

      On any refusal the staged key stays staged and usable: fix the opcert and import again.
    `,
    examples: [['Import an opcert', '$0 import-opcert opcert.cert']],
  });

  file = Option.String({ name: 'opcert-file' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  async execute(): Promise<number> {
    const opcert = readOpcertFile(this.file);
    const r: ImportReport = await this.withAgent((ctl) => ctl.importOpcert(opcert));
    const warnings = importWarnings(r);
    if (this.json) {
      this.printJson({
        kesVkey: toHex(r.kesVk), counter: r.counter, startKesPeriod: r.startKesPeriod,
        currentKesPeriod: r.currentKesPeriod, startsInFuture: r.startsInFuture,
        ...(r.counterFloor === undefined ? {} : { counterFloor: r.counterFloor, warnings }),
      });
      return EXIT.OK;
    }
    this.print(`opcert imported for staged key ${toHex(r.kesVk)}: counter ${r.counter}, start KES period ${r.startKesPeriod}`);
    if (r.startsInFuture) {
      this.print(`note: it becomes valid at KES period ${r.startKesPeriod}, which has not started yet; nodes cannot forge with it until then`);
    }
    for (const w of warnings) this.print(`warning: ${w}`);
    this.print('next: kes-ctl upload');
    return EXIT.OK;
  }
}

/**
 * What the operator must check by hand after an import. An agent with no counter floor (nothing
 * active since it started) accepted the counter unchecked: an opcert issued from a stale copy of
 * the counter file would be accepted here and refused by the chain.
 */
export function importWarnings(r: ImportReport): string[] {
  if (r.counterFloor !== null) return [];
  return [
    `the agent has had no active key since it started, so it could not check counter ${r.counter} against earlier ones: make sure it is not below the last counter the chain has seen for the pool (the cold host's counter file holds the next one)`,
  ];
}
