/**
 * The control protocol's Status (spec/protocol.md §10) from the agent's status: the key state
 * and chain time the machine reports, what only the server knows, and the wire's limits on
 * warnings.
 */
import type { AgentStatus } from '../machine/types';
import { MAX_STATUS_WARNINGS, MAX_WARNING_BYTES } from '../protocol/constants';
import type { Protection, Status } from '../protocol';

export interface ServerStatusFields {
  agentVersion: string;
  /** The connection's control protocol version. */
  protocolVersion: number;
  serviceClients: number;
  protection: Protection;
  /** Warnings about bootstrap peers, already within MAX_WARNING_BYTES each; listed after the agent's. */
  peerWarnings: string[];
}

export function toWireStatus(s: AgentStatus, server: ServerStatusFields): { counterFloor: number | null; status: Status } {
  const warnings = [...s.warnings.slice(0, MAX_STATUS_WARNINGS).map(clampWarning), ...server.peerWarnings].slice(0, MAX_STATUS_WARNINGS);
  return {
    counterFloor: s.counterFloor,
    status: {
      network: s.network,
      chainStarted: s.chainStarted,
      currentKesPeriod: s.currentKesPeriod,
      currentSlot: s.currentSlot,
      periodStartMs: s.periodStartMs,
      nextPeriodMs: s.nextPeriodMs,
      slotsPerKesPeriod: s.slotsPerKesPeriod,
      maxKesEvolutions: s.maxKesEvolutions,
      staged: s.staged,
      active: s.active,
      expired: s.expired,
      warnings,
      agentVersion: server.agentVersion,
      protocolVersion: server.protocolVersion,
      serviceClients: server.serviceClients,
      protection: server.protection,
    },
  };
}

/** The agent's templates are ASCII and well under the limit; this keeps the limit even if one grows (a long network name). */
function clampWarning(w: string): string {
  const bytes = Buffer.byteLength(w, 'utf8');
  if (bytes <= MAX_WARNING_BYTES) return w;
  let s = w;
  while (Buffer.byteLength(`${s}…`, 'utf8') > MAX_WARNING_BYTES) s = s.slice(0, -1);
  return `${s}…`;
}
