/**
 * Writing Haskell-protocol messages to a socket. There is no framing: a message is its bytes.
 */
import type * as net from 'node:net';
import { releaseSecret } from '../../crypto/secret-memory';
import { PeerClosedError } from './errors';

/** Write `bytes`; resolves when the socket has written them, rejects with PeerClosedError. */
export function writeBytes(socket: net.Socket, bytes: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (socket.destroyed || !socket.writable) {
      reject(new PeerClosedError(true));
      return;
    }
    socket.write(bytes, (err) => (err ? reject(new PeerClosedError(false, 'socket-error')) : resolve()));
  });
}

/**
 * Write a buffer that holds a secret (encodeServiceKeyMessage's) and release it with
 * releaseSecret() once written or failed. The buffer is the socket's until then, then gone.
 */
export function writeSecret(socket: net.Socket, secret: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (socket.destroyed || !socket.writable) {
      releaseSecret(secret);
      reject(new PeerClosedError(true));
      return;
    }
    socket.write(secret, (err) => {
      releaseSecret(secret);
      if (err) reject(new PeerClosedError(false, 'socket-error'));
      else resolve();
    });
  });
}
