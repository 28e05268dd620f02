/** `kes-agent-control info`: the agent's state, in the Haskell tool's layout. */
import { Command } from 'clipanion';
import { colourEnabled } from '../common/format';
import { readAgentInfo } from '../../protocol/haskell';
import { HS_EXIT } from './exit-codes';
import { HsControlCommand } from './options';
import { ANSI, PLAIN, renderInfo } from './output';

export class InfoCommand extends HsControlCommand {
  static override paths = [['info']];
  static override usage = Command.Usage({
    description: "Show the agent's state: version, clock and KES period, installed and staged keys, bootstrap peers",
    details: `
      Prints the blocks "--- Agent ---", "--- Installed KES SignKey ---" (when a key is installed
      or was dropped), "--- Staged KES SignKey ---" (when one is staged) and
      "--- Bootstrap Peers ---" (when the agent has any), as the Haskell tool does. Agents older
      than Control:3.0 do not send their version or the KES period's start and end: those read
      <unknown>. Colours only on a terminal.
    `,
    examples: [['Show', '$0 info']],
  });

  async execute(): Promise<number> {
    this.checkCommonOptions();
    const text = await this.withSession(async (s) => {
      const info = await s.request({ cmd: 'RequestInfoCmd' }, 'info', (r) => readAgentInfo(r, s.version));
      const paint = colourEnabled(this.context.stdout as { isTTY?: boolean }, this.context.env) ? ANSI : PLAIN;
      return renderInfo(info, s.version, s.socketPath, paint);
    });
    this.context.stdout.write(text);
    return HS_EXIT.OK;
  }
}
