/** `kes-ctl keygen`: a new KES key pair, generated inside the agent, into the staging slot. */
import { Command, Option, UsageError } from 'clipanion';
import { writeKesVerificationKeyFile, type WriteOutcome } from '../../cardano';
import { toHex } from '../../crypto/bytes';
import { KesError } from '../../errors';
import { EXIT } from '../exit-codes';
import { OVERWRITE_FLAG, checkOutputFile, describeWrite, overwriteOption } from '../common/files';
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

      --force is about the staged key only. An existing --out file is refused (exit 3,
      FILE_EXISTS) unless --overwrite, and a symbolic link at --out always is (FILE_IS_SYMLINK);
      both are checked before the agent is asked, so a refusal stages nothing and keeps the
      staged key.
    `,
    examples: [
      ['Stage a key and write its vkey', '$0 keygen --out kes.vkey'],
      ['Replace a staged key and its vkey file', '$0 keygen --force --overwrite --out kes.vkey'],
    ],
  });

  force = Option.Boolean('--force', false, { description: 'Replace (and wipe) a key that is already staged' });
  out = Option.String('--out', { description: 'Also write the verification key envelope to this file' });
  overwrite = overwriteOption();
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  async execute(): Promise<number> {
    if (this.out === '-') throw new UsageError('--out -: the verification key is printed anyway; give a file name');
    // Check the destination first: a refused file must not cost the staged key. A fresh key is
    // in no existing file, so without --overwrite any file there is refused now.
    if (this.out !== undefined) checkOutputFile(this.out, { overwrite: this.overwrite, mayBeUnchanged: false });
    const r = await this.withAgent((ctl) => ctl.keygen({ force: this.force }));
    const kesVkey = toHex(r.kesVk);
    let written: WriteOutcome | undefined;
    if (this.out !== undefined) {
      try {
        written = writeKesVerificationKeyFile(this.out, r.kesVk, { overwrite: this.overwrite });
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new KesError('FILE_WRITE_FAILED', `the key is staged (${kesVkey}), but writing ${this.out} failed: ${why}; run kes-ctl export-verkey --out FILE (${OVERWRITE_FLAG} to replace a file)`);
      }
    }
    if (this.json) this.printJson({ kesVkey, replacedStaged: r.replacedStaged, out: this.out ?? null, outWritten: written ?? null });
    else {
      this.print(`staged KES key ${kesVkey}${r.replacedStaged ? ' (the previous staged key was wiped)' : ''}`);
      if (this.out !== undefined && written !== undefined) this.print(describeWrite(this.out, written, 'verification key'));
      this.print('next: issue an opcert for it on the cold host, then kes-ctl import-opcert FILE');
    }
    return EXIT.OK;
  }
}
