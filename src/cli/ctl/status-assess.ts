/**
 * What a status means for the operator: is the pool able to forge, for how long, and what to do
 * next. Pure (status + clock in, words out), shared by `status`, `status --check` and `--watch`.
 */
import { PEER_LINK_STATES, type Status, type StatusReport } from '../../protocol';
import { EXPIRY_WARNING_PERIODS } from '../../machine/rules';
import { EXIT } from '../exit-codes';
import { formatRelative, isoSeconds } from '../common/format';

/**
 * `--warn-periods` default: the agent's own expiry warning threshold, so by default the check and
 * the agent's warning agree. On mainnet 10 KES periods are 15 days, time to rotate calmly.
 */
export const DEFAULT_WARN_PERIODS = EXPIRY_WARNING_PERIODS;
/** No opcert window is longer than a u8 of evolutions. @default 255 */
export const MAX_WARN_PERIODS = 255;

/** The outcome of `status --check`, most urgent first. */
export type CheckLevel = 'ok' | 'expiring-soon' | 'peer-down' | 'not-ready' | 'chain-not-started';

/** `--peer-down-after` default: a peer restarting reconnects within seconds; five minutes down is an outage. @default 300 */
export const DEFAULT_PEER_DOWN_AFTER_S = 300;
/** @default 604800 (a week) */
export const MAX_PEER_DOWN_AFTER_S = 604_800;

export interface CheckResult {
  level: CheckLevel;
  exitCode: (typeof EXIT)['OK' | 'EXPIRING_SOON' | 'PEER_DOWN' | 'NOT_READY' | 'CHAIN_NOT_STARTED'];
  /** One line, public data only. */
  message: string;
}

/**
 * The active key is evolved past the current KES period: the wall clock went back across a period
 * boundary after the agent evolved the key. An evolution cannot be undone (each one wipes the one
 * before, docs/kes-construction.md §4.7), so the key cannot sign until the clock reaches its period again,
 * and a node that checks the key against the current period refuses it.
 */
export interface ClockBehind {
  /** The key's evolution. */
  evolution: number;
  /** The evolution the current KES period needs (0 before the opcert's start period). */
  needed: number;
  /** The first KES period the key can sign again: opcert start + evolution. */
  signsAgainPeriod: number;
  /** When that period starts, from the current period's start and length. */
  signsAgainAtMs: number;
}

export function clockBehind(s: Status): ClockBehind | undefined {
  const a = s.active;
  if (a === null || !s.chainStarted) return undefined;
  const needed = Math.max(0, s.currentKesPeriod - a.opcert.kesPeriod);
  if (a.evolution <= needed) return undefined;
  const signsAgainPeriod = a.opcert.kesPeriod + a.evolution;
  const periodMs = s.nextPeriodMs - s.periodStartMs;
  return { evolution: a.evolution, needed, signsAgainPeriod, signsAgainAtMs: s.periodStartMs + (signsAgainPeriod - s.currentKesPeriod) * periodMs };
}

/**
 * Whether nodes can forge now and for more than `warnPeriods` KES periods. No active key, an
 * expired one, one evolved past the current period (the clock went back) or one whose opcert
 * starts in the future is critical (NOT_READY); expiring within `warnPeriods` is a warning
 * (EXPIRING_SOON), so monitoring can tell the two apart.
 */
export function checkStatus(s: Status, warnPeriods: number, nowMs: number): CheckResult {
  const a = s.active;
  if (a === null) {
    const e = s.expired;
    return {
      level: 'not-ready',
      exitCode: EXIT.NOT_READY,
      message:
        e === null
          ? 'no active key: the node cannot forge'
          : `the active key (opcert counter ${e.counter}) expired at ${isoSeconds(e.expiredAtMs)}: the node cannot forge`,
    };
  }
  if (!s.chainStarted) {
    return {
      level: 'chain-not-started',
      exitCode: EXIT.CHAIN_NOT_STARTED,
      message: `the chain (${s.network}) has not started: KES periods begin at ${isoSeconds(s.nextPeriodMs)} (${formatRelative(s.nextPeriodMs, nowMs)})`,
    };
  }
  const behind = clockBehind(s);
  if (behind !== undefined) {
    return {
      level: 'not-ready',
      exitCode: EXIT.NOT_READY,
      message: `the clock went back: the active key is at evolution ${behind.evolution} but the current KES period ${s.currentKesPeriod} needs evolution ${behind.needed}; nodes cannot sign until period ${behind.signsAgainPeriod} starts ${isoSeconds(behind.signsAgainAtMs)} (${formatRelative(behind.signsAgainAtMs, nowMs)})`,
    };
  }
  if (a.opcert.kesPeriod > s.currentKesPeriod) {
    return {
      level: 'not-ready',
      exitCode: EXIT.NOT_READY,
      message: `the active key's opcert starts at KES period ${a.opcert.kesPeriod} (current ${s.currentKesPeriod}): the node cannot forge yet`,
    };
  }
  const left = `${a.periodsRemaining} KES period${a.periodsRemaining === 1 ? '' : 's'} remaining, expires ${isoSeconds(a.expiresAtMs)} (${formatRelative(a.expiresAtMs, nowMs)})`;
  if (a.periodsRemaining <= warnPeriods) {
    return { level: 'expiring-soon', exitCode: EXIT.EXPIRING_SOON, message: `the active key expires soon: ${left}; rotate now` };
  }
  return { level: 'ok', exitCode: EXIT.OK, message: `active key (opcert counter ${a.opcert.counter}): ${left}` };
}

