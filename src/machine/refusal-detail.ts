/**
 * The facts behind each refusal, read at the instant of the refused event, before anything is
 * wiped (a refused peer key's evolution is read here, then the key is destroyed). Domain facts
 * only: how a refusal reads is each protocol's business (src/protocol/refusal-text.ts).
 */
import { heldBundle } from './bundle-age';
import { MAX_PEER_CLOCK_AHEAD_MS, kesPeriodAt, keyTargetAt } from './rules';
import { candidateOpcert, nowOf, type MachineEnv } from './setup';
import type { AgentContext, AgentErrorCode, AgentEvent, PeerRefusalCode, RefusalDetail } from './types';

const NONE: RefusalDetail = Object.freeze({ kind: 'none' });

export function refusalDetails({ timing, coldVk }: MachineEnv) {
  function commandRefusalDetail(code: AgentErrorCode, context: AgentContext, event: AgentEvent): RefusalDetail {
    switch (code) {
      case 'OPCERT_WRONG_COLD_KEY':
        if (event.type !== 'IMPORT_OPCERT' && event.type !== 'INSTALL') return NONE;
        return { kind: 'coldKey', opcertColdVk: event.opcert.coldVk.slice(), agentColdVk: coldVk.slice() };
      case 'OPCERT_WRONG_KES_KEY':
        if ((event.type !== 'IMPORT_OPCERT' && event.type !== 'INSTALL') || context.staged === null) return NONE;
        return { kind: 'kesKey', opcertHotVk: event.opcert.hotVk.slice(), stagedKesVk: context.staged.slot.kesVk };
      case 'OPCERT_EXPIRED':
      case 'OPCERT_NOT_YET_VALID': {
        const a = context.active;
        return {
          kind: 'window',
          startKesPeriod: candidateOpcert(context, event).kesPeriod,
          currentKesPeriod: kesPeriodAt(timing, nowOf(event)) ?? 0,
          maxKesEvolutions: timing.maxKESEvolutions,
          active: a === null ? null : { counter: a.counter, startKesPeriod: a.startKesPeriod },
          forcible: event.type === 'UPLOAD',
        };
      }
      case 'OPCERT_COUNTER_TOO_LOW': {
        const floor = context.counterFloor ?? 0;
        return { kind: 'counter', counter: candidateOpcert(context, event).counter, floor, floorIsActiveKey: context.active?.counter === floor };
      }
      default:
        return NONE;
    }
  }

  function peerRefusalDetail(code: PeerRefusalCode, context: AgentContext, event: AgentEvent): RefusalDetail {
    const ts = event.type === 'RECEIVE_BUNDLE' || event.type === 'RECEIVE_DROP' ? event.timestampUs : 0n;
    switch (code) {
      case 'OPCERT_WRONG_COLD_KEY':
      case 'OPCERT_BAD_SIGNATURE':
      case 'OPCERT_WRONG_KES_KEY':
        return NONE;
      case 'KEY_OVER_EVOLVED': {
        if (event.type !== 'RECEIVE_BUNDLE') return NONE;
        const target = keyTargetAt(timing, event.opcert.kesPeriod, nowOf(event));
        return { kind: 'evolution', evolution: event.key.evolution, needed: target.kind === 'evolution' ? target.evolution : 0 };
      }
      case 'TIMESTAMP_IN_FUTURE':
        return { kind: 'clock', aheadMs: (ts - BigInt(nowOf(event)) * 1000n) / 1000n, limitMs: MAX_PEER_CLOCK_AHEAD_MS };
      case 'BUNDLE_NOT_NEWER':
        return { kind: 'age', held: heldBundle(context), receivedUs: ts };
      default:
        return commandRefusalDetail(code, context, event);
    }
  }

  return { commandRefusalDetail, peerRefusalDetail };
}
