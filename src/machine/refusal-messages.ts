/**
 * The text of each refusal: fixed templates with public numbers and public keys only (they go on
 * the wire and into logs).
 */
import { toHex } from '../crypto/bytes';
import { heldBundle } from './bundle-age';
import { MAX_PEER_CLOCK_AHEAD_MS, kesPeriodAt, keyTargetAt } from './rules';
import { candidateOpcert, nowOf, type MachineEnv } from './setup';
import type { AgentContext, AgentErrorCode, AgentEvent, PeerRefusalCode } from './types';

export function refusalMessages({ timing, coldVk }: MachineEnv) {
  function rejectionMessage(code: AgentErrorCode, context: AgentContext, event: AgentEvent): string {
    switch (code) {
      case 'NO_STAGED_KEY':
        return 'no KES key is staged: run keygen first';
      case 'STAGED_KEY_EXISTS':
        return 'a KES key is already staged: drop it first (drop-staged), or replace it (keygen --force)';
      case 'NO_OPCERT':
        return 'the staged KES key has no opcert yet: import one issued for its verification key';
      // Public keys in hex, as `kes-cold inspect` shows them, so the operator can tell which is which.
      case 'OPCERT_WRONG_COLD_KEY': {
        if (event.type !== 'IMPORT_OPCERT' && event.type !== 'INSTALL') return "the opcert was issued by another cold key than this agent's";
        return `the opcert was issued by cold vk ${toHex(event.opcert.coldVk)}, not by this agent's cold vk ${toHex(coldVk)}: another pool's opcert, or the agent's cold-vkey is another pool's`;
      }
      case 'OPCERT_BAD_SIGNATURE':
        return "the opcert's cold key signature does not verify";
      case 'OPCERT_WRONG_KES_KEY': {
        if ((event.type !== 'IMPORT_OPCERT' && event.type !== 'INSTALL') || context.staged === null) {
          return 'the opcert certifies another KES key than the staged one: export the staged verification key and issue the opcert for it';
        }
        return `the opcert certifies KES vk ${toHex(event.opcert.hotVk)}, not the staged key's ${context.staged.kesVkHex}: export the staged verification key and issue the opcert for it`;
      }
      case 'OPCERT_EXPIRED': {
        const c0 = candidateOpcert(context, event).kesPeriod;
        const kp = kesPeriodAt(timing, nowOf(event)) ?? 0;
        return `the opcert starts at KES period ${c0} and expired at period ${c0 + timing.maxKESEvolutions}; the current period is ${kp}`;
      }
      case 'OPCERT_NOT_YET_VALID': {
        const c0 = candidateOpcert(context, event).kesPeriod;
        const kp = kesPeriodAt(timing, nowOf(event)) ?? 0;
        const a = context.active;
        const range = a === null ? '' : ` (opcert counter ${a.counter}, KES periods ${a.startKesPeriod}..${a.startKesPeriod + timing.maxKESEvolutions - 1})`;
        const how = event.type === 'UPLOAD' ? `; upload at period ${c0}, or force the upload (kes-ctl upload --force)` : `; install it at period ${c0}`;
        return `the new opcert starts at KES period ${c0}, ${c0 - kp} period(s) after the current period ${kp}, while the active key${range} can sign now: replacing it would leave nodes unable to forge until period ${c0}${how}`;
      }
      case 'OPCERT_COUNTER_TOO_LOW': {
        const floor = context.counterFloor ?? 0;
        const whose = context.active?.counter === floor ? 'the active key' : 'a key this agent had active earlier (since it started)';
        return `opcert counter ${candidateOpcert(context, event).counter} is lower than ${floor}, the counter of ${whose}: the chain refuses a counter below one it has seen; issue the opcert from the cold host's current counter file`;
      }
      default:
        return code;
    }
  }

  function peerRefusalMessage(code: PeerRefusalCode, context: AgentContext, event: AgentEvent): string {
    const ts = event.type === 'RECEIVE_BUNDLE' || event.type === 'RECEIVE_DROP' ? event.timestampUs : 0n;
    switch (code) {
      case 'OPCERT_WRONG_COLD_KEY':
      case 'OPCERT_BAD_SIGNATURE':
        return "the peer's opcert is not signed by this agent's cold key";
      case 'OPCERT_WRONG_KES_KEY':
        return "the peer's KES key is not the one its opcert certifies (probe signature)";
      case 'KEY_OVER_EVOLVED': {
        if (event.type !== 'RECEIVE_BUNDLE') return code;
        const target = keyTargetAt(timing, event.opcert.kesPeriod, nowOf(event));
        const want = target.kind === 'evolution' ? target.evolution : 0;
        return `the peer's key is at evolution ${event.key.evolution} but the current KES period needs evolution ${want}: a key cannot evolve back (a Haskell peer evolves by the wall clock, not the ledger's era history?)`;
      }
      case 'TIMESTAMP_IN_FUTURE':
        return `the peer's timestamp is ${(ts - BigInt(nowOf(event)) * 1000n) / 1000n} ms ahead of this host's clock (at most ${MAX_PEER_CLOCK_AHEAD_MS} ms accepted): check both clocks`;
      case 'BUNDLE_NOT_NEWER': {
        const held = heldBundle(context);
        return `not newer than what this agent holds (${held.kind} at ${held.timestampUs} µs; received ${ts} µs)`;
      }
      default:
        return rejectionMessage(code, context, event);
    }
  }

  return { rejectionMessage, peerRefusalMessage };
}
