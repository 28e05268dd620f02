/**
 * The client's side of the version handshake for our own protocol (spec/protocol.md §4), in its
 * plainest form: accept our id, skip the agent's offer, and read frames from there. kes-ctl,
 * kes-node and the node library go through src/client/connect.ts, which also checks the offer
 * and turns every failure into an operator's error; this is for tools that only need the bytes
 * right (the bench's node swarm, test peers).
 */
import type * as net from 'node:net';
import { NATIVE_CONTROL_VERSION_ID, NATIVE_SERVICE_VERSION_ID } from './constants';
import { FramedSocket } from './framed-socket';
import type { SocketRole } from './handshake';
import { ByteReader, encodeAccept, readOffer, versionId } from './haskell';

/** Our protocol's VersionHandshake id on a socket of `role` (32 bytes, NUL-padded). */
export function nativeVersionId(role: SocketRole): Uint8Array {
  return versionId(role === 'control' ? NATIVE_CONTROL_VERSION_ID : NATIVE_SERVICE_VERSION_ID);
}

/** The client's answer that picks our protocol: `01 ‖ id` (33 bytes). */
export function nativeAccept(role: SocketRole): Uint8Array {
  return encodeAccept(nativeVersionId(role));
}

/**
 * Send the accept at once (the agent reads it after writing its offer), read past the offer,
 * and return a FramedSocket whose first message is the agent's WELCOME (or ERROR).
 * @throws whatever reading the offer throws (PeerClosedError, ReadTimeoutError, HaskellProtocolError)
 */
export async function openNative(socket: net.Socket, role: SocketRole, opts: { receivesSecrets: boolean; timeoutMs?: number }): Promise<FramedSocket> {
  socket.write(nativeAccept(role));
  const reader = new ByteReader(socket);
  try {
    await readOffer(reader, { timeoutMs: opts.timeoutMs ?? 5_000 });
  } catch (e) {
    reader.destroy();
    throw e;
  }
  reader.handOver();
  return new FramedSocket(socket, { receivesSecrets: opts.receivesSecrets });
}
