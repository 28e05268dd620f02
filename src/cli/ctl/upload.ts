/** `kes-ctl upload`: staged key + opcert become the active key, pushed to every node. */
import { Command, Option } from 'clipanion';
import { integerIn } from '../common/integer-option';
import { toHex } from '../../crypto/bytes';
import { MAX_CONFIRM_TIMEOUT_MS } from '../../protocol';
import { DEFAULT_CONFIRM_TIMEOUT_MS } from '../../server/limits';
import { EXIT } from '../exit-codes';
import { CtlCommand } from './base';

export const confirmTimeoutOption = (): number =>
  Option.String('--timeout', String(DEFAULT_CONFIRM_TIMEOUT_MS), {
    description: `How long to wait for nodes to confirm, in ms (default ${DEFAULT_CONFIRM_TIMEOUT_MS}, at most ${MAX_CONFIRM_TIMEOUT_MS})`,
    validator: integerIn('--timeout', 0, MAX_CONFIRM_TIMEOUT_MS),
  });

export class UploadCommand extends CtlCommand {
  static override paths = [['upload']];
  static override usage = Command.Usage({
    description: 'Make the staged key and its opcert the active key and push it to every node',
    details: `
      The agent re-checks the opcert (expiry, counter), wipes the previous active key, evolves
      the new key to the current KES period, and pushes it to every connected node. It reports
      how many nodes confirmed within --timeout. Nodes that connect later get the key when they
      connect.

      When the active key can sign now and the staged opcert starts at a later KES period, the
      agent refuses (exit 6, OPCERT_NOT_YET_VALID, naming both periods) and nothing changes:
      nodes could not forge with the new key until its period. Upload then, or pass --force.
    `,
    examples: [
      ['Activate the staged key', '$0 upload'],
      ['Wait up to 15 s for nodes', '$0 upload --timeout 15000 --json'],
      ['Replace a working key with one valid from a later period', '$0 upload --force'],
    ],
  });

  timeout = confirmTimeoutOption();
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });
  force = Option.Boolean('--force', false, {
    description: 'Replace an active key that can sign now even with one whose opcert starts at a later KES period (nodes cannot forge until then)',
  });

  async execute(): Promise<number> {
    const r = await this.withAgent((ctl) => ctl.upload({ confirmTimeoutMs: this.timeout, force: this.force }));
    if (this.json) {
      this.printJson({
        kesVkey: toHex(r.kesVk), counter: r.counter, startKesPeriod: r.startKesPeriod, evolution: r.evolution,
        replacedActive: r.replacedActive, nodesConnected: r.nodesConnected, nodesConfirmed: r.nodesConfirmed,
      });
      return EXIT.OK;
    }
    this.print(`active KES key ${toHex(r.kesVk)}: counter ${r.counter}, start period ${r.startKesPeriod}, evolution ${r.evolution}${r.replacedActive ? ' (previous active key wiped)' : ''}`);
    this.print(`nodes: ${r.nodesConfirmed} of ${r.nodesConnected} confirmed`);
    if (r.nodesConnected === 0) this.print('note: no node is connected; nodes receive the key when they connect');
    return EXIT.OK;
  }
}
