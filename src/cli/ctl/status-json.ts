/**
 * `kes-ctl status --json`: the agent's status report as one JSON object. Public data only; bytes
 * as lowercase hex. No clipanion here: the plain `status` line (plain-status.ts) prints it too.
 */
import { toHex } from '../../crypto/bytes';
import { PEER_LINK_STATES, type Opcert, type PeerStatus, type StatusReport } from '../../protocol';
import { isoTime } from '../common/json-output';

/** An opcert as JSON: public fields only, bytes as lowercase hex. */
export function opcertJson(o: Opcert): Record<string, string | number> {
  return { counter: o.counter, kesPeriod: o.kesPeriod, hotVkey: toHex(o.hotVk), coldVkey: toHex(o.coldVk), sigma: toHex(o.sigma) };
}

function peerJson(p: PeerStatus): Record<string, unknown> {
  return {
    path: p.path,
    state: PEER_LINK_STATES[p.state] ?? `unknown(${p.state})`,
    since: isoTime(p.sinceMs),
    lastKey:
      p.lastKey === null
        ? null
        : { kesVkey: toHex(p.lastKey.kesVk), counter: p.lastKey.counter, evolution: p.lastKey.evolution, timestampUs: p.lastKey.timestampUs, receivedAt: isoTime(p.lastKey.receivedAtMs) },
    lastDrop: p.lastDrop === null ? null : { timestampUs: p.lastDrop.timestampUs, receivedAt: isoTime(p.lastDrop.receivedAtMs) },
    lastRefusal: p.lastRefusal === null ? null : { code: p.lastRefusal.code, message: p.lastRefusal.message, at: isoTime(p.lastRefusal.atMs) },
    received: p.received,
    accepted: p.accepted,
  };
}

export function statusJson(s: StatusReport): Record<string, unknown> {
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
    // Only from an agent that reports it (control protocol 2); null: it has no floor.
    ...(s.counterFloor === undefined ? {} : { counterFloor: s.counterFloor }),
    // Only from an agent that reports them (STATUS_OK_V3).
    ...(s.peers === undefined ? {} : { peers: s.peers.map(peerJson) }),
    warnings: s.warnings,
  };
}

