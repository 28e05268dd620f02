/**
 * Bare protocol clients for fault tests: a socket that does exactly what a test tells it (hand-
 * shake, then misbehave), with none of the politeness of KesNodeClient or kes-ctl.
 */
import * as net from 'node:net';
import { FramedSocket, nativeAccept, openNative, type Message, type SocketRole, wipeMessage } from '../../src/protocol';

/** Connect to a Unix socket; resolves once connected. */
export function connectRaw(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** The version-handshake answer that picks our protocol on a socket of `role`, as bytes. */
export function acceptFrame(role: SocketRole): Uint8Array {
  return nativeAccept(role);
}

/**
 * Connect and handshake; resolves with the framed socket and the agent's first reply (WELCOME,
 * or ERROR such as BUSY). Never rejects on the reply's content: the test judges it.
 */
export async function handshakeRaw(socketPath: string, role: SocketRole, timeoutMs = 10_000): Promise<{ conn: FramedSocket; reply: Message }> {
  const socket = await connectRaw(socketPath);
  const conn: FramedSocket = await openNative(socket, role, { receivesSecrets: true, timeoutMs });
  const reply = await conn.receive(timeoutMs);
  return { conn, reply };
}

/**
 * A minimal node on a handshaken service connection: answers every push with CONFIRM 0 and
 * wipes any key it gets. Resolves when the connection ends; counts what it saw.
 */
export function autoConfirm(conn: FramedSocket): { seen: { key: number; noKey: number; dropped: number }; done: Promise<void> } {
  const seen = { key: 0, noKey: 0, dropped: 0 };
  const done = (async () => {
    try {
      for (;;) {
        const m = await conn.receive();
        if (m.type === 'key') seen.key++;
        else if (m.type === 'no_key') seen.noKey++;
        else if (m.type === 'key_dropped') seen.dropped++;
        if (m.type === 'key' || m.type === 'no_key' || m.type === 'key_dropped') {
          const seq = m.seq;
          wipeMessage(m);
          await conn.send({ type: 'confirm', seq, result: 0 });
        } else {
          wipeMessage(m);
        }
      }
    } catch {
      // The connection ended (the test closed it, or the agent did).
    }
  })();
  return { seen, done };
}

/**
 * A node that completes the handshake and then never reads again: the agent's first push (KEY,
 * or NO_KEY when it has no key) and everything after it stay unread in the kernel's buffer, and
 * nothing is ever confirmed. `closed` resolves when the connection has ended: the agent's close
 * is only seen after `socket.resume()`.
 */
export async function stuckNode(socketPath: string): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = await connectRaw(socketPath);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // The offer is 4 + 32 × 4 bytes; the WELCOME frame follows it.
  const offerBytes = 4 + 32 * 4;
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen <= offerBytes) return;
      socket.off('data', onData);
      socket.pause(); // WELCOME (and maybe the first push) arrived: read nothing more
      resolve();
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('stuckNode: the agent closed the connection during the handshake')));
    socket.write(nativeAccept('service'));
  });
  return { socket, closed };
}
