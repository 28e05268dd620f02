/** `kes-ctl export-verkey`: the staged key's verification key, read-only. */
import { Command, Option } from 'clipanion';
import { ENVELOPE_TYPES, formatEnvelope, keyEnvelope, writeKesVerificationKeyFile } from '../../cardano';
import { toHex } from '../../crypto/bytes';
import { EXIT } from '../exit-codes';
import { CtlCommand } from './base';
import { checkOutputFile, describeWrite, overwriteOption } from '../common/files';

export class ExportVerkeyCommand extends CtlCommand {
  static override paths = [['export-verkey']];
  static override usage = Command.Usage({
    description: 'Write the staged key\'s verification key (cardano-cli envelope)',
    details: `
      Writes the staged key's KesVerificationKey_ed25519_kes_2^6 envelope to --out, or to
      stdout with --out - (the default). Read-only: the agent's state does not change.

      An existing --out file is left as it is when it already holds this key (said so, exit 0),
      and otherwise refused (exit 3, FILE_EXISTS) unless --overwrite. A symbolic link at --out
      is always refused (FILE_IS_SYMLINK).
    `,
    examples: [
      ['Write kes.vkey', '$0 export-verkey --out kes.vkey'],
      ['Print it', '$0 export-verkey'],
    ],
  });

  out = Option.String('--out', '-', { description: 'File to write, or - for stdout' });
  overwrite = overwriteOption();
  json = Option.Boolean('--json', false, { description: 'Print {"ok", "kesVkey", "hasOpcert", "out", "outWritten"} instead of the envelope' });

  async execute(): Promise<number> {
    if (this.out !== '-') checkOutputFile(this.out, { overwrite: this.overwrite, mayBeUnchanged: true });
    const r = await this.withAgent((ctl) => ctl.exportVerkey());
    const written = this.out === '-' ? undefined : writeKesVerificationKeyFile(this.out, r.kesVk, { overwrite: this.overwrite });
    if (this.json) this.printJson({ kesVkey: toHex(r.kesVk), hasOpcert: r.hasOpcert, out: this.out === '-' ? null : this.out, outWritten: written ?? null });
    else if (this.out === '-') {
      this.context.stdout.write(
        formatEnvelope(keyEnvelope(ENVELOPE_TYPES.kesVerificationKey, r.kesVk)),
      );
    } else if (written !== undefined) this.print(`${describeWrite(this.out, written, 'verification key')} (${toHex(r.kesVk)})`);
    return EXIT.OK;
  }
}
