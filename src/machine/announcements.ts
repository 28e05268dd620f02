/**
 * What ActiveChange listeners hear (the service side pushes it to nodes), emitted inside the
 * transition and delivered by the Agent once the event has been processed.
 */
import { change, emitWith } from './setup';

export const announcements = {
  announceInstalled: emitWith(({ context }) => {
    const a = context.active;
    if (a === null) throw new Error('bug: announceInstalled without an active key');
    return change({
      type: 'installed',
      seq: context.changeSeq,
      kesVk: a.slot.kesVk,
      counter: a.counter,
      startKesPeriod: a.startKesPeriod,
      evolution: a.evolution,
      timestampUs: a.timestampUs,
      source: a.source,
    });
  }),
  announceEvolved: emitWith(({ context }) =>
    change({ type: 'evolved', seq: context.changeSeq, evolution: context.active?.evolution ?? 0 }),
  ),
  announceDropped: emitWith(({ context }, params: { reason: 'drop-active' | 'expired' | 'peer-drop' }) => {
    const t = context.tombstone;
    if (t === null) throw new Error('bug: announceDropped without a tombstone');
    return change({ type: 'dropped', seq: context.changeSeq, reason: params.reason, timestampUs: t.timestampUs, source: t.source });
  }),
};
