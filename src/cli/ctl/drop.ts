/** `kes-ctl drop-staged` / `kes-ctl drop-active`: wipe a slot. */
import { Command, Option } from 'clipanion';
import { EXIT } from '../exit-codes';
import { CtlCommand } from './base';
import { confirmTimeoutOption } from './upload';

export class DropStagedCommand extends CtlCommand {
  static override paths = [['drop-staged']];
  static override usage = Command.Usage({
    description: 'Wipe the staged key (and its opcert, if imported)',
    details: 'Reports whether there was a staged key. The active key is not touched.',
    examples: [['Drop the staged key', '$0 drop-staged']],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  async execute(): Promise<number> {
    const r = await this.withAgent((ctl) => ctl.dropStaged());
    if (this.json) this.printJson({ hadKey: r.hadKey });
    else this.print(r.hadKey ? 'staged key wiped' : 'no staged key; nothing to do');
    return EXIT.OK;
  }
}

export class DropActiveCommand extends CtlCommand {
  static override paths = [['drop-active']];
  static override usage = Command.Usage({
    description: 'Wipe the active key and tell every node to drop it',
    details: `
      Every connected node is told to drop its copy; reports how many confirmed within the
      --timeout. The staged key is not touched. Nodes stop forging until a new key is uploaded.
    `,
    examples: [['Revoke the active key everywhere', '$0 drop-active']],
  });

  timeout = confirmTimeoutOption();
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  async execute(): Promise<number> {
    const r = await this.withAgent((ctl) => ctl.dropActive({ confirmTimeoutMs: this.timeout }));
    if (this.json) this.printJson({ hadKey: r.hadKey, nodesConnected: r.nodesConnected, nodesConfirmed: r.nodesConfirmed });
    else if (r.hadKey) this.print(`active key wiped; ${r.nodesConfirmed} of ${r.nodesConnected} nodes confirmed the drop`);
    else this.print('no active key; nothing to do');
    return EXIT.OK;
  }
}
