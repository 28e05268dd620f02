/**
 * The daemon's two listening sockets, as composition, admission, reload and shutdown share them:
 * which listener is current (a reload replaces it), which connections are open through it (old
 * and new listener alike), and the one connection handler both listeners use.
 */
import type * as net from 'node:net';

export interface SocketSlot {
  /** The listener in force; a socket move replaces it. */
  server: net.Server;
  /** Connections admitted through any listener of this kind, so the connection limit counts both during a move. */
  readonly open: Set<net.Socket>;
  /** Admission for a new connection (admission.ts). */
  readonly onConnection: (s: net.Socket) => void;
}

export interface DaemonSockets {
  readonly control: SocketSlot;
  readonly service: SocketSlot;
}

/** Close a listener and its connections; Node removes the socket file on close. */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
