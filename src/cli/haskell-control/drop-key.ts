/** `kes-agent-control drop-key`: delete the installed key (Control V2 and newer). */
import { Command } from 'clipanion';
import { readControlRecvResult } from '../../protocol/haskell';
import { HS_EXIT, HsControlFailure, exitForRecvResult } from './exit-codes';
import { HsControlCommand } from './options';

/** The oldest control version with DropKeyCmd. */
export const DROP_KEY_MIN_VERSION = 2;

export class DropKeyCommand extends HsControlCommand {
  static override paths = [['drop-key']];
  static override usage = Command.Usage({
    description: 'Ask the agent to delete its installed KES key',
    details: `
      The agent deletes the installed key and tells the block producers that speak Service 2.0.
      Prints "KES key dropped." (exit 0). If the agent refuses, prints "KES key not dropped:"
      and its reason, and exits with the reason's code (1..5, as install-key; the Haskell tool
      exits 0). An agent whose control protocol is older than Control:2.0 has no drop-key: one
      line on stderr, exit 4 (RecvErrorUnsupportedOperation), nothing is sent after the handshake.
    `,
    examples: [['Drop the installed key', '$0 drop-key']],
  });

  async execute(): Promise<number> {
    this.checkCommonOptions();
    const result = await this.withSession(async (s) => {
      if (s.version < DROP_KEY_MIN_VERSION) {
        // As the Haskell client: the accept was sent; close without a command.
        throw new HsControlFailure(
          HS_EXIT.UNSUPPORTED,
          'RecvErrorUnsupportedOperation',
          `${s.socketPath}: the agent's control protocol (${s.versionName}) is too old for drop-key, which needs Control:2.0 or newer; nothing was dropped`,
        );
      }
      return s.request({ cmd: 'DropKeyCmd' }, 'drop-key', (r) => readControlRecvResult(r));
    });
    if (result === 'RecvOK') {
      this.print('KES key dropped.');
      return HS_EXIT.OK;
    }
    this.print('KES key not dropped:');
    this.print(result);
    return exitForRecvResult(result);
  }
}
