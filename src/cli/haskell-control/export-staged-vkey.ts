/** `kes-agent-control export-staged-vkey`: the staged key's verification key (read-only). */
import { Command, Option } from 'clipanion';
import { readPublicKeyMessage } from '../../protocol/haskell';
import { checkOutputFile, overwriteOption } from '../common/files';
import { HS_EXIT } from './exit-codes';
import { HsControlCommand } from './options';
import { DEFAULT_VK_FILE, STDOUT_FILE, writeVk } from './output';

export class ExportStagedVkeyCommand extends HsControlCommand {
  static override paths = [['export-staged-vkey']];
  static override usage = Command.Usage({
    description: "Write the staged KES key's verification key",
    details: `
      Writes the staged key's KesVerificationKey_ed25519_kes_2^6 envelope to
      --kes-verification-key-file (default kes.vkey; - for stdout) and prints "KES VerKey
      written to FILE". The agent's state does not change. Unlike the Haskell tool, an existing
      file with other content is replaced only with --overwrite (one that already holds this key
      is left unchanged), and a symbolic link there never is (exit 21).

      With no staged key: prints "No key available." and exits 8 (the Haskell tool exits 0).
    `,
    examples: [['Print the staged vk', '$0 export-staged-vkey --kes-verification-key-file -']],
  });

  vkFile = Option.String('--kes-verification-key-file', DEFAULT_VK_FILE, { description: 'File to write the KES verification key to, or - for stdout (default kes.vkey)' });
  overwrite = overwriteOption();

  async execute(): Promise<number> {
    this.checkCommonOptions();
    if (this.vkFile !== STDOUT_FILE) checkOutputFile(this.vkFile, { overwrite: this.overwrite, mayBeUnchanged: true });
    const vk = await this.withSession((s) => s.request({ cmd: 'QueryStagedKeyCmd' }, 'export-staged-vkey', (r) => readPublicKeyMessage(r)));
    if (vk === undefined) {
      this.print('No key available.');
      return HS_EXIT.NOT_READY;
    }
    const line = writeVk(vk, this.vkFile, this.context.stdout, this.overwrite);
    if (line !== undefined) this.print(line);
    return HS_EXIT.OK;
  }
}
