/**
 * Who may connect, and how many: the first thing every connection to the control or service
 * socket meets. Admission checks the peer (SO_PEERCRED against the access list in force),
 * counts connections per socket, runs the version handshake, and hands the connection to the
 * protocol it settled on.
 */
import type * as net from 'node:net';
import { encodeMessage, errorReply, type SocketRole } from '../protocol';
import type { Logger } from '../platform/logger';
import type { NativeAddon, PeerCred } from '../native';
import { checkPeer, type PeerAccess, type PeerVerdict } from '../platform/peer-access';
import { negotiate, type Negotiated, type NegotiationFailure } from './version-negotiation';
import { BUSY_LINGER_MS, HANDSHAKE_TIMEOUT_MS } from './limits';

/** Judges one new connection by its peer's credentials. */
export type PeerGate = (s: net.Socket) => PeerVerdict;

/** What runs on a connection once the version handshake settled its protocol. */
export interface SocketHandlers {
  native(s: net.Socket): void;
  haskell(n: Extract<Negotiated, { kind: 'haskell-service' | 'haskell-control' }>): void;
}

/**
 * A gate that reads the access list at each connection (so a reload applies to the next one)
 * and records each admitted peer's credentials in `peerCreds`, so a reload that narrows the list
 * can find the open connections it no longer allows. None without the native addon: SO_PEERCRED
 * cannot be read then (in-process tests).
 */
export function peerGate(
  native: NativeAddon | undefined,
  access: () => PeerAccess,
  peerCreds: WeakMap<net.Socket, PeerCred>,
  selfUid: number,
): PeerGate | undefined {
  if (native === undefined) return undefined;
  return (s) => {
    const verdict = checkPeer(s, native, access(), selfUid);
    if (verdict.allowed) peerCreds.set(s, verdict.cred);
    return verdict;
  };
}

/**
 * Check who is connecting (SO_PEERCRED), then count connections per socket, then run the version
 * handshake and hand the connection to its protocol. A peer that is refused, or over the limit,
 * never reaches a handler and takes no connection slot: it still gets the offer (every
 * connection opens the same way), and if it accepts our protocol it reads ERROR PEER_NOT_ALLOWED
 * or BUSY; a Haskell client just sees the connection close, since that protocol has no error
 * message. Either way the reason is in our log, and the connection is cut within
 * BUSY_LINGER_MS.
 */
export function admit(
  open: Set<net.Socket>,
  limit: number,
  name: SocketRole,
  log: Logger,
  handlers: SocketHandlers,
  gate: PeerGate | undefined,
): (s: net.Socket) => void {
  let refusedSinceLastLog = 0;
  const turnAway = (s: net.Socket, code: 'PEER_NOT_ALLOWED' | 'BUSY', message: string): void => {
    setTimeout(() => s.destroy(), BUSY_LINGER_MS).unref();
    void negotiate(s, name, BUSY_LINGER_MS).then((n) => {
      if (n.kind === 'native') s.end(encodeMessage(errorReply(code, message)));
      else {
        if (n.kind !== 'failed') n.reader.destroy();
        s.destroy();
      }
    });
  };
  return (s) => {
    s.on('error', () => undefined); // EPIPE/ECONNRESET end this connection only
    if (gate !== undefined) {
      const verdict = gate(s);
      if (!verdict.allowed) {
        log.warn(`${name}: peer refused`, { uid: verdict.cred?.uid ?? null, gid: verdict.cred?.gid ?? null, pid: verdict.cred?.pid ?? null, reason: verdict.reason });
        turnAway(s, 'PEER_NOT_ALLOWED', `this user may not use the agent's ${name} socket`);
        return;
      }
    }
    if (open.size >= limit) {
      if (refusedSinceLastLog++ === 0) log.warn(`${name}: connection limit reached; refusing new connections`, { limit });
      turnAway(s, 'BUSY', `the agent accepts at most ${limit} ${name} connections`);
      return;
    }
    if (refusedSinceLastLog > 1) log.warn(`${name}: refused connections while at the limit`, { refused: refusedSinceLastLog });
    refusedSinceLastLog = 0;
    open.add(s);
    s.once('close', () => open.delete(s));
    void negotiate(s, name, HANDSHAKE_TIMEOUT_MS).then((n) => {
      if (n.kind === 'native') return handlers.native(s);
      if (n.kind !== 'failed') return handlers.haskell(n);
      const level = n.reason === 'closed' ? 'debug' : 'warn';
      log[level](`${name}: version handshake failed; closing`, { reason: n.reason, detail: NEGOTIATION_FAILURES[n.reason] });
      s.destroy();
    });
  };
}

/** One line per way the version handshake can fail, for the log. */
const NEGOTIATION_FAILURES: Readonly<Record<NegotiationFailure['reason'], string>> = Object.freeze({
  declined: 'the client accepted none of the offered versions (a kes-agent client of protocol version 1 sends HELLO, which reads as a refusal: upgrade it)',
  'not-offered': 'the client accepted a version the agent did not offer',
  closed: 'the client closed the connection instead of answering',
  timeout: `no answer to the version offer within ${HANDSHAKE_TIMEOUT_MS} ms`,
  malformed: 'the answer to the version offer is not a VersionHandshake answer',
});
