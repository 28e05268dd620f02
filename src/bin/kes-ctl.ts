#!/usr/bin/env node
import { launch } from '../cli/launch';
import type { PlainStatusEntry } from '../cli/ctl/plain-main';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fullCli = (): unknown => launch('kes-ctl', require, () => require('../cli/ctl/main'));

// `kes-ctl status`, which monitoring runs over and over, first goes to a bundle of its own
// without clipanion (src/cli/ctl/plain-main.ts); every other line goes straight to the full CLI.
// The word is plain-status.ts's STATUS_WORD, written out so that the bin loads nothing else.
if (process.argv[2] === 'status') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { plainStatusEntry } = launch('kes-ctl-status', require, () => require('../cli/ctl/plain-main')) as { plainStatusEntry: PlainStatusEntry };
  let answered: boolean;
  try {
    answered = plainStatusEntry.answer(process.argv.slice(2));
  } catch {
    // A failure it did not foresee is still only a status not answered: the full CLI asks again
    // and says what is wrong.
    answered = false;
  }
  if (!answered) fullCli();
} else {
  fullCli();
}
