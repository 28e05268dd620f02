/**
 * The answer to each command: exactly one `outcome` per command event, a refusal or the
 * command's values (types.ts CommandValues), which the Agent returns to its caller.
 */
import { assertEvent } from 'xstate';
import { refusalDetails } from './refusal-detail';
import { kesPeriodAt } from './rules';
import { emitWith, outcome, type MachineEnv } from './setup';
import type { AgentErrorCode, CommandName, CommandOutcome } from './types';

/** A transition that refuses `command` with `code` when `guard` holds; nothing changes. */
export const refuseIf = <const G extends string, const C extends CommandName, const E extends AgentErrorCode>(guard: G, command: C, code: E) =>
  ({ guard, actions: { type: 'reject', params: { command, code } } }) as const;

export function commandOutcomes(env: MachineEnv) {
  const { timing } = env;
  const { commandRefusalDetail } = refusalDetails(env);
  return {
    reject: emitWith(({ context, event }, params: { command: CommandName; code: AgentErrorCode }) =>
      outcome({
        command: params.command,
        result: { ok: false, code: params.code, detail: commandRefusalDetail(params.code, context, event) },
      } as CommandOutcome),
    ),
    reportKeygen: emitWith(({ context }, params: { replacedStaged: boolean }) => {
      if (context.staged === null) throw new Error('bug: reportKeygen without a staged key');
      return outcome({
        command: 'keygen',
        result: { ok: true, value: { kesVk: context.staged.slot.kesVk, replacedStaged: params.replacedStaged } },
      });
    }),
    reportVerkey: emitWith(({ context }) => {
      if (context.staged === null) throw new Error('bug: reportVerkey without a staged key');
      return outcome({
        command: 'exportVerkey',
        result: { ok: true, value: { kesVk: context.staged.slot.kesVk, hasOpcert: context.staged.opcert !== null } },
      });
    }),
    reportImport: emitWith(({ context, event }) => {
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
    reportUpload: emitWith(({ context }, params: { replacedActive: boolean; command?: 'upload' | 'install' }) => {
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
    reportDropStaged: emitWith((_, params: { hadKey: boolean }) =>
      outcome({ command: 'dropStaged', result: { ok: true, value: { hadKey: params.hadKey } } }),
    ),
    reportDropActive: emitWith((_, params: { hadKey: boolean }) =>
      outcome({ command: 'dropActive', result: { ok: true, value: { hadKey: params.hadKey } } }),
    ),
  };
}
