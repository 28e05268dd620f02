/** `kes-agent-control drop-staged-key`: forget the staged key. */
import { Command } from 'clipanion';
import { readPublicKeyMessage } from '../../protocol/haskell';
import { HS_EXIT } from './exit-codes';
import { HsControlCommand } from './options';
import { STDOUT_FILE, writeVk } from './output';

export class DropStagedKeyCommand extends HsControlCommand {
  static override paths = [['drop-staged-key']];
  static override usage = Command.Usage({
    description: 'Ask the agent to forget its staged KES key',
    details: `
      The agent forgets the staged key, if any; the installed key is untouched. Prints
      "Staged key dropped." (also when nothing was staged). If the agent answers with a key
      (it kept one), prints "Staged key not dropped:" and its verification key envelope, exit 6.
    `,
    examples: [['Drop the staged key', '$0 drop-staged-key']],
  });

  async execute(): Promise<number> {
    this.checkCommonOptions();
    const vk = await this.withSession((s) => s.request({ cmd: 'DropStagedKeyCmd' }, 'drop-staged-key', (r) => readPublicKeyMessage(r)));
    if (vk === undefined) {
      this.print('Staged key dropped.');
      return HS_EXIT.OK;
    }
    this.print('Staged key not dropped:');
    writeVk(vk, STDOUT_FILE, this.context.stdout, false);
    return HS_EXIT.REFUSED;
  }
}
