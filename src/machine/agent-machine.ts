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
import { keyTargetAt, kesPeriodAt, msUntilNextCheck, opcertExpiredAt, opcertExpiresAtMs, opcertUsableAt } from './rules';
import { verifyKes } from '../crypto/kes';
import type {
  ActiveChange,
  ActiveEntry,
  BundleSource,
  PeerCommandName,
  PeerOutcome,
  PeerRefusalCode,
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
  tombstone: null,
  lastTimestampUs: 0n,
});

/**
 * How far ahead of our clock a peer's bundle or drop timestamp may be. A timestamp decides
 * every later conflict (Haskell rule, `isTaggedBundleAgeValid`: only a strictly newer bundle
 * replaces the current one), so one accepted from a peer whose clock is a year fast would make
 * us refuse every honest rotation or drop from other peers for a year. Refusing it bounds that
 * to this much. Hosts running agents are expected to run NTP (sub-second); a minute leaves room
 * for a badly synchronised one without letting it pin anything for long. @default 60000
 */
export const MAX_PEER_CLOCK_AHEAD_MS = 60_000;

/** Signed by a received key and verified under the opcert's hot vk: proves the key is the one certified. */
const PEER_PROBE_MESSAGE = new TextEncoder().encode('kes-agent: bootstrap bundle probe');

/** The Haskell kes-agent's `isTaggedBundleAgeValid` (github.com/input-output-hk/kes-agent, Processes/Agent.hs): a drop wins ties against a key, everything else must be strictly newer. */
export function isNewer(current: { kind: 'key' | 'drop' | 'none'; timestampUs: bigint }, incoming: { kind: 'key' | 'drop'; timestampUs: bigint }): boolean {
  if (current.kind === 'none') return true;
  if (incoming.kind === 'drop' && current.kind === 'key') return current.timestampUs <= incoming.timestampUs;
  return current.timestampUs < incoming.timestampUs;
}

/** What the agent holds now, as the conflict rule sees it. */
export function heldBundle(context: AgentContext): { kind: 'key' | 'drop' | 'none'; timestampUs: bigint } {
  if (context.active !== null) return { kind: 'key', timestampUs: context.active.timestampUs };
  if (context.tombstone !== null) return { kind: 'drop', timestampUs: context.tombstone.timestampUs };
  return { kind: 'none', timestampUs: 0n };
}

