/**
 * How the agent's refusals read: fixed templates filled with the public facts the key-state
 * machine reports (RefusalDetail). Our control protocol sends this text in ERROR.message; the
 * Haskell control handler logs it (its wire has no text); the bootstrap links show a peer
 * refusal's in `kes-ctl status`.
 */
import { toHex } from '../crypto/bytes';
import type { AgentErrorCode, PeerRefusalCode, RefusalDetail } from '../machine/types';

/** The text of a refused operator command (the ERROR.message of spec/protocol.md §5). */
export function commandRefusalText(r: { code: AgentErrorCode; detail: RefusalDetail }): string {
  const d = r.detail;
  switch (r.code) {
    case 'NO_STAGED_KEY':
      return 'no KES key is staged: run keygen first';
    case 'STAGED_KEY_EXISTS':
      return 'a KES key is already staged: drop it first (drop-staged), or replace it (keygen --force)';
    case 'NO_OPCERT':
      return 'the staged KES key has no opcert yet: import one issued for its verification key';
    // Public keys in hex, as `kes-cold inspect` shows them, so the operator can tell which is which.
    case 'OPCERT_WRONG_COLD_KEY':
      if (d.kind !== 'coldKey') return "the opcert was issued by another cold key than this agent's";
      return `the opcert was issued by cold vk ${toHex(d.opcertColdVk)}, not by this agent's cold vk ${toHex(d.agentColdVk)}: another pool's opcert, or the agent's cold-vkey is another pool's`;
    case 'OPCERT_BAD_SIGNATURE':
      return "the opcert's cold key signature does not verify";
    case 'OPCERT_WRONG_KES_KEY':
      if (d.kind !== 'kesKey') {
        return 'the opcert certifies another KES key than the staged one: export the staged verification key and issue the opcert for it';
      }
      return `the opcert certifies KES vk ${toHex(d.opcertHotVk)}, not the staged key's ${toHex(d.stagedKesVk)}: export the staged verification key and issue the opcert for it`;
    case 'OPCERT_EXPIRED': {
      if (d.kind !== 'window') return r.code;
      const c0 = d.startKesPeriod;
      return `the opcert starts at KES period ${c0} and expired at period ${c0 + d.maxKesEvolutions}; the current period is ${d.currentKesPeriod}`;
    }
    case 'OPCERT_NOT_YET_VALID': {
      if (d.kind !== 'window') return r.code;
      const c0 = d.startKesPeriod;
      const kp = d.currentKesPeriod;
      const a = d.active;
      const range = a === null ? '' : ` (opcert counter ${a.counter}, KES periods ${a.startKesPeriod}..${a.startKesPeriod + d.maxKesEvolutions - 1})`;
      const how = d.forcible ? `; upload at period ${c0}, or force the upload (kes-ctl upload --force)` : `; install it at period ${c0}`;
      return `the new opcert starts at KES period ${c0}, ${c0 - kp} period(s) after the current period ${kp}, while the active key${range} can sign now: replacing it would leave nodes unable to forge until period ${c0}${how}`;
    }
    case 'OPCERT_COUNTER_TOO_LOW': {
      if (d.kind !== 'counter') return r.code;
      const whose = d.floorIsActiveKey ? 'the active key' : 'a key this agent had active earlier (since it started)';
      return `opcert counter ${d.counter} is lower than ${d.floor}, the counter of ${whose}: the chain refuses a counter below one it has seen; issue the opcert from the cold host's current counter file`;
    }
    default:
      return r.code;
  }
}

/** The text of a refused bundle or drop from a bootstrap peer (logs, `kes-ctl status`). */
export function peerRefusalText(r: { code: PeerRefusalCode; detail: RefusalDetail }): string {
  const d = r.detail;
  switch (r.code) {
    case 'OPCERT_WRONG_COLD_KEY':
    case 'OPCERT_BAD_SIGNATURE':
      return "the peer's opcert is not signed by this agent's cold key";
    case 'OPCERT_WRONG_KES_KEY':
      return "the peer's KES key is not the one its opcert certifies (probe signature)";
    case 'KEY_OVER_EVOLVED':
      if (d.kind !== 'evolution') return r.code;
      return `the peer's key is at evolution ${d.evolution} but the current KES period needs evolution ${d.needed}: a key cannot evolve back (a Haskell peer evolves by the wall clock, not the ledger's era history?)`;
    case 'TIMESTAMP_IN_FUTURE':
      if (d.kind !== 'clock') return r.code;
      return `the peer's timestamp is ${d.aheadMs} ms ahead of this host's clock (at most ${d.limitMs} ms accepted): check both clocks`;
    case 'BUNDLE_NOT_NEWER':
      if (d.kind !== 'age') return r.code;
      return `not newer than what this agent holds (${d.held.kind} at ${d.held.timestampUs} µs; received ${d.receivedUs} µs)`;
    default:
      return commandRefusalText({ code: r.code, detail: d });
  }
}
