/**
 * Bundles and drops from bootstrap peers (RECEIVE_BUNDLE, RECEIVE_DROP): the checks, in the order
 * of PEER_REFUSAL_CODES, and the install or drop they lead to. The staging slot is never touched
 * (the operator may be half-way through a rotation here).
 */
import { assertEvent } from 'xstate';
import { verifyOpcert } from '../cardano/opcert';
import { bytesEqual } from '../crypto/bytes';
import { verifyKes } from '../crypto/kes';
import { ActiveSlot } from '../slots';
import { heldBundle, isNewer, maxBig } from './bundle-age';
import { activeEntry } from './install';
import { refusalDetails } from './refusal-detail';
import { MAX_PEER_CLOCK_AHEAD_MS, keyTargetAt } from './rules';
import { assignContext, emitWith, nowOf, peerOutcome, type MachineEnv, type MachineGuardArgs } from './setup';
import type { PeerCommandName, PeerOutcome, PeerRefusalCode } from './types';

/** Signed by a received key and verified under the opcert's hot vk: proves the key is the one certified. */
const PEER_PROBE_MESSAGE = new TextEncoder().encode('kes-agent: bootstrap bundle probe');

export function receiveGuards({ timing, coldVk }: MachineEnv) {
  return {
    receivedWrongColdKey: ({ event }: MachineGuardArgs) => {
      assertEvent(event, 'RECEIVE_BUNDLE');
      return !bytesEqual(event.opcert.coldVk, coldVk);
    },
    receivedBadSignature: ({ event }: MachineGuardArgs) => {
      assertEvent(event, 'RECEIVE_BUNDLE');
      return !verifyOpcert(event.opcert, coldVk);
    },
    // The key's own vk must be the certified one, and it must actually sign under it at the
    // evolution it claims: fromBytes checked the structure and a probe under the key's own
    // vk; this ties the key to the opcert.
    receivedKeyMismatch: ({ event }: MachineGuardArgs) => {
      assertEvent(event, 'RECEIVE_BUNDLE');
      const key = event.key;
      if (key.destroyed || !bytesEqual(key.verificationKey(), event.opcert.hotVk)) return true;
      return !verifyKes(event.opcert.hotVk, key.evolution, PEER_PROBE_MESSAGE, key.sign(PEER_PROBE_MESSAGE));
    },
    // A key cannot evolve back: one past the period the ledger says it is now cannot sign now.
    receivedOverEvolved: ({ event }: MachineGuardArgs) => {
      assertEvent(event, 'RECEIVE_BUNDLE');
      const target = keyTargetAt(timing, event.opcert.kesPeriod, nowOf(event));
      return target.kind === 'evolution' && event.key.evolution > target.evolution;
    },
    receivedFromFuture: ({ event }: MachineGuardArgs) => {
      assertEvent(event, ['RECEIVE_BUNDLE', 'RECEIVE_DROP']);
      return event.timestampUs > BigInt(nowOf(event) + MAX_PEER_CLOCK_AHEAD_MS) * 1000n;
    },
    receivedNotNewer: ({ context, event }: MachineGuardArgs) => {
      assertEvent(event, ['RECEIVE_BUNDLE', 'RECEIVE_DROP']);
      return !isNewer(heldBundle(context), { kind: event.type === 'RECEIVE_BUNDLE' ? 'key' : 'drop', timestampUs: event.timestampUs });
    },
  };
}

export function receiveActions(env: MachineEnv) {
  const { peerRefusalDetail } = refusalDetails(env);
  return {
    // A peer's bundle becomes the active slot with the SENDER's timestamp.
    installReceived: assignContext(({ context, event }) => {
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
        active: activeEntry(env, slot, event.timestampUs, event.source),
        expired: null,
        tombstone: null,
        counterFloor,
        lastTimestampUs: maxBig(context.lastTimestampUs, event.timestampUs),
      };
    }),
    recordPeerDrop: assignContext(({ context, event }) => {
      assertEvent(event, 'RECEIVE_DROP');
      return {
        active: null,
        expired: null,
        tombstone: { timestampUs: event.timestampUs, source: event.source },
        lastTimestampUs: maxBig(context.lastTimestampUs, event.timestampUs),
      };
    }),
    refusePeer: emitWith(({ context, event }, params: { command: PeerCommandName; code: PeerRefusalCode }) =>
      peerOutcome({
        command: params.command,
        result: { ok: false, code: params.code, detail: peerRefusalDetail(params.code, context, event) },
      } as PeerOutcome),
    ),
    reportReceivedBundle: emitWith(({ context }, params: { replacedActive: boolean }) => {
      const a = context.active;
      if (a === null) throw new Error('bug: reportReceivedBundle without an active key');
      return peerOutcome({
        command: 'receiveBundle',
        result: { ok: true, value: { kesVk: a.slot.kesVk, counter: a.counter, evolution: a.evolution, timestampUs: a.timestampUs, replacedActive: params.replacedActive } },
      });
    }),
    reportReceivedDrop: emitWith(({ context }, params: { hadKey: boolean }) =>
      peerOutcome({ command: 'receiveDrop', result: { ok: true, value: { hadKey: params.hadKey, timestampUs: context.tombstone?.timestampUs ?? 0n } } }),
    ),
  };
}

/**
 * A bundle from a bootstrap peer: every check in a guard, first failure wins, the key is wiped on
 * refusal (after the refusal message has read its evolution) and nothing else changes. Order: who
 * signed it, whether the key is the certified one, the ledger's validity window, the counter
 * floor, the evolution the ledger period allows, the sender's clock, and last the Haskell age
 * rule (so an echo of our own bundle, the normal end of a loop, reads BUNDLE_NOT_NEWER).
 */
export const RECEIVE_BUNDLE_TRANSITIONS = [
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
] as const;

/**
 * A peer's tombstone: no signature to check (Haskell Service V2 has none); only the sender's
 * clock and the age rule. One older than our key leaves the key alone.
 */
export const RECEIVE_DROP_TRANSITIONS = [
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
] as const;
