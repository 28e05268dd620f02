/**
 * The agent's public status at one instant, from the machine context (already synced to that
 * instant) and the chain timing. Pure: no clock, no I/O.
 */
import { fromHex } from '../crypto/bytes';
import { type ChainTiming, kesTimeAt, opcertStanding } from '../time';
import { EXPIRY_WARNING_PERIODS, opcertExpiredAt, periodStartOrNever } from './rules';
import type { AgentContext, AgentStatus } from './types';

export function buildStatus(context: AgentContext, timing: ChainTiming, nowMs: number): AgentStatus {
  const t = kesTimeAt(timing, nowMs);
  const kp = t.started ? t.kesPeriod : undefined;
  const warnings: string[] = [];
  const when = (ms: number): string => (ms >= Number.MAX_SAFE_INTEGER ? 'never' : isoOrFar(ms));

  if (!t.started) {
    warnings.push(`the chain (${timing.name}) has not started: KES periods begin at ${when(t.startsAtMs)}`);
  }

  let active: AgentStatus['active'] = null;
  if (context.active !== null) {
    const a = context.active;
    let periodsRemaining = timing.maxKESEvolutions;
    if (kp !== undefined) {
      const s = opcertStanding(timing, a.startKesPeriod, kp);
      if (s.kind === 'valid') periodsRemaining = s.periodsRemaining;
      // 'expired' cannot be seen here: the machine retires the key in the SYNC before status.
      if (s.kind === 'expired') periodsRemaining = 0;
      if (s.kind === 'not-yet-valid') {
        warnings.push(
          `the active key's opcert starts at KES period ${a.startKesPeriod} (current ${kp}): the node cannot forge until ${when(periodStartOrNever(timing, a.startKesPeriod))}`,
        );
      }
      // The wall clock stepped back across a boundary after the key evolved: a key cannot evolve
      // backwards (each evolution wipes the one before), so it cannot sign the current period.
      const needed = s.kind === 'valid' ? s.evolution : 0;
      if (s.kind !== 'expired' && a.evolution > needed) {
        warnings.push(
          `the clock went back: the active key is at evolution ${a.evolution} but KES period ${kp} needs evolution ${needed}; nodes cannot sign until period ${a.startKesPeriod + a.evolution} starts at ${when(periodStartOrNever(timing, a.startKesPeriod + a.evolution))}: check the host clock`,
        );
      }
      if (s.kind === 'valid' && s.periodsRemaining <= EXPIRY_WARNING_PERIODS) {
        warnings.push(
          `the active key expires in ${s.periodsRemaining} KES period(s), at ${when(a.expiresAtMs)}: issue a new opcert and upload a new key`,
        );
      }
    }
    active = {
      kesVk: a.slot.kesVk,
      opcert: a.slot.opcert,
      evolution: a.evolution,
      periodsRemaining,
      expiresAtMs: a.expiresAtMs,
      installedAtMs: a.installedAtMs,
    };
  }

  let expired: AgentStatus['expired'] = null;
  if (context.expired !== null) {
    const e = context.expired;
    expired = { kesVk: hexToBytes(e.kesVkHex), counter: e.counter, startKesPeriod: e.startKesPeriod, expiredAtMs: e.expiredAtMs };
    if (context.active === null) {
      warnings.push(
        `the active key (opcert counter ${e.counter}, start period ${e.startKesPeriod}) expired at ${when(e.expiredAtMs)}: the node cannot forge; upload a new key`,
      );
    }
  } else if (context.active === null) {
    warnings.push('no active key: the node cannot forge');
  }

  let staged: AgentStatus['staged'] = null;
  if (context.staged !== null) {
    const s = context.staged;
    staged = { kesVk: s.slot.kesVk, opcert: s.slot.opcert };
    if (s.opcert === null) {
      warnings.push('the staged key has no opcert yet: import one issued for its verification key');
    } else if (opcertExpiredAt(timing, s.opcert.kesPeriod, nowMs)) {
      warnings.push(
        `the staged key's opcert (start period ${s.opcert.kesPeriod}) has expired: issue a new opcert for the staged key`,
      );
    }
  }

  return {
    network: timing.name,
    chainStarted: t.started,
    currentKesPeriod: kp ?? 0,
    currentSlot: t.started ? t.slot : 0,
    periodStartMs: t.started ? t.periodStartMs : 0,
    nextPeriodMs: t.started ? t.periodEndMs : t.startsAtMs,
    slotsPerKesPeriod: timing.slotsPerKESPeriod,
    maxKesEvolutions: timing.maxKESEvolutions,
    staged,
    active,
    expired,
    counterFloor: context.counterFloor,
    warnings,
  };
}

function hexToBytes(hex: string): Uint8Array {
  const b = fromHex(hex);
  if (b === undefined) throw new Error('bug: context holds a malformed vk hex');
  return b;
}

function isoOrFar(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms after the unix epoch` : d.toISOString();
}
