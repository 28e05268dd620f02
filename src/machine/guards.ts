/**
 * The checks of the operator's commands (KEYGEN .. UPLOAD, INSTALL). Each is a pure question
 * about the context and the event; agent-machine.ts orders them, and the first that holds refuses
 * the command before any slot changes.
 */
import { assertEvent } from 'xstate';
import { verifyOpcert } from '../cardano/opcert';
import { bytesEqual } from '../crypto/bytes';
import { opcertExpiredAt, opcertUsableAt } from './rules';
import { candidateOpcert, nowOf, type MachineEnv, type MachineGuardArgs } from './setup';

export function commandGuards({ timing, coldVk }: MachineEnv) {
  return {
    hasStagedKey: ({ context }: MachineGuardArgs) => context.staged !== null,
    noStagedKey: ({ context }: MachineGuardArgs) => context.staged === null,
    hasActiveKey: ({ context }: MachineGuardArgs) => context.active !== null,
    stagedKeyBlocksKeygen: ({ context, event }: MachineGuardArgs) => {
      assertEvent(event, 'KEYGEN');
      return context.staged !== null && !event.force;
    },
    stagedHasNoOpcert: ({ context }: MachineGuardArgs) => context.staged?.opcert === null,
    opcertWrongColdKey: ({ event }: MachineGuardArgs) => {
      assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
      return !bytesEqual(event.opcert.coldVk, coldVk);
    },
    opcertBadSignature: ({ event }: MachineGuardArgs) => {
      assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
      return !verifyOpcert(event.opcert, coldVk);
    },
    opcertWrongKesKey: ({ context, event }: MachineGuardArgs) => {
      assertEvent(event, ['IMPORT_OPCERT', 'INSTALL']);
      return context.staged === null || !bytesEqual(event.opcert.hotVk, context.staged.slot.kesVk);
    },
    // Ledger rule (docs/kes-construction.md §7): kp ≥ c0 + maxKESEvolutions can never sign a valid header.
    // A start in the future (kp < c0) is fine: the key waits at evolution 0.
    candidateOpcertExpired: ({ context, event }: MachineGuardArgs) =>
      opcertExpiredAt(timing, candidateOpcert(context, event).kesPeriod, nowOf(event)),
    // The chain accepts counter n only if m ≤ n ≤ m + 1, m = the highest counter it has seen for
    // the pool (docs/kes-construction.md §5.4). The counter of any key this process has served (the floor,
    // AgentContext.counterFloor: the active key's, or one dropped or expired since) is a lower
    // bound for m once that key has forged, so anything lower is dead on arrival. EQUAL is
    // allowed on purpose: a new KES key under the same counter is valid as long as the chain has
    // not seen a higher one (e.g. replacing a KES key that never forged, or re-keying without
    // touching the counter file).
    candidateCounterTooLow: ({ context, event }: MachineGuardArgs) =>
      context.counterFloor !== null && candidateOpcert(context, event).counter < context.counterFloor,
    // Swapping a key nodes can forge with now for one they cannot forge with yet loses every
    // slot until the new opcert's start period. Refused unless the operator forces it (UPLOAD
    // only). Without an active key, or with one that cannot sign now either (expired, not yet
    // valid, chain not started), nothing usable is lost and the install goes ahead.
    replacesUsableWithNotYetValid: ({ context, event }: MachineGuardArgs) => {
      assertEvent(event, ['UPLOAD', 'INSTALL']);
      if (event.type === 'UPLOAD' && event.force) return false;
      const a = context.active;
      if (a === null || !opcertUsableAt(timing, a.startKesPeriod, event.nowMs)) return false;
      return !opcertUsableAt(timing, candidateOpcert(context, event).kesPeriod, event.nowMs);
    },
  };
}
