/** `kes-ctl export-verkey`: the staged key's verification key, read-only. */
import { Command, Option } from 'clipanion';
import { ENVELOPE_TYPES, formatEnvelope, keyEnvelope, writeKesVerificationKeyFile } from '../../cardano';
import { toHex } from '../../crypto/bytes';
import { EXIT } from '../exit-codes';
import { CtlCommand } from './base';
import { assertWritableDir } from '../common/files';

export class ExportVerkeyCommand extends CtlCommand {
  static override paths = [['export-verkey']];
  static override usage = Command.Usage({
    description: 'Write the staged key\'s verification key (cardano-cli envelope)',
    details: `
      Writes the staged key's KesVerificationKey_ed25519_kes_2^6 envelope to --out, or to
      stdout with --out - (the default). Read-only: the agent's state does not change.
    `,
    examples: [
      ['Write kes.vkey', '$0 export-verkey --out kes.vkey'],
      ['Print it', '$0 export-verkey'],
    ],
  });

  out = Option.String('--out', '-', { description: 'File to write, or - for stdout' });
  json = Option.Boolean('--json', false, { description: 'Print {"ok", "kesVkey", "hasOpcert", "out"} instead of the envelope' });

  async execute(): Promise<number> {
    if (this.out !== '-') assertWritableDir(this.out);
    const r = await this.withAgent((ctl) => ctl.exportVerkey());
    if (this.out !== '-') writeKesVerificationKeyFile(this.out, r.kesVk, { overwrite: true });
    if (this.json) this.printJson({ kesVkey: toHex(r.kesVk), hasOpcert: r.hasOpcert, out: this.out === '-' ? null : this.out });
    else if (this.out === '-') {
      this.context.stdout.write(
        formatEnvelope(keyEnvelope(ENVELOPE_TYPES.kesVerificationKey, r.kesVk)),
      );
    } else this.print(`verification key ${toHex(r.kesVk)} written to ${this.out}`);
    return EXIT.OK;
  }
}
