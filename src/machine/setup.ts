/**
 * What every part of the key-state machine is written against: its environment, the argument
 * types xstate passes to guards and actions, and typed `assign` / `emit` for the guard and action
 * modules (guards.ts, actions.ts, install.ts, receive.ts, evolution.ts, ...), which are defined
 * outside the one `setup()` call in agent-machine.ts.
 */
import { assign, emit, type ActionArgs, type GuardArgs, type ParameterizedObject } from 'xstate';
import type { ChainTiming } from '../time';
import type { ActiveChange, AgentContext, AgentEmitted, AgentEvent, CommandOutcome, PeerOutcome } from './types';

/** MachineDeps as the machine keeps them: its own copy of the cold vk. */
export interface MachineEnv {
  readonly timing: ChainTiming;
  readonly coldVk: Uint8Array;
  /** Unix ms; read only to arm timers and to stamp timer-driven SYNC events. */
  now(): number;
}

export type MachineGuardArgs = GuardArgs<AgentContext, AgentEvent>;
export type MachineActionArgs = ActionArgs<AgentContext, AgentEvent, AgentEvent>;

/** xstate's assign, typed for this machine. */
export const assignContext: typeof assign<AgentContext, AgentEvent, undefined, AgentEvent, never> = assign;

/** xstate's emit, typed for this machine, with the action's params `P`. */
export function emitWith<P extends ParameterizedObject['params'] | undefined = undefined>(
  expr: (args: MachineActionArgs, params: P) => AgentEmitted,
) {
  return emit<AgentContext, AgentEvent, P, AgentEvent, AgentEmitted>(expr);
}

export const outcome = (o: CommandOutcome): AgentEmitted => ({ type: 'outcome', outcome: o });
export const peerOutcome = (o: PeerOutcome): AgentEmitted => ({ type: 'peerOutcome', outcome: o });
export const change = (c: ActiveChange): AgentEmitted => ({ type: 'activeChange', change: c });

/** The instant an event is judged at. */
export function nowOf(event: AgentEvent): number {
  if (event.type === 'STOP') throw new Error('bug: STOP carries no time');
  return event.nowMs;
}

/** The opcert a command is about: the one being imported, or the staged one being uploaded. */
export function candidateOpcert(context: AgentContext, event: AgentEvent): { counter: number; kesPeriod: number } {
  if (event.type === 'IMPORT_OPCERT' || event.type === 'INSTALL' || event.type === 'RECEIVE_BUNDLE') return event.opcert;
  const o = context.staged?.opcert;
  if (!o) throw new Error(`bug: ${event.type} has no opcert to judge`);
  return o;
}
