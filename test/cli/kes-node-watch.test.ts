/**
 * kes-node watch: how a run of identical failures is condensed (dingo's agent client logged 5,000 lines in
 * two seconds from one stuck push).
 */
import { RepeatFilter } from '../../src/cli/node/watch';

describe('RepeatFilter', () => {
  it('shows the first of a run, then every Nth with the count it hid', () => {
    const f = new RepeatFilter(4);
    const shown = Array.from({ length: 10 }, () => f.check('socket missing'));
    expect(shown).toEqual([0, undefined, undefined, undefined, 3, undefined, undefined, undefined, 3, undefined]);
  });

  it('a different message is shown at once and starts a new run', () => {
    const f = new RepeatFilter(4);
    expect([f.check('a'), f.check('a'), f.check('b'), f.check('b'), f.check('a')]).toEqual([0, undefined, 0, undefined, 0]);
  });

  it('reset() (a successful connection) makes the next failure visible', () => {
    const f = new RepeatFilter(4);
    f.check('a');
    expect(f.check('a')).toBeUndefined();
    f.reset();
    expect(f.check('a')).toBe(0);
  });
});
