/**
 * The key-state machine: the single writer of the staging and active slots (style-anchors.md
 * habit 13). Socket handlers never touch a slot; they call the Agent facade, which sends events
 * here, and xstate's mailbox runs them one at a time to completion.
 *
 *   running ─┬─ noActiveKey ──UPLOAD──▶ activeKey ◀─┐ after(next KES boundary) → SYNC: evolve,
 *            │        ▲                     │       │ or expire → noActiveKey
 *            │        └─DROP_ACTIVE/expiry──┘───────┘
 *            └─STOP──▶ stopped (final; every key wiped)
 *
 * The staging slot is context, not a state: it is orthogonal to the active slot, and commands
 * (handled on `running`) read both.
 *
 * Rules that differ from the Haskell agent on purpose (haskell-kes-agent.md §2.16):
 *  - every check runs in a guard BEFORE any slot changes, so a refused command leaves both
 *    slots exactly as they were (Haskell empties the staging slot on every install attempt and
 *    leaks the key on a bad opcert, §2.5);
 *  - upload evolves the key to the current period inside the same transition that installs it,
 *    and listeners hear of it only after the event is processed: nobody can read the
 *    not-yet-evolved key (§2.5 broadcast-before-evolve race);
 *  - the validity window is the ledger's, with the genesis maxKESEvolutions (§2.16 item 3), and
 *    expiry is announced (§2.10: Haskell tells nobody).
 *
 * No I/O here: the clock and key generation come in through `deps`; every command event
 * carries the instant it is judged at.
 */
import { assertEvent, assign, emit, raise, setup } from 'xstate';
import { verifyOpcert } from '../cardano/opcert';
import { bytesEqual, toHex } from '../crypto/bytes';
import { ActiveSlot, StagedSlot } from '../slots';
import { keyTargetAt, kesPeriodAt, msUntilNextCheck, opcertExpiredAt, opcertExpiresAtMs } from './rules';
import type {
  ActiveChange,
  ActiveEntry,
  AgentContext,
  AgentEmitted,
  AgentErrorCode,
  AgentEvent,
  CommandName,
  CommandOutcome,
  MachineDeps,
} from './types';

export const INITIAL_CONTEXT: AgentContext = Object.freeze({
  staged: null,
  active: null,
  expired: null,
  counterFloor: null,
  changeSeq: 0,
});

