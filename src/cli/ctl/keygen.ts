/** `kes-ctl keygen`: a new KES key pair, generated inside the agent, into the staging slot. */
import { Command, Option, UsageError } from 'clipanion';
import { writeKesVerificationKeyFile } from '../../cardano';
import { toHex } from '../../crypto/bytes';
import { KesError } from '../../errors';
import { EXIT } from '../exit-codes';
import { assertWritableDir } from '../common/files';
import { CtlCommand } from './base';

export class KeygenCommand extends CtlCommand {
  static override paths = [['keygen']];
  static override usage = Command.Usage({
    description: 'Generate a KES key in the agent\'s staging slot',
    details: `
      The agent generates the key itself: the sign key never leaves its memory. Prints the
      verification key; with --out also writes it as a cardano-cli
      KesVerificationKey_ed25519_kes_2^6 file for issuing the opcert.

      If a key is already staged the agent refuses (exit 6, STAGED_KEY_EXISTS) unless --force,
      which wipes the staged key. The active key is never touched.
    `,
    examples: [
      ['Stage a key and write its vkey', '$0 keygen --out kes.vkey'],
      ['Replace a staged key', '$0 keygen --force --out kes.vkey'],
    ],
  });

  force = Option.Boolean('--force', false, { description: 'Replace (and wipe) a key that is already staged' });
  out = Option.String('--out', { description: 'Also write the verification key envelope to this file' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  async execute(): Promise<number> {
    if (this.out === '-') throw new UsageError('--out -: the verification key is printed anyway; give a file name');
    // Check the destination first: a staged key whose vkey could not be written is a wasted step.
    if (this.out !== undefined) assertWritableDir(this.out);
    const r = await this.withAgent((ctl) => ctl.keygen({ force: this.force }));
    const kesVkey = toHex(r.kesVk);
    if (this.out !== undefined) {
      try {
        writeKesVerificationKeyFile(this.out, r.kesVk, { overwrite: true });
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new KesError('FILE_WRITE_FAILED', `the key is staged (${kesVkey}), but writing ${this.out} failed: ${why}; run kes-ctl export-verkey --out FILE`);
      }
    }
    if (this.json) this.printJson({ kesVkey, replacedStaged: r.replacedStaged, out: this.out ?? null });
    else {
      this.print(`staged KES key ${kesVkey}${r.replacedStaged ? ' (the previous staged key was wiped)' : ''}`);
      if (this.out !== undefined) this.print(`verification key written to ${this.out}`);
      this.print('next: issue an opcert for it on the cold host, then kes-ctl import-opcert FILE');
    }
    return EXIT.OK;
  }
}