/** The timestamp of a local install or drop at nowMs: max(now µs, last + 1). */
export function localTimestampUs(context: AgentContext, nowMs: number): bigint {
  const now = BigInt(nowMs) * 1000n;
  return now > context.lastTimestampUs ? now : context.lastTimestampUs + 1n;
}

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

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
      // Public keys in hex, as `kes-cold inspect` shows them, so the operator can tell which is which.
      case 'OPCERT_WRONG_COLD_KEY': {
        if (event.type !== 'IMPORT_OPCERT' && event.type !== 'INSTALL') return "the opcert was issued by another cold key than this agent's";
        return `the opcert was issued by cold vk ${toHex(event.opcert.coldVk)}, not by this agent's cold vk ${toHex(coldVk)}: another pool's opcert, or the agent's cold-vkey is another pool's`;
      }
      case 'OPCERT_BAD_SIGNATURE':
        return "the opcert's cold key signature does not verify";
      case 'OPCERT_WRONG_KES_KEY': {
        if ((event.type !== 'IMPORT_OPCERT' && event.type !== 'INSTALL') || context.staged === null) {
          return 'the opcert certifies another KES key than the staged one: export the staged verification key and issue the opcert for it';
        }
        return `the opcert certifies KES vk ${toHex(event.opcert.hotVk)}, not the staged key's ${context.staged.kesVkHex}: export the staged verification key and issue the opcert for it`;
      }
      case 'OPCERT_EXPIRED': {
        const c0 = candidateOpcert(context, event).kesPeriod;
        const kp = kesPeriodAt(timing, nowOf(event)) ?? 0;
        return `the opcert starts at KES period ${c0} and expired at period ${c0 + timing.maxKESEvolutions}; the current period is ${kp}`;
      }
      case 'OPCERT_NOT_YET_VALID': {
        const c0 = candidateOpcert(context, event).kesPeriod;
        const kp = kesPeriodAt(timing, nowOf(event)) ?? 0;
        const a = context.active;
        const range = a === null ? '' : ` (opcert counter ${a.counter}, KES periods ${a.startKesPeriod}..${a.startKesPeriod + timing.maxKESEvolutions - 1})`;
        const how = event.type === 'UPLOAD' ? `; upload at period ${c0}, or force the upload (kes-ctl upload --force)` : `; install it at period ${c0}`;
        return `the new opcert starts at KES period ${c0}, ${c0 - kp} period(s) after the current period ${kp}, while the active key${range} can sign now: replacing it would leave nodes unable to forge until period ${c0}${how}`;
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

  /** Fixed templates for a refused peer bundle or drop; public numbers only. */
  function peerRefusalMessage(code: PeerRefusalCode, context: AgentContext, event: AgentEvent): string {
    const ts = event.type === 'RECEIVE_BUNDLE' || event.type === 'RECEIVE_DROP' ? event.timestampUs : 0n;
    switch (code) {
      case 'OPCERT_WRONG_COLD_KEY':
      case 'OPCERT_BAD_SIGNATURE':
        return "the peer's opcert is not signed by this agent's cold key";
      case 'OPCERT_WRONG_KES_KEY':
        return "the peer's KES key is not the one its opcert certifies (probe signature)";
      case 'KEY_OVER_EVOLVED': {
        if (event.type !== 'RECEIVE_BUNDLE') return code;
        const target = keyTargetAt(timing, event.opcert.kesPeriod, nowOf(event));
        const want = target.kind === 'evolution' ? target.evolution : 0;
        return `the peer's key is at evolution ${event.key.evolution} but the current KES period needs evolution ${want}: a key cannot evolve back (a Haskell peer evolves by the wall clock, not the ledger's era history?)`;
      }
      case 'TIMESTAMP_IN_FUTURE':
        return `the peer's timestamp is ${(ts - BigInt(nowOf(event)) * 1000n) / 1000n} ms ahead of this host's clock (at most ${MAX_PEER_CLOCK_AHEAD_MS} ms accepted): check both clocks`;
      case 'BUNDLE_NOT_NEWER': {
        const held = heldBundle(context);
        return `not newer than what this agent holds (${held.kind} at ${held.timestampUs} µs; received ${ts} µs)`;
      }
      default:
        return rejectionMessage(code, context, event);
    }
  }

  /** The opcert a command is about: the one being imported, or the staged one being uploaded. */
  function candidateOpcert(context: AgentContext, event: AgentEvent): { counter: number; kesPeriod: number } {
    if (event.type === 'IMPORT_OPCERT' || event.type === 'INSTALL' || event.type === 'RECEIVE_BUNDLE') return event.opcert;
    const o = context.staged?.opcert;
    if (!o) throw new Error(`bug: ${event.type} has no opcert to judge`);
    return o;
  }

  function nowOf(event: AgentEvent): number {
    if (event.type === 'STOP') throw new Error('bug: STOP carries no time');
    return event.nowMs;
  }

  function activeEntry(slot: ActiveSlot, timestampUs: bigint, source: BundleSource | null): ActiveEntry {
    return {
      timestampUs,
      source,
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
  const peerOutcome = (o: PeerOutcome): AgentEmitted => ({ type: 'peerOutcome', outcome: o });
  const change = (c: ActiveChange): AgentEmitted => ({ type: 'activeChange', change: c });

  /**
   * The two ways a staged key becomes active (replacing an active key or not), after `first`:
   * UPLOAD and INSTALL differ only in attaching the opcert first.
   */
  const installTransitions = <const F extends readonly ('attachOpcert' | 'recordOpcert')[]>(command: 'upload' | 'install', first: F) => {
    const install = ['installStaged', 'evolveActiveKey', 'recordEvolution', 'nextChangeSeq', 'announceInstalled'] as const;
    return [
      {
        guard: 'hasActiveKey' as const,
        target: '.activeKey',
        actions: [...first, 'destroyActiveKey' as const, ...install, { type: 'reportUpload' as const, params: { replacedActive: true, command } }],
      },
      { target: '.activeKey', actions: [...first, ...install, { type: 'reportUpload' as const, params: { replacedActive: false, command } }] },
    ];
  };

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
      // Swapping a key nodes can forge with now for one they cannot forge with yet loses every
      // slot until the new opcert's start period. Refused unless the operator forces it (UPLOAD
      // only). Without an active key, or with one that cannot sign now either (expired, not yet
      // valid, chain not started), nothing usable is lost and the install goes ahead.
      replacesUsableWithNotYetValid: ({ context, event }) => {
        assertEvent(event, ['UPLOAD', 'INSTALL']);
        if (event.type === 'UPLOAD' && event.force) return false;
        const a = context.active;
        if (a === null || !opcertUsableAt(timing, a.startKesPeriod, event.nowMs)) return false;
        return !opcertUsableAt(timing, candidateOpcert(context, event).kesPeriod, event.nowMs);
      },
      // --- a bundle or drop from a bootstrap peer (checks in the order of PEER_REFUSAL_CODES)
      receivedWrongColdKey: ({ event }) => {
        assertEvent(event, 'RECEIVE_BUNDLE');
        return !bytesEqual(event.opcert.coldVk, coldVk);
      },
      receivedBadSignature: ({ event }) => {
        assertEvent(event, 'RECEIVE_BUNDLE');
        return !verifyOpcert(event.opcert, coldVk);
      },
      // The key's own vk must be the certified one, and it must actually sign under it at the
      // evolution it claims: fromBytes checked the structure and a probe under the key's own
      // vk; this ties the key to the opcert.
      receivedKeyMismatch: ({ event }) => {
        assertEvent(event, 'RECEIVE_BUNDLE');
        const key = event.key;
        if (key.destroyed || !bytesEqual(key.verificationKey(), event.opcert.hotVk)) return true;
        return !verifyKes(event.opcert.hotVk, key.evolution, PEER_PROBE_MESSAGE, key.sign(PEER_PROBE_MESSAGE));
      },
      // A key cannot evolve back: one past the period the ledger says it is now cannot sign now.
      receivedOverEvolved: ({ event }) => {
        assertEvent(event, 'RECEIVE_BUNDLE');
        const target = keyTargetAt(timing, event.opcert.kesPeriod, nowOf(event));
        return target.kind === 'evolution' && event.key.evolution > target.evolution;
      },
      receivedFromFuture: ({ event }) => {
        assertEvent(event, ['RECEIVE_BUNDLE', 'RECEIVE_DROP']);
        return event.timestampUs > BigInt(nowOf(event) + MAX_PEER_CLOCK_AHEAD_MS) * 1000n;
      },
      receivedNotNewer: ({ context, event }) => {
        assertEvent(event, ['RECEIVE_BUNDLE', 'RECEIVE_DROP']);
        return !isNewer(heldBundle(context), { kind: event.type === 'RECEIVE_BUNDLE' ? 'key' : 'drop', timestampUs: event.timestampUs });
      },
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
        assertEvent(event, ['KEYGEN', 'RECEIVE_BUNDLE']);
        event.key.destroy();
      },
      // A peer's bundle becomes the active slot with the SENDER's timestamp; the staging slot is
      // untouched (the operator may be half-way through a rotation here).
      installReceived: assign(({ context, event }) => {
        assertEvent(event, 'RECEIVE_BUNDLE');
        let slot: ActiveSlot;
        try {
          slot = new ActiveSlot(event.key, event.opcert, event.nowMs);
        } catch (e) {
          event.key.destroy();
          throw e;
        }
        const counterFloor = Math.max(context.counterFloor ?? 0, slot.counter);
        return {
          active: activeEntry(slot, event.timestampUs, event.source),
          expired: null,
          tombstone: null,
          counterFloor,
          lastTimestampUs: maxBig(context.lastTimestampUs, event.timestampUs),
        };
      }),
      recordPeerDrop: assign(({ context, event }) => {
        assertEvent(event, 'RECEIVE_DROP');
        return {
          active: null,
          expired: null,
          tombstone: { timestampUs: event.timestampUs, source: event.source },
          lastTimestampUs: maxBig(context.lastTimestampUs, event.timestampUs),
        };
      }),
      // A local drop or an expiry: a tombstone stamped max(now, last + 1).
      recordLocalTombstone: assign(({ context, event }) => {
        const timestampUs = localTimestampUs(context, nowOf(event));
        return { tombstone: { timestampUs, source: null }, lastTimestampUs: timestampUs };
      }),
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
        const timestampUs = localTimestampUs(context, nowOf(event));
        return { staged: null, active: activeEntry(slot, timestampUs, null), expired: null, counterFloor, tombstone: null, lastTimestampUs: timestampUs };
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
          timestampUs: a.timestampUs,
          source: a.source,
        });
      }),
      announceEvolved: emit(({ context }) =>
        change({ type: 'evolved', seq: context.changeSeq, evolution: context.active?.evolution ?? 0 }),
      ),
      announceDropped: emit(({ context }, params: { reason: 'drop-active' | 'expired' | 'peer-drop' }) => {
        const t = context.tombstone;
        if (t === null) throw new Error('bug: announceDropped without a tombstone');
        return change({ type: 'dropped', seq: context.changeSeq, reason: params.reason, timestampUs: t.timestampUs, source: t.source });
      }),
      refusePeer: emit(({ context, event }, params: { command: PeerCommandName; code: PeerRefusalCode }) =>
        peerOutcome({
          command: params.command,
          result: { ok: false, code: params.code, message: peerRefusalMessage(params.code, context, event) },
        } as PeerOutcome),
      ),
      reportReceivedBundle: emit(({ context }, params: { replacedActive: boolean }) => {
        const a = context.active;
        if (a === null) throw new Error('bug: reportReceivedBundle without an active key');
        return peerOutcome({
          command: 'receiveBundle',
          result: { ok: true, value: { kesVk: a.slot.kesVk, counter: a.counter, evolution: a.evolution, timestampUs: a.timestampUs, replacedActive: params.replacedActive } },
        });
      }),
      reportReceivedDrop: emit(({ context }, params: { hadKey: boolean }) =>
        peerOutcome({ command: 'receiveDrop', result: { ok: true, value: { hadKey: params.hadKey, timestampUs: context.tombstone?.timestampUs ?? 0n } } }),
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
            { guard: 'replacesUsableWithNotYetValid', actions: { type: 'reject', params: { command: 'install', code: 'OPCERT_NOT_YET_VALID' } } },
            ...installTransitions('install', ['attachOpcert', 'recordOpcert'] as const),
          ],
          // Expiry and counter are checked again: time has passed since the import. Last, whether
          // the upload would swap a key that signs now for one that cannot yet (unless forced).
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
              guard: 'replacesUsableWithNotYetValid',
              actions: { type: 'reject', params: { command: 'upload', code: 'OPCERT_NOT_YET_VALID' } },
            },
            ...installTransitions('upload', [] as const),
          ],
          // A bundle from a bootstrap peer: every check in a guard, first failure wins, the key is
          // wiped on refusal (after the refusal message has read its evolution) and nothing else changes. Order: who signed it, whether the key is
          // the certified one, the ledger's validity window, the counter floor, the evolution
          // the ledger period allows, the sender's clock, and last the Haskell age rule (so an
          // echo of our own bundle, the normal end of a loop, reads BUNDLE_NOT_NEWER).
          RECEIVE_BUNDLE: [
            { guard: 'receivedWrongColdKey', actions: [{ type: 'refusePeer', params: { command: 'receiveBundle', code: 'OPCERT_WRONG_COLD_KEY' } }, 'destroyEventKey'] },
            { guard: 'receivedBadSignature', actions: [{ type: 'refusePeer', params: { command: 'receiveBundle', code: 'OPCERT_BAD_SIGNATURE' } }, 'destroyEventKey'] },
            { guard: 'receivedKeyMismatch', actions: [{ type: 'refusePeer', params: { command: 'receiveBundle', code: 'OPCERT_WRONG_KES_KEY' } }, 'destroyEventKey'] },
            { guard: 'candidateOpcertExpired', actions: [{ type: 'refusePeer', params: { command: 'receiveBundle', code: 'OPCERT_EXPIRED' } }, 'destroyEventKey'] },
            { guard: 'candidateCounterTooLow', actions: [{ type: 'refusePeer', params: { command: 'receiveBundle', code: 'OPCERT_COUNTER_TOO_LOW' } }, 'destroyEventKey'] },
            { guard: 'receivedOverEvolved', actions: [{ type: 'refusePeer', params: { command: 'receiveBundle', code: 'KEY_OVER_EVOLVED' } }, 'destroyEventKey'] },
            { guard: 'receivedFromFuture', actions: [{ type: 'refusePeer', params: { command: 'receiveBundle', code: 'TIMESTAMP_IN_FUTURE' } }, 'destroyEventKey'] },
            { guard: 'receivedNotNewer', actions: [{ type: 'refusePeer', params: { command: 'receiveBundle', code: 'BUNDLE_NOT_NEWER' } }, 'destroyEventKey'] },
            {
              guard: 'hasActiveKey',
              target: '.activeKey',
              actions: ['destroyActiveKey', 'installReceived', 'evolveActiveKey', 'recordEvolution', 'nextChangeSeq', 'announceInstalled', { type: 'reportReceivedBundle', params: { replacedActive: true } }],
            },
            {
              target: '.activeKey',
              actions: ['installReceived', 'evolveActiveKey', 'recordEvolution', 'nextChangeSeq', 'announceInstalled', { type: 'reportReceivedBundle', params: { replacedActive: false } }],
            },
          ],
          // A peer's tombstone: no signature to check (Haskell Service V2 has none); only the
          // sender's clock and the age rule. One older than our key leaves the key alone.
          RECEIVE_DROP: [
            { guard: 'receivedFromFuture', actions: { type: 'refusePeer', params: { command: 'receiveDrop', code: 'TIMESTAMP_IN_FUTURE' } } },
            { guard: 'receivedNotNewer', actions: { type: 'refusePeer', params: { command: 'receiveDrop', code: 'BUNDLE_NOT_NEWER' } } },
            {
              guard: 'hasActiveKey',
              target: '.noActiveKey',
              actions: ['destroyActiveKey', 'recordPeerDrop', 'nextChangeSeq', { type: 'announceDropped', params: { reason: 'peer-drop' } }, { type: 'reportReceivedDrop', params: { hadKey: true } }],
            },
            {
              actions: ['recordPeerDrop', 'nextChangeSeq', { type: 'announceDropped', params: { reason: 'peer-drop' } }, { type: 'reportReceivedDrop', params: { hadKey: false } }],
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
                    'recordLocalTombstone',
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