export function createAgentMachine(deps: MachineDeps) {
  const { timing } = deps;
  const coldVk = deps.coldVk.slice();

  /** Fixed templates with public numbers only (they go on the wire and into logs). */
  function rejectionMessage(code: AgentErrorCode, context: AgentContext, event: AgentEvent): string {
    switch (code) {
      case 'NO_STAGED_KEY':
        return 'no KES key is staged: run keygen first';
      case 'STAGED_KEY_EXISTS':
        return 'a KES key is already staged: drop it first (drop-staged), or replace it (keygen --force)';
      case 'NO_OPCERT':
        return 'the staged KES key has no opcert yet: import one issued for its verification key';
      case 'OPCERT_WRONG_COLD_KEY':
        return "the opcert was issued by another cold key than this agent's";
      case 'OPCERT_BAD_SIGNATURE':
        return "the opcert's cold key signature does not verify";
      case 'OPCERT_WRONG_KES_KEY':
        return 'the opcert certifies another KES key than the staged one: export the staged verification key and issue the opcert for it';
      case 'OPCERT_EXPIRED': {
        const c0 = candidateOpcert(context, event).kesPeriod;
        const kp = kesPeriodAt(timing, nowOf(event)) ?? 0;
        return `the opcert starts at KES period ${c0} and expired at period ${c0 + timing.maxKESEvolutions}; the current period is ${kp}`;
      }
      case 'OPCERT_COUNTER_TOO_LOW': {
        const floor = context.counterFloor ?? 0;
        const whose = context.active?.counter === floor ? 'the active key' : 'a key this agent had active earlier (since it started)';
        return `opcert counter ${candidateOpcert(context, event).counter} is lower than ${floor}, the counter of ${whose}: the chain refuses a counter below one it has seen; issue the opcert from the cold host's current counter file`;
      }
      default:
        return code;
    }
  }

  /** The opcert a command is about: the one being imported, or the staged one being uploaded. */
  function candidateOpcert(context: AgentContext, event: AgentEvent): { counter: number; kesPeriod: number } {
    if (event.type === 'IMPORT_OPCERT' || event.type === 'INSTALL') return event.opcert;
    const o = context.staged?.opcert;
    if (!o) throw new Error(`bug: ${event.type} has no opcert to judge`);
    return o;
  }

  function nowOf(event: AgentEvent): number {
    if (event.type === 'STOP') throw new Error('bug: STOP carries no time');
    return event.nowMs;
  }

  function activeEntry(slot: ActiveSlot): ActiveEntry {
    return {
      slot,
      kesVkHex: toHex(slot.kesVk),
      counter: slot.counter,
      startKesPeriod: slot.startKesPeriod,
      evolution: slot.evolution,
      installedAtMs: slot.installedAtMs,
      expiresAtMs: opcertExpiresAtMs(timing, slot.startKesPeriod),
    };
  }

  const outcome = (o: CommandOutcome): AgentEmitted => ({ type: 'outcome', outcome: o });
  const change = (c: ActiveChange): AgentEmitted => ({ type: 'activeChange', change: c });

  return setup({
    types: {
      context: {} as AgentContext,
      events: {} as AgentEvent,
      emitted: {} as AgentEmitted,
    },
    delays: {
      untilNextCheck: () => msUntilNextCheck(timing, deps.now()),
    },
    guards: {
      hasStagedKey: ({ context }) => context.staged !== null,
      noStagedKey: ({ context }) => context.staged === null,
      hasActiveKey: ({ context }) => context.active !== null,
      stagedKeyBlocksKeygen: ({ context, event }) => {
        assertEvent(event, 'KEYGEN');
        return context.staged !== null && !event.force;
      },
      stagedHasNoOpcert: ({ context }) => context.staged?.opcert === null,
      opcertWrongColdKey: ({ event }) => {
        assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
        return !bytesEqual(event.opcert.coldVk, coldVk);
      },
      opcertBadSignature: ({ event }) => {
        assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
        return !verifyOpcert(event.opcert, coldVk);
      },
      opcertWrongKesKey: ({ context, event }) => {
        assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
        return context.staged === null || !bytesEqual(event.opcert.hotVk, context.staged.slot.kesVk);
      },
      // Ledger rule (kes-spec.md §7): kp ≥ c0 + maxKESEvolutions can never sign a valid header.
      // A start in the future (kp < c0) is fine: the key waits at evolution 0.
      candidateOpcertExpired: ({ context, event }) =>
        opcertExpiredAt(timing, candidateOpcert(context, event).kesPeriod, nowOf(event)),
      // The chain accepts counter n only if m ≤ n ≤ m + 1, m = the highest counter it has seen for
      // the pool (kes-spec.md §5.4). The counter of any key this process has served (the floor,
      // AgentContext.counterFloor: the active key's, or one dropped or expired since) is a lower
      // bound for m once that key has forged, so anything lower is dead on arrival. EQUAL is
      // allowed on purpose: a new KES key under the same counter is valid as long as the chain has
      // not seen a higher one (e.g. replacing a KES key that never forged, or re-keying without
      // touching the counter file).
      candidateCounterTooLow: ({ context, event }) =>
        context.counterFloor !== null && candidateOpcert(context, event).counter < context.counterFloor,
      activeKeyExpired: ({ context, event }) =>
        context.active !== null && keyTargetAt(timing, context.active.startKesPeriod, nowOf(event)).kind === 'expired',
      activeKeyBehind: ({ context, event }) => {
        if (context.active === null) return false;
        const target = keyTargetAt(timing, context.active.startKesPeriod, nowOf(event));
        return target.kind === 'evolution' && target.evolution > context.active.evolution;
      },
    },
    actions: {
      // --- slot effects (the only code that destroys, moves or evolves keys)
      destroyStagedKey: ({ context }) => context.staged?.slot.destroy(),
      destroyActiveKey: ({ context }) => context.active?.slot.destroy(),
      attachOpcert: ({ context, event }) => {
        assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
        if (context.staged === null) throw new Error('bug: attachOpcert without a staged key');
        context.staged.slot.attachOpcert(event.opcert);
      },
      evolveActiveKey: ({ context, event }) => {
        if (context.active === null) throw new Error('bug: evolveActiveKey without an active key');
        const target = keyTargetAt(timing, context.active.startKesPeriod, nowOf(event));
        // Guards ruled out 'expired' for this instant; evolution ≤ maxKESEvolutions − 1 ≤ 63.
        if (target.kind === 'evolution') context.active.slot.evolveTo(target.evolution);
      },

      // --- context bookkeeping
      // The key comes in the KEYGEN event (generated by the Agent); it is owned by its slot from
      // here, and wiped if the slot refuses it.
      stageNewKey: assign({
        staged: ({ event }) => {
          assertEvent(event, 'KEYGEN');
          const key = event.key;
          let slot: StagedSlot;
          try {
            slot = new StagedSlot(key);
          } catch (e) {
            key.destroy();
            throw e;
          }
          return { slot, kesVkHex: toHex(slot.kesVk), opcert: null };
        },
      }),
      recordOpcert: assign({
        staged: ({ context, event }) => {
          assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
          if (context.staged === null) throw new Error('bug: recordOpcert without a staged key');
          return { ...context.staged, opcert: { counter: event.opcert.counter, kesPeriod: event.opcert.kesPeriod } };
        },
      }),
      clearStaged: assign({ staged: null }),
      destroyEventKey: ({ event }) => {
        assertEvent(event, 'KEYGEN');
        event.key.destroy();
      },
      // Moves the staged key into a new active slot; the staging slot is left empty.
      installStaged: assign(({ context, event }) => {
        if (context.staged === null) throw new Error('bug: installStaged without a staged key');
        const { key, opcert } = context.staged.slot.takeBundle();
        let slot: ActiveSlot;
        try {
          slot = new ActiveSlot(key, opcert, nowOf(event));
        } catch (e) {
          key.destroy();
          throw e;
        }
        // Guards refused a counter below the floor, so this is the new highest (or equal).
        const counterFloor = Math.max(context.counterFloor ?? 0, slot.counter);
        return { staged: null, active: activeEntry(slot), expired: null, counterFloor };
      }),
      recordEvolution: assign({
        active: ({ context }) => (context.active === null ? null : { ...context.active, evolution: context.active.slot.evolution }),
      }),
      recordExpiry: assign(({ context }) => {
        if (context.active === null) throw new Error('bug: recordExpiry without an active key');
        const a = context.active;
        return {
          active: null,
          expired: { kesVkHex: a.kesVkHex, counter: a.counter, startKesPeriod: a.startKesPeriod, expiredAtMs: a.expiresAtMs },
        };
      }),
      clearActive: assign({ active: null }),
      clearExpired: assign({ expired: null }),
      nextChangeSeq: assign({ changeSeq: ({ context }) => context.changeSeq + 1 }),
      raiseSync: raise(() => ({ type: 'SYNC' as const, nowMs: deps.now() })),

      // --- what listeners hear (after the event has been processed, see Agent)
      announceInstalled: emit(({ context }) => {
        const a = context.active;
        if (a === null) throw new Error('bug: announceInstalled without an active key');
        return change({
          type: 'installed',
          seq: context.changeSeq,
          kesVk: a.slot.kesVk,
          counter: a.counter,
          startKesPeriod: a.startKesPeriod,
          evolution: a.evolution,
        });
      }),
      announceEvolved: emit(({ context }) =>
        change({ type: 'evolved', seq: context.changeSeq, evolution: context.active?.evolution ?? 0 }),
      ),
      announceDropped: emit(({ context }, params: { reason: 'drop-active' | 'expired' }) =>
        change({ type: 'dropped', seq: context.changeSeq, reason: params.reason }),
      ),

      // --- command outcomes (exactly one per command event)
      reject: emit(({ context, event }, params: { command: CommandName; code: AgentErrorCode }) =>
        outcome({
          command: params.command,
          result: { ok: false, code: params.code, message: rejectionMessage(params.code, context, event) },
        } as CommandOutcome),
      ),
      reportKeygen: emit(({ context }, params: { replacedStaged: boolean }) => {
        if (context.staged === null) throw new Error('bug: reportKeygen without a staged key');
        return outcome({
          command: 'keygen',
          result: { ok: true, value: { kesVk: context.staged.slot.kesVk, replacedStaged: params.replacedStaged } },
        });
      }),
      reportVerkey: emit(({ context }) => {
        if (context.staged === null) throw new Error('bug: reportVerkey without a staged key');
        return outcome({
          command: 'exportVerkey',
          result: { ok: true, value: { kesVk: context.staged.slot.kesVk, hasOpcert: context.staged.opcert !== null } },
        });
      }),
      reportImport: emit(({ context, event }) => {
        assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
        if (context.staged === null) throw new Error('bug: reportImport without a staged key');
        const kp = kesPeriodAt(timing, event.nowMs);
        return outcome({
          command: 'importOpcert',
          result: {
            ok: true,
            value: {
              kesVk: context.staged.slot.kesVk,
              counter: event.opcert.counter,
              startKesPeriod: event.opcert.kesPeriod,
              currentKesPeriod: kp ?? 0,
              startsInFuture: kp === undefined || kp < event.opcert.kesPeriod,
              counterFloor: context.counterFloor,
            },
          },
        });
      }),
      reportUpload: emit(({ context }, params: { replacedActive: boolean; command?: 'upload' | 'install' }) => {
        const a = context.active;
        if (a === null) throw new Error('bug: reportUpload without an active key');
        return outcome({
          command: params.command ?? 'upload',
          result: {
            ok: true,
            value: {
              kesVk: a.slot.kesVk,
              counter: a.counter,
              startKesPeriod: a.startKesPeriod,
              evolution: a.evolution,
              replacedActive: params.replacedActive,
            },
          },
        });
      }),
      reportDropStaged: emit((_, params: { hadKey: boolean }) =>
        outcome({ command: 'dropStaged', result: { ok: true, value: { hadKey: params.hadKey } } }),
      ),
      reportDropActive: emit((_, params: { hadKey: boolean }) =>
        outcome({ command: 'dropActive', result: { ok: true, value: { hadKey: params.hadKey } } }),
      ),
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
          EXPORT_VERKEY: [
            {
              guard: 'noStagedKey',
              actions: { type: 'reject', params: { command: 'exportVerkey', code: 'NO_STAGED_KEY' } },
            },
            { actions: 'reportVerkey' },
          ],
          // Checks in the order spec/protocol.md §5 lists the codes; the first failure wins and
          // nothing changes. A second import replaces the staged opcert after the same checks.
          IMPORT_OPCERT: [
            {
              guard: 'noStagedKey',
              actions: { type: 'reject', params: { command: 'importOpcert', code: 'NO_STAGED_KEY' } },
            },
            {
              guard: 'opcertWrongColdKey',
              actions: { type: 'reject', params: { command: 'importOpcert', code: 'OPCERT_WRONG_COLD_KEY' } },
            },
            {
              guard: 'opcertBadSignature',
              actions: { type: 'reject', params: { command: 'importOpcert', code: 'OPCERT_BAD_SIGNATURE' } },
            },
            {
              guard: 'opcertWrongKesKey',
              actions: { type: 'reject', params: { command: 'importOpcert', code: 'OPCERT_WRONG_KES_KEY' } },
            },
            {
              guard: 'candidateOpcertExpired',
              actions: { type: 'reject', params: { command: 'importOpcert', code: 'OPCERT_EXPIRED' } },
            },
            {
              guard: 'candidateCounterTooLow',
              actions: { type: 'reject', params: { command: 'importOpcert', code: 'OPCERT_COUNTER_TOO_LOW' } },
            },
            { actions: ['attachOpcert', 'recordOpcert', 'reportImport'] },
          ],
          // IMPORT_OPCERT and UPLOAD as one event (the Haskell control protocol's InstallKey), so
          // no other client can act between them. The import's checks, in its order; a refusal
          // changes nothing (the staged key stays, with any opcert it had).
          INSTALL: [
            { guard: 'noStagedKey', actions: { type: 'reject', params: { command: 'install', code: 'NO_STAGED_KEY' } } },
            { guard: 'opcertWrongColdKey', actions: { type: 'reject', params: { command: 'install', code: 'OPCERT_WRONG_COLD_KEY' } } },
            { guard: 'opcertBadSignature', actions: { type: 'reject', params: { command: 'install', code: 'OPCERT_BAD_SIGNATURE' } } },
            { guard: 'opcertWrongKesKey', actions: { type: 'reject', params: { command: 'install', code: 'OPCERT_WRONG_KES_KEY' } } },
            { guard: 'candidateOpcertExpired', actions: { type: 'reject', params: { command: 'install', code: 'OPCERT_EXPIRED' } } },
            { guard: 'candidateCounterTooLow', actions: { type: 'reject', params: { command: 'install', code: 'OPCERT_COUNTER_TOO_LOW' } } },
            {
              guard: 'hasActiveKey',
              target: '.activeKey',
              actions: [
                'attachOpcert',
                'recordOpcert',
                'destroyActiveKey',
                'installStaged',
                'evolveActiveKey',
                'recordEvolution',
                'nextChangeSeq',
                'announceInstalled',
                { type: 'reportUpload', params: { replacedActive: true, command: 'install' } },
              ],
            },
            {
              target: '.activeKey',
              actions: [
                'attachOpcert',
                'recordOpcert',
                'installStaged',
                'evolveActiveKey',
                'recordEvolution',
                'nextChangeSeq',
                'announceInstalled',
                { type: 'reportUpload', params: { replacedActive: false, command: 'install' } },
              ],
            },
          ],
          // Expiry and counter are checked again: time has passed since the import.
          UPLOAD: [
            {
              guard: 'noStagedKey',
              actions: { type: 'reject', params: { command: 'upload', code: 'NO_STAGED_KEY' } },
            },
            {
              guard: 'stagedHasNoOpcert',
              actions: { type: 'reject', params: { command: 'upload', code: 'NO_OPCERT' } },
            },
            {
              guard: 'candidateOpcertExpired',
              actions: { type: 'reject', params: { command: 'upload', code: 'OPCERT_EXPIRED' } },
            },
            {
              guard: 'candidateCounterTooLow',
              actions: { type: 'reject', params: { command: 'upload', code: 'OPCERT_COUNTER_TOO_LOW' } },
            },
            {
              guard: 'hasActiveKey',
              target: '.activeKey',
              actions: [
                'destroyActiveKey',
                'installStaged',
                'evolveActiveKey',
                'recordEvolution',
                'nextChangeSeq',
                'announceInstalled',
                { type: 'reportUpload', params: { replacedActive: true } },
              ],
            },
            {
              target: '.activeKey',
              actions: [
                'installStaged',
                'evolveActiveKey',
                'recordEvolution',
                'nextChangeSeq',
                'announceInstalled',
                { type: 'reportUpload', params: { replacedActive: false } },
              ],
            },
          ],
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
              SYNC: [
                {
                  guard: 'activeKeyExpired',
                  target: 'noActiveKey',
                  actions: [
                    'destroyActiveKey',
                    'recordExpiry',
                    'nextChangeSeq',
                    { type: 'announceDropped', params: { reason: 'expired' } },
                  ],
                },
                {
                  guard: 'activeKeyBehind',
                  target: 'activeKey',
                  reenter: true,
                  actions: ['evolveActiveKey', 'recordEvolution', 'nextChangeSeq', 'announceEvolved'],
                },
                // Nothing to do (e.g. the timer fired a hair early): re-arm for the real boundary.
                { target: 'activeKey', reenter: true },
              ],
              DROP_ACTIVE: {
                target: 'noActiveKey',
                actions: [
                  'destroyActiveKey',
                  'clearActive',
                  'clearExpired',
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
