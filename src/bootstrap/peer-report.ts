/**
 * The bootstrap peers as status reports them: the wire form of STATUS_OK_V3 (spec/protocol.md
 * §7.24) and the warnings added to Status.warnings. Pure: no clock, no I/O.
 */
import { MAX_PEER_PATH_BYTES, MAX_REFUSAL_CODE_BYTES, MAX_STATUS_PEERS, MAX_WARNING_BYTES, MAX_WIRE_U64 } from '../protocol/constants';
import { PEER_LINK_STATES, type PeerStatus } from '../protocol/messages';
import { LINK_FAILURE_CODES, type PeerLinkStatus } from './peer-link';

/** A peer timestamp is any u64; the wire carries at most MAX_WIRE_U64, so larger ones are shown as that. */
function saturate(us: bigint): number {
  return us > BigInt(MAX_WIRE_U64) ? MAX_WIRE_U64 : Number(us);
}

/** Cut `s` to `max` UTF-8 bytes (whole characters), marking the cut with "…". */
export function clampUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s, 'utf8') <= max) return s;
  let t = s;
  while (Buffer.byteLength(`${t}…`, 'utf8') > max) t = t.slice(0, -1);
  return `${t}…`;
}

export function wirePeers(peers: readonly PeerLinkStatus[]): PeerStatus[] {
  return peers.slice(0, MAX_STATUS_PEERS).map((p) => ({
    path: clampUtf8(p.path, MAX_PEER_PATH_BYTES),
    state: PEER_LINK_STATES.indexOf(p.state),
    sinceMs: p.sinceMs,
    lastKey:
      p.lastKey === null
        ? null
        : { kesVk: p.lastKey.kesVk, counter: p.lastKey.counter, evolution: p.lastKey.evolution, timestampUs: saturate(p.lastKey.timestampUs), receivedAtMs: p.lastKey.atMs },
    lastDrop: p.lastDrop === null ? null : { timestampUs: saturate(p.lastDrop.timestampUs), receivedAtMs: p.lastDrop.atMs },
    lastRefusal:
      p.lastRefusal === null
        ? null
        : { code: clampUtf8(p.lastRefusal.code, MAX_REFUSAL_CODE_BYTES), message: clampUtf8(p.lastRefusal.message, MAX_WARNING_BYTES), atMs: p.lastRefusal.atMs },
    received: Math.min(p.received, 0xffff_ffff),
    accepted: Math.min(p.accepted, 0xffff_ffff),
  }));
}

/** Codes that are about a bundle the peer sent (not about the connection): each one is a status warning. */
const CONNECTION_CODES: ReadonlySet<string> = new Set(LINK_FAILURE_CODES);

/** One warning per peer whose last bundle was refused, or that cannot be used (not trusted, no Service V2, flooding). */
export function peerWarnings(peers: readonly PeerLinkStatus[]): string[] {
  const out: string[] = [];
  for (const p of peers) {
    const r = p.lastRefusal;
    if (r === null) continue;
    if (!CONNECTION_CODES.has(r.code)) out.push(clampUtf8(`bootstrap peer ${p.path}: its bundle was refused (${r.code}): ${r.message}`, MAX_WARNING_BYTES));
    else if (r.code === 'PEER_NOT_TRUSTED' || r.code === 'PEER_NO_SERVICE_V2' || r.code === 'PEER_FLOODING') out.push(clampUtf8(`bootstrap peer ${p.path}: ${r.code}: ${r.message}`, MAX_WARNING_BYTES));
  }
  return out;
}
