/** `kes-agent-control gen-staged-key`: the agent makes a new staged KES key; its vk is written out. */
import { Command, Option } from 'clipanion';
import { readPublicKeyMessage } from '../../protocol/haskell';
import { checkOutputFile, overwriteOption } from '../common/files';
import { HS_EXIT } from './exit-codes';
import { HsControlCommand } from './options';
import { DEFAULT_VK_FILE, STDOUT_FILE, writeVk } from './output';

export class GenStagedKeyCommand extends HsControlCommand {
  static override paths = [['gen-staged-key']];
  static override usage = Command.Usage({
    description: 'Ask the agent to generate a new staged KES key and write its verification key',
    details: `
      The agent generates a KES sign key in its locked memory and stages it (any previous staged
      key is forgotten; the installed key is untouched). Its verification key is written as a
      cardano-cli KesVerificationKey_ed25519_kes_2^6 envelope to --kes-verification-key-file
      (default kes.vkey; - for stdout). Issue the opcert for it, then run install-key.

      Unlike the Haskell tool, an existing file is replaced only with --overwrite, and a
      symbolic link there never is; both are checked before the agent is asked, so a refusal
      (exit 21) leaves the staged key as it was.

      Prints "Asking agent to generate a key...", "KES SignKey generated." and
      "KES VerKey written to FILE". Exit 0; 6 when the agent generated nothing.
    `,
    examples: [
      ['Stage a key, vk to kes.vkey', '$0 gen-staged-key'],
      ['Print the vk', '$0 gen-staged-key --kes-verification-key-file -'],
    ],
  });

  vkFile = Option.String('--kes-verification-key-file', DEFAULT_VK_FILE, { description: 'File to write the KES verification key to, or - for stdout (default kes.vkey)' });
  overwrite = overwriteOption();

  async execute(): Promise<number> {
    this.checkCommonOptions();
    // Before the agent is asked: a refused file must not cost the staged key it would replace.
    if (this.vkFile !== STDOUT_FILE) checkOutputFile(this.vkFile, { overwrite: this.overwrite, mayBeUnchanged: false });
    this.print('Asking agent to generate a key...');
    const vk = await this.withSession((s) => s.request({ cmd: 'GenStagedKeyCmd' }, 'gen-staged-key', (r) => readPublicKeyMessage(r)));
    if (vk === undefined) {
      this.print('Key generation has failed. Please check KES agent log for details.');
      return HS_EXIT.REFUSED;
    }
    this.print('KES SignKey generated.');
    const line = writeVk(vk, this.vkFile, this.context.stdout, this.overwrite);
    if (line !== undefined) this.print(line);
    return HS_EXIT.OK;
  }
}
