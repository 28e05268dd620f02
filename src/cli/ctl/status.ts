/** `kes-ctl status`: both slots, the current KES period, connected nodes, warnings. */
import { Command, Option } from 'clipanion';
import { toHex } from '../../crypto/bytes';
import type { Status } from '../../protocol';
import { EXIT } from '../exit-codes';
import { formatDuration } from '../common/format';
import { isoTime } from '../common/json-output';
import { CtlCommand, opcertJson } from './base';

export class StatusCommand extends CtlCommand {
  static override paths = [['status']];
  static override usage = Command.Usage({
    description: 'Show the agent\'s state: slots, KES period, nodes, warnings',
    details: `
      Public data only. With --json the object has: agentVersion, network, protocolVersion,
      chainStarted, currentKesPeriod, currentSlot, periodStart, nextPeriodStart,
      maxKesEvolutions, serviceClients, staged (null or {kesVkey, opcert}), active (null or
      {kesVkey, counter, startKesPeriod, evolution, periodsRemaining, expiresAt, installedAt,
      opcert}), expired (null or {kesVkey, counter, startKesPeriod, expiredAt}), warnings.
    `,
    examples: [['Human-readable', '$0 status'], ['For scripts', '$0 status --json']],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });

  async execute(): Promise<number> {
    const s = await this.withAgent((ctl) => ctl.status());
    if (this.json) this.printJson(statusJson(s));
    else this.print(statusText(s, this.context.now()));
    return EXIT.OK;
  }
}

export function statusJson(s: Status): Record<string, unknown> {
  return {
    agentVersion: s.agentVersion,
    network: s.network,
    protocolVersion: s.protocolVersion,
    chainStarted: s.chainStarted,
    currentKesPeriod: s.currentKesPeriod,
    currentSlot: s.currentSlot,
    periodStart: s.chainStarted ? isoTime(s.periodStartMs) : null,
    nextPeriodStart: isoTime(s.nextPeriodMs),
    slotsPerKesPeriod: s.slotsPerKesPeriod,
    maxKesEvolutions: s.maxKesEvolutions,
    serviceClients: s.serviceClients,
    protection: {
      keyMemoryLocked: s.protection.keyMemoryLocked,
      sodiumHeapLocked: s.protection.sodiumHeapLocked,
      coreDumpsDisabled: s.protection.coreDumpsDisabled,
      peerCredentialsChecked: s.protection.peerCredentialsChecked,
      unlockedMemoryAllowed: s.protection.unlockedMemoryAllowed,
    },
    staged: s.staged === null ? null : { kesVkey: toHex(s.staged.kesVk), opcert: s.staged.opcert === null ? null : opcertJson(s.staged.opcert) },
    active:
      s.active === null
        ? null
        : {
            kesVkey: toHex(s.active.kesVk),
            counter: s.active.opcert.counter,
            startKesPeriod: s.active.opcert.kesPeriod,
            evolution: s.active.evolution,
            periodsRemaining: s.active.periodsRemaining,
            expiresAt: isoTime(s.active.expiresAtMs),
            installedAt: isoTime(s.active.installedAtMs),
            opcert: opcertJson(s.active.opcert),
          },
    expired:
      s.expired === null
        ? null
        : { kesVkey: toHex(s.expired.kesVk), counter: s.expired.counter, startKesPeriod: s.expired.startKesPeriod, expiredAt: isoTime(s.expired.expiredAtMs) },
    warnings: s.warnings,
  };
}

export function statusText(s: Status, now: number): string {
  const lines: string[] = [];
  lines.push(`kes-agent ${s.agentVersion} (protocol ${s.protocolVersion}), network ${s.network}`);
  if (s.chainStarted) {
    lines.push(`KES period ${s.currentKesPeriod} (slot ${s.currentSlot}); the next one starts ${isoTime(s.nextPeriodMs)} (in ${formatDuration(s.nextPeriodMs - now)})`);
  } else {
    lines.push(`the chain has not started; it starts ${isoTime(s.nextPeriodMs)} (in ${formatDuration(s.nextPeriodMs - now)})`);
  }
  if (s.staged === null) lines.push('staged: none');
  else {
    const o = s.staged.opcert;
    lines.push(`staged: ${toHex(s.staged.kesVk)}, ${o === null ? 'no opcert yet' : `opcert counter ${o.counter}, start period ${o.kesPeriod}`}`);
  }
  if (s.active === null) lines.push('active: none');
  else {
    const a = s.active;
    lines.push(`active: ${toHex(a.kesVk)}, opcert counter ${a.opcert.counter}, start period ${a.opcert.kesPeriod}`);
    lines.push(`  evolution ${a.evolution} of ${s.maxKesEvolutions}, ${a.periodsRemaining} periods remaining, expires ${isoTime(a.expiresAtMs)} (in ${formatDuration(a.expiresAtMs - now)})`);
  }
  if (s.expired !== null) lines.push(`expired: ${toHex(s.expired.kesVk)}, counter ${s.expired.counter}, expired ${isoTime(s.expired.expiredAtMs)}`);
  lines.push(`nodes connected: ${s.serviceClients}`);
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