/**
 * The key check, then the bootstrap peers: when the key is fine but a configured peer has not
 * been up for more than `peerDownAfterMs`, PEER_DOWN (the agent would not heal from it). A key
 * problem always wins: it is the more urgent one.
 */
export function checkWithPeers(s: StatusReport, warnPeriods: number, peerDownAfterMs: number, nowMs: number): CheckResult {
  const r = checkStatus(s, warnPeriods, nowMs);
  if (r.level !== 'ok') return r;
  const down = (s.peers ?? []).filter((p) => PEER_LINK_STATES[p.state] !== 'up' && nowMs - p.sinceMs > peerDownAfterMs);
  if (down.length === 0) return r;
  const first = down[0]!;
  const why = first.lastRefusal === null ? '' : ` (${first.lastRefusal.code})`;
  return {
    level: 'peer-down',
    exitCode: EXIT.PEER_DOWN,
    message: `${down.length} bootstrap peer(s) down for more than ${Math.round(peerDownAfterMs / 1000)} s: ${first.path} since ${isoSeconds(first.sinceMs)}${why}; ${r.message}`,
  };
}

const ISSUE_AND_IMPORT = 'issue the opcert on the cold host (kes-cold issue-opcert or cardano-cli node issue-op-cert), then kes-ctl import-opcert';
const FULL_ROTATION = 'kes-ctl keygen and export-verkey, issue the opcert on the cold host, then kes-ctl import-opcert and upload';

/** The one thing to do next, and how urgent it is. */
export interface NextStep {
  urgency: 'none' | 'soon' | 'now';
  text: string;
}

/** The next step for an operator reading `kes-ctl status`: the staged key first (a rotation in progress), then the active one. */
export function nextStep(s: Status, warnPeriods: number, nowMs: number): NextStep {
  const check = checkStatus(s, warnPeriods, nowMs);
  const urgent = check.level === 'not-ready';
  const urgency = urgent ? 'now' : check.level === 'expiring-soon' ? 'soon' : 'none';
  const st = s.staged;
  if (st !== null) {
    if (st.opcert === null) {
      return { urgency, text: `staged key waiting for an opcert: run kes-ctl export-verkey, ${ISSUE_AND_IMPORT}` };
    }
    if (s.chainStarted && st.opcert.kesPeriod + s.maxKesEvolutions <= s.currentKesPeriod) {
      return { urgency, text: `the staged key's opcert (start period ${st.opcert.kesPeriod}) has expired: run kes-ctl export-verkey, ${ISSUE_AND_IMPORT}` };
    }
    return { urgency, text: 'staged key certified: run kes-ctl upload to hand it to the nodes' };
  }
  const a = s.active;
  if (a === null) {
    const what = s.expired === null ? 'no active key' : 'the active key expired';
    return { urgency: 'now', text: `${what}: run ${FULL_ROTATION}` };
  }
  if (!s.chainStarted) return { urgency: 'none', text: `nothing to do: the chain starts at ${isoSeconds(s.nextPeriodMs)} (${formatRelative(s.nextPeriodMs, nowMs)})` };
  const behind = clockBehind(s);
  if (behind !== undefined) {
    return {
      urgency: 'now',
      text: `check the host clock (NTP): the key cannot evolve backwards and signs again from KES period ${behind.signsAgainPeriod} (${formatRelative(behind.signsAgainAtMs, nowMs)}); to forge sooner, run ${FULL_ROTATION}`,
    };
  }
  if (check.level === 'not-ready') {
    return {
      urgency: 'now',
      text: `the node cannot forge until KES period ${a.opcert.kesPeriod} starts; if that was not intended, stage a key with an opcert for period ${s.currentKesPeriod}: run ${FULL_ROTATION}`,
    };
  }
  if (check.level === 'expiring-soon') {
    return { urgency: 'soon', text: `expires in ${a.periodsRemaining} KES period${a.periodsRemaining === 1 ? '' : 's'}: rotate now: run ${FULL_ROTATION} (docs/operator-guide.md)` };
  }
  const periodMs = s.nextPeriodMs - s.periodStartMs;
  const rotateBy = a.expiresAtMs - warnPeriods * periodMs;
  return { urgency: 'none', text: `nothing to do; rotate the key by ${isoSeconds(rotateBy)} (${formatRelative(rotateBy, nowMs)}), ${warnPeriods} KES periods before it expires` };
}
