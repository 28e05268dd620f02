/** `kes-cold period`: the current KES period of a network (docs/kes-construction.md §7). */
import { Command, Option } from 'clipanion';
import { KesError } from '../../errors';
import { type ChainTiming, kesTimeAt } from '../../time';
import { resolveTiming } from '../common/timing';
import { EXIT } from '../exit-codes';
import { KesCommand } from '../common/base-command';
import { isoTime } from '../common/json-output';
import { formatDuration } from '../common/format';

export class PeriodCommand extends KesCommand {
  static override paths = [['period']];
  static override usage = Command.Usage({
    description: 'Show the current KES period',
    details: `
      Computes the current KES period from the wall clock: the slot (through the network's era
      history; mainnet and preprod began with Byron slots) divided by slotsPerKESPeriod.
      Use it as --kes-period when issuing an operational certificate.

      The network is mainnet (the default), preprod or preview (--network). --genesis reads a
      Shelley genesis file instead, for private testnets and preview; it is refused for the mainnet and
      preprod genesis files, which cannot describe their Byron era. With --json the output is
      \`{"kesPeriod": n, "slot": s, "periodStart": iso, "periodEnd": iso}\`, or
      \`{"started": false, "startsAt": iso}\` (exit 9) before the chain starts.
    `,
    examples: [
      ['Current mainnet KES period', '$0 period'],
      ['Current preview KES period as JSON', '$0 period --network preview --json'],
      ['KES period of a private testnet', '$0 period --genesis shelley-genesis.json'],
    ],
  });

  network = Option.String('--network', { description: 'mainnet, preprod or preview (default mainnet)' });
  genesis = Option.String('--genesis', { description: 'Shelley genesis file (private testnets, preview)' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  private timing(): ChainTiming {
    return resolveTiming(this.network, this.genesis);
  }

  async execute(): Promise<number> {
    const timing = this.timing();
    const t = kesTimeAt(timing, this.context.now());
    if (!t.started) {
      if (this.json) this.printJson({ started: false, startsAt: isoTime(t.startsAtMs) });
      return this.fail(
        new KesError(
          'CHAIN_NOT_STARTED',
          `${timing.name}: the chain starts at ${isoTime(t.startsAtMs)} (in ${formatDuration(t.msUntilStart)}); there is no KES period yet`,
        ),
      );
    }
    if (this.json) {
      this.printJson({ kesPeriod: t.kesPeriod, slot: t.slot, periodStart: isoTime(t.periodStartMs), periodEnd: isoTime(t.periodEndMs) });
      return EXIT.OK;
    }
    const lastPeriod = t.kesPeriod + timing.maxKESEvolutions - 1;
    this.print(
      [
        `network:        ${timing.name}`,
        `KES period:     ${t.kesPeriod}`,
        `slot:           ${t.slot}`,
        `period started: ${isoTime(t.periodStartMs)}`,
        `next period:    ${isoTime(t.periodEndMs)} (in ${formatDuration(t.msToNextPeriod)})`,
        `An opcert issued now with --kes-period ${t.kesPeriod} is valid through KES period ${lastPeriod} (${timing.maxKESEvolutions} periods).`,
      ].join('\n'),
    );
    return EXIT.OK;
  }
}
