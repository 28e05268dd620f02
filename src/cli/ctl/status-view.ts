/**
 * `kes-ctl status` for a person: one screen, aligned labels, times as UTC ISO plus "in 20h 3m",
 * warnings and the next step last, where the eye lands. Pure: status, clock and paint in, text out.
 */
import { toHex } from '../../crypto/bytes';
import { PEER_LINK_STATES, type Protection, type StatusReport } from '../../protocol';
import { NO_PAINT, formatRelative, isoSeconds, shortHex, type Paint } from '../common/format';
import { nextStep } from './status-assess';

export interface ViewOptions {
  nowMs: number;
  warnPeriods: number;
  paint?: Paint;
  /** Add "at <time>" to the first line (blocks printed one after another by --watch). */
  showTime?: boolean;
}

const LABEL_WIDTH = 12;

/** The protection line: each Protection field a person needs to see, in wire order (unlockedMemoryAllowed shows as a warning). */
const PROTECTION_LABELS: readonly { key: keyof Protection; label: string }[] = [
  { key: 'keyMemoryLocked', label: 'key memory locked' },
  { key: 'sodiumHeapLocked', label: 'sodium heap locked' },
  { key: 'coreDumpsDisabled', label: 'core dumps off' },
  { key: 'peerCredentialsChecked', label: 'peer credentials checked' },
];

/** Warnings the client adds from Status.protection: memory that can be swapped is the one an operator must know about. */
export function protectionWarnings(p: Protection): string[] {
  if (p.keyMemoryLocked) return [];
  return [
    p.unlockedMemoryAllowed
      ? 'key memory is NOT locked (the agent runs with --allow-unlocked-memory): the key can reach swap; raise RLIMIT_MEMLOCK and restart without it'
      : 'key memory is NOT locked: the key can reach swap or a core dump',
  ];
}

/**
 * The counter floor row: the lowest opcert counter the agent accepts, or why it has none (it then
 * cannot tell an old opcert from a new one), or that the agent does not report one.
 */
export function counterFloorText(s: StatusReport): { text: string; warn: boolean } {
  if (s.counterFloor === undefined) {
    return { text: `not reported by this agent (control protocol ${s.protocolVersion})`, warn: false };
  }
  if (s.counterFloor === null) {
    return {
      text: 'no floor: no key has been active since the agent started, so it cannot refuse an old opcert; check the counter against the cold host\'s counter file',
      warn: true,
    };
  }
  return { text: `floor ${s.counterFloor}: an opcert with a lower counter is refused (the highest counter active since the agent started)`, warn: false };
}

export function renderStatus(s: StatusReport, opts: ViewOptions): string {
  const paint = opts.paint ?? NO_PAINT;
  const now = opts.nowMs;
  const lines: string[] = [];
  const row = (label: string, text: string): void => {
    lines.push(`${paint('bold', `${label}:`.padEnd(LABEL_WIDTH))}${text}`);
  };
  const more = (text: string): void => {
    lines.push(`${' '.repeat(LABEL_WIDTH)}${text}`);
  };
  const at = (ms: number): string => `${isoSeconds(ms)} (${formatRelative(ms, now)})`;

  lines.push(`kes-agent ${s.agentVersion} (protocol ${s.protocolVersion}), network ${s.network}${opts.showTime ? `, at ${isoSeconds(now)}` : ''}`);

  if (s.chainStarted) {
    row('KES period', `${s.currentKesPeriod}, started ${at(s.periodStartMs)}`);
    more(`ends ${at(s.nextPeriodMs)}`);
  } else {
    row('KES period', paint('yellow', `none yet: the chain starts ${at(s.nextPeriodMs)}`));
  }

  if (s.active === null) {
    row('active', paint('red', 'none'));
  } else {
    const a = s.active;
    row('active', `${shortHex(toHex(a.kesVk))}, opcert counter ${a.opcert.counter}, start period ${a.opcert.kesPeriod}`);
    const soon = a.periodsRemaining <= opts.warnPeriods;
    more(paint(soon ? 'yellow' : 'green', `evolution ${a.evolution} of ${s.maxKesEvolutions}, ${a.periodsRemaining} periods remaining`));
    more(`expires ${at(a.expiresAtMs)}`);
  }
  if (s.expired !== null) {
    const e = s.expired;
    row('expired', `${shortHex(toHex(e.kesVk))}, opcert counter ${e.counter}, start period ${e.startKesPeriod}, expired ${at(e.expiredAtMs)}`);
  }
  if (s.staged === null) {
    row('staged', 'none');
  } else {
    const o = s.staged.opcert;
    const vk = shortHex(toHex(s.staged.kesVk));
    row('staged', o === null ? `${vk}, waiting for an opcert` : `${vk}, certified: opcert counter ${o.counter}, start period ${o.kesPeriod}`);
  }

  const floor = counterFloorText(s);
  row('counter', floor.warn ? paint('yellow', floor.text) : floor.text);
  row('nodes', `${s.serviceClients} connected`);
  row('protection', PROTECTION_LABELS.map(({ key, label }) => `${label}: ${s.protection[key] ? 'yes' : paint('yellow', 'no')}`).join(', '));

  for (const p of s.peers ?? []) {
    const state = PEER_LINK_STATES[p.state] ?? 'unknown';
    row('peer', `${p.path}: ${state === 'up' ? paint('green', 'up') : paint('yellow', state)} since ${at(p.sinceMs)}`);
    if (p.lastKey !== null) more(`last key ${shortHex(toHex(p.lastKey.kesVk))}, opcert counter ${p.lastKey.counter}, evolution ${p.lastKey.evolution}, received ${at(p.lastKey.receivedAtMs)}`);
    if (p.lastDrop !== null) more(`last drop received ${at(p.lastDrop.receivedAtMs)}`);
    if (p.lastRefusal !== null) more(paint('yellow', `last refusal ${p.lastRefusal.code} ${at(p.lastRefusal.atMs)}: ${p.lastRefusal.message}`));
  }
  for (const w of protectionWarnings(s.protection)) row('warning', paint('red', w));
  for (const w of s.warnings) row('warning', paint('yellow', w));

  const step = nextStep(s, opts.warnPeriods, now);
  row('next step', paint(step.urgency === 'now' ? 'red' : step.urgency === 'soon' ? 'yellow' : 'green', step.text));
  return lines.join('\n');
}
