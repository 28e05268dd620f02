/**
 * Keeping the active key in step with the clock: one timer to the next KES boundary (or chain
 * start, bounded by WALL_CLOCK_RECHECK_MS), whose SYNC evolves the key to the period the ledger
 * is in, or retires it once its opcert has expired. A late timer or a clock jump over several
 * periods is caught up in one step.
 */
import { raise } from 'xstate';
import { keyTargetAt, msUntilNextCheck } from './rules';
import { assignContext, nowOf, type MachineActionArgs, type MachineEnv, type MachineGuardArgs } from './setup';
import type { AgentContext, AgentEvent } from './types';

export function evolutionDelays({ timing, now }: MachineEnv) {
  return { untilNextCheck: () => msUntilNextCheck(timing, now()) };
}

export function evolutionGuards({ timing }: MachineEnv) {
  return {
    activeKeyExpired: ({ context, event }: MachineGuardArgs) =>
      context.active !== null && keyTargetAt(timing, context.active.startKesPeriod, nowOf(event)).kind === 'expired',
    activeKeyBehind: ({ context, event }: MachineGuardArgs) => {
      if (context.active === null) return false;
      const target = keyTargetAt(timing, context.active.startKesPeriod, nowOf(event));
      return target.kind === 'evolution' && target.evolution > context.active.evolution;
    },
  };
}

export function evolutionActions(env: MachineEnv) {
  return {
    evolveActiveKey: ({ context, event }: MachineActionArgs) => {
      if (context.active === null) throw new Error('bug: evolveActiveKey without an active key');
      const target = keyTargetAt(env.timing, context.active.startKesPeriod, nowOf(event));
      // Guards ruled out 'expired' for this instant; evolution ≤ maxKESEvolutions − 1 ≤ 63.
      if (target.kind === 'evolution') context.active.slot.evolveTo(target.evolution);
    },
    recordEvolution: assignContext({
      active: ({ context }) => (context.active === null ? null : { ...context.active, evolution: context.active.slot.evolution }),
    }),
    recordExpiry: assignContext(({ context }) => {
      if (context.active === null) throw new Error('bug: recordExpiry without an active key');
      const a = context.active;
      return {
        active: null,
        expired: { kesVkHex: a.kesVkHex, counter: a.counter, startKesPeriod: a.startKesPeriod, expiredAtMs: a.expiresAtMs },
      };
    }),
    raiseSync: raise<AgentContext, AgentEvent, AgentEvent, undefined>(() => ({ type: 'SYNC' as const, nowMs: env.now() })),
  };
}

/** SYNC in state activeKey: expire, or evolve, or (the timer fired a hair early) just re-arm. */
export const SYNC_TRANSITIONS = [
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
] as const;
