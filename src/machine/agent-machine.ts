/**
 * The key-state machine: the single writer of the staging and active slots. Socket handlers
 * never touch a slot; they call the Agent facade, which sends events here, and xstate's mailbox
 * runs them one at a time to completion.
 *
 *   running ─┬─ noActiveKey ──UPLOAD──▶ activeKey ◀─┐ after(next KES boundary) → SYNC: evolve,
 *            │        ▲                     │       │ or expire → noActiveKey
 *            │        └─DROP_ACTIVE/expiry──┘───────┘
 *            └─STOP──▶ stopped (final; every key wiped)
 *
 * The staging slot is context, not a state: it is orthogonal to the active slot, and commands
 * (handled on `running`) read both.
 *
 * Rules that differ from the Haskell agent on purpose (docs/migrating-from-haskell.md §2.4):
 *  - every check runs in a guard BEFORE any slot changes, so a refused command leaves both
 *    slots exactly as they were (Haskell empties the staging slot on every install attempt and
 *    leaks the key on a bad opcert);
 *  - upload evolves the key to the current period inside the same transition that installs it,
 *    and listeners hear of it only after the event is processed: nobody can read the
 *    not-yet-evolved key (Haskell broadcasts before it evolves);
 *  - the validity window is the ledger's, with the genesis maxKESEvolutions, and
 *    expiry is announced (Haskell tells nobody).
 *
 * No I/O here: the clock and key generation come in through `deps`; every command event
 * carries the instant it is judged at.
 *
 * This file is the statechart; the guards and actions it names live in modules named for their
 * job: guards.ts (command checks), actions.ts (slot effects, bookkeeping), outcomes.ts (command
 * answers), install.ts (UPLOAD / INSTALL), evolution.ts (the timer and SYNC), receive.ts
 * (bootstrap peers), announcements.ts (what listeners hear), refusal-detail.ts (the facts behind
 * a refusal).
 */
import { assign, setup } from 'xstate';
import { slotActions } from './actions';
import { announcements } from './announcements';
import { evolutionActions, evolutionDelays, evolutionGuards, SYNC_TRANSITIONS } from './evolution';
import { commandGuards } from './guards';
import { importOpcertChecks, INSTALL_TRANSITIONS, installActions, UPLOAD_TRANSITIONS } from './install';
import { commandOutcomes, refuseIf } from './outcomes';
import { RECEIVE_BUNDLE_TRANSITIONS, RECEIVE_DROP_TRANSITIONS, receiveActions, receiveGuards } from './receive';
import type { MachineEnv } from './setup';
import type { AgentContext, AgentEmitted, AgentEvent, MachineDeps } from './types';

export { MAX_PEER_CLOCK_AHEAD_MS } from './rules';
export { isNewer, heldBundle, localTimestampUs } from './bundle-age';

export const INITIAL_CONTEXT: AgentContext = Object.freeze({
  staged: null,
  active: null,
  expired: null,
  counterFloor: null,
  changeSeq: 0,
  tombstone: null,
  lastTimestampUs: 0n,
});

export function createAgentMachine(deps: MachineDeps) {
  const env: MachineEnv = { timing: deps.timing, coldVk: deps.coldVk.slice(), now: () => deps.now() };

  return setup({
    types: {
      context: {} as AgentContext,
      events: {} as AgentEvent,
      emitted: {} as AgentEmitted,
    },
    delays: evolutionDelays(env),
    guards: { ...commandGuards(env), ...evolutionGuards(env), ...receiveGuards(env) },
    actions: {
      ...slotActions,
      ...installActions(env),
      ...evolutionActions(env),
      ...receiveActions(env),
      ...announcements,
      ...commandOutcomes(env),
    },
  }).createMachine({
    id: 'kesAgent',
    context: INITIAL_CONTEXT,
    initial: 'running',
    states: {
      running: {
        initial: 'noActiveKey',
        on: {
          KEYGEN: [
            {
              guard: 'stagedKeyBlocksKeygen',
              actions: ['destroyEventKey', { type: 'reject', params: { command: 'keygen', code: 'STAGED_KEY_EXISTS' } }],
            },
            {
              guard: 'hasStagedKey',
              actions: ['destroyStagedKey', 'stageNewKey', { type: 'reportKeygen', params: { replacedStaged: true } }],
            },
            { actions: ['stageNewKey', { type: 'reportKeygen', params: { replacedStaged: false } }] },
          ],
          EXPORT_VERKEY: [refuseIf('noStagedKey', 'exportVerkey', 'NO_STAGED_KEY'), { actions: 'reportVerkey' }],
          // Nothing changes on a refusal. A second import replaces the staged opcert after the same checks.
          IMPORT_OPCERT: [...importOpcertChecks('importOpcert'), { actions: ['attachOpcert', 'recordOpcert', 'reportImport'] }],
          // IMPORT_OPCERT and UPLOAD as one event; UPLOAD of the staged key (install.ts).
          INSTALL: [...INSTALL_TRANSITIONS],
          UPLOAD: [...UPLOAD_TRANSITIONS],
          // A bundle or a tombstone from a bootstrap peer (receive.ts).
          RECEIVE_BUNDLE: [...RECEIVE_BUNDLE_TRANSITIONS],
          RECEIVE_DROP: [...RECEIVE_DROP_TRANSITIONS],
          DROP_STAGED: [
            {
              guard: 'hasStagedKey',
              actions: ['destroyStagedKey', 'clearStaged', { type: 'reportDropStaged', params: { hadKey: true } }],
            },
            { actions: { type: 'reportDropStaged', params: { hadKey: false } } },
          ],
          // With a key, activeKey handles DROP_ACTIVE; this is the no-key case.
          DROP_ACTIVE: { actions: ['clearExpired', { type: 'reportDropActive', params: { hadKey: false } }] },
          STOP: {
            target: 'stopped',
            actions: ['destroyStagedKey', 'destroyActiveKey', assign({ staged: null, active: null })],
          },
        },
        states: {
          noActiveKey: {},
          activeKey: {
            // One timer to the exact next boundary, re-armed (delay recomputed from the clock)
            // every time this state is entered; SYNC does the work, so a late timer or a clock
            // jump over several periods is caught up in one step.
            after: { untilNextCheck: { actions: 'raiseSync' } },
            on: {
              SYNC: [...SYNC_TRANSITIONS],
              DROP_ACTIVE: {
                target: 'noActiveKey',
                actions: [
                  'destroyActiveKey',
                  'clearActive',
                  'clearExpired',
                  'recordLocalTombstone',
                  'nextChangeSeq',
                  { type: 'announceDropped', params: { reason: 'drop-active' } },
                  { type: 'reportDropActive', params: { hadKey: true } },
                ],
              },
            },
          },
        },
      },
      stopped: { type: 'final' },
    },
  });
}

export type AgentMachine = ReturnType<typeof createAgentMachine>;
