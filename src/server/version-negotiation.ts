/**
 * The first exchange on every connection to either socket, whatever the client speaks: the
 * Haskell kes-agent's VersionHandshake (kes-agent/src/Cardano/KESAgent/Protocols/VersionHandshake/
 * Driver.hs). The agent offers every version it speaks on that socket, the Haskell ones and our
 * own; the client accepts one (`01 ‖ id`) or declines (`00`). The id then says which protocol
 * runs on the connection: one service socket serves cardano-node and kes-node side by side, one
 * control socket kes-agent-control and kes-ctl (spec/protocol.md §4).
 */
import type * as net from 'node:net';
import { nativeVersionId, type SocketRole } from '../protocol';
import {
  ByteReader,
  CONTROL_OFFER,
  HaskellProtocolError,
  PeerClosedError,
  ReadTimeoutError,
  SERVICE_OFFER,
  controlVersionId,
  controlVersionOf,
  encodeOffer,
  readAnswer,
  serviceVersionId,
  serviceVersionOf,
  type ControlVersion,
  type ServiceVersion,
} from '../protocol/haskell';

/**
 * What the agent offers on a socket of `role`, newest Haskell version first (as the Haskell
 * agent orders them), then ours. Clients choose by their own preference, not by this order.
 */
export function offeredIds(role: SocketRole): Uint8Array[] {
  const haskell = role === 'control' ? CONTROL_OFFER.map(controlVersionId) : SERVICE_OFFER.map(serviceVersionId);
  return [...haskell, nativeVersionId(role)];
}

/** The offer's bytes for `role`, encoded once. */
const OFFER_BYTES: Readonly<Record<SocketRole, Buffer>> = Object.freeze({
  control: Buffer.from(encodeOffer(offeredIds('control'))),
  service: Buffer.from(encodeOffer(offeredIds('service'))),
});

export type Negotiated =
  /** Our protocol: the socket's bytes (any already read are back in it) go to a FramedSocket. */
  | { kind: 'native' }
  | { kind: 'haskell-service'; version: ServiceVersion; reader: ByteReader }
  | { kind: 'haskell-control'; version: ControlVersion; reader: ByteReader };

/**
 * Why no protocol started. Each is logged by the caller and ends the connection:
 * - declined: the client answered `00` (it speaks none of the offered versions). A kes-agent
 *   client of version 1 lands here too: its HELLO frame starts with a zero byte.
 * - not-offered: it accepted an id the agent did not offer (the Haskell agent would fail to find a
 *   driver for it; we say so at once).
 * - closed: it closed (or reset) instead of answering, or right after.
 * - timeout: no answer in time.
 * - malformed: the answer's flag byte was neither 0 nor 1.
 */
export type NegotiationFailure = { kind: 'failed'; reason: 'declined' | 'not-offered' | 'closed' | 'timeout' | 'malformed' };

/** Send the offer for `role` and read the answer, within `timeoutMs`. Never throws. */
export async function negotiate(socket: net.Socket, role: SocketRole, timeoutMs: number): Promise<Negotiated | NegotiationFailure> {
  const reader = new ByteReader(socket);
  socket.write(OFFER_BYTES[role]);
  let answer;
  try {
    answer = await readAnswer(reader, { timeoutMs });
  } catch (e) {
    reader.destroy();
    if (e instanceof ReadTimeoutError) return { kind: 'failed', reason: 'timeout' };
    if (e instanceof PeerClosedError) return { kind: 'failed', reason: 'closed' };
    if (e instanceof HaskellProtocolError) return { kind: 'failed', reason: 'malformed' };
    return { kind: 'failed', reason: 'closed' };
  }
  if (!answer.accepted) {
    reader.destroy();
    return { kind: 'failed', reason: 'declined' };
  }
  const id = answer.id;
  if (sameId(id, nativeVersionId(role))) {
    if (reader.handOver().ended) return { kind: 'failed', reason: 'closed' };
    return { kind: 'native' };
  }
  if (role === 'service') {
    const version = serviceVersionOf(id);
    if (version !== undefined) return { kind: 'haskell-service', version, reader };
  } else {
    const version = controlVersionOf(id);
    if (version !== undefined) return { kind: 'haskell-control', version, reader };
  }
  reader.destroy();
  return { kind: 'failed', reason: 'not-offered' };
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
