/**
 * Bench child: the baseline for pushing a key to every node. A bare net.Server on a Unix socket
 * that writes one frame of the KEY frame's size to every connection and counts one-byte replies:
 * what any Node server must do to deliver a frame to N sockets and hear back from each.
 *
 *     node agent-bare-server.js <service-socket> <trigger-socket> <frame-bytes>
 *
 * On the trigger socket (one byte per request, answered with a u32be):
 *   'c' → the number of connections accepted;
 *   'b' → broadcast the frame to all, answered once every connection has replied.
 * Prints "listening" when both sockets are up.
 */
import * as net from 'node:net';
import { FRAME_HEADER_BYTES, KIND } from '../src/protocol/constants';
import { writeFrameHeader } from '../src/protocol/frame';

/** Connections the bare server accepts (above the bench's 1,000 nodes, like the agent's limit). @default 2048 */
const MAX_CONNECTIONS = 2048;

export const TRIGGER_COUNT = 0x63; // 'c'
export const TRIGGER_BROADCAST = 0x62; // 'b'

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function main(): void {
  const [servicePath, triggerPath, bytesArg] = process.argv.slice(2);
  const frameBytes = Number(bytesArg);
  if (servicePath === undefined || triggerPath === undefined || !Number.isSafeInteger(frameBytes) || frameBytes <= FRAME_HEADER_BYTES) {
    process.stderr.write('usage: agent-bare-server <service-socket> <trigger-socket> <frame-bytes>\n');
    process.exit(2);
  }
  // Framed like a KEY (length, kind) so the clients parse it exactly as they parse the agent's.
  const frame = Buffer.alloc(frameBytes);
  writeFrameHeader(frame, frameBytes - FRAME_HEADER_BYTES);
  frame[FRAME_HEADER_BYTES] = KIND.KEY;

  const sockets = new Set<net.Socket>();
  let awaiting = 0;
  let onAllReplied: (() => void) | undefined;

  const service = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (chunk: Buffer) => {
      awaiting -= chunk.length;
      if (awaiting === 0 && onAllReplied) {
        const done = onAllReplied;
        onAllReplied = undefined;
        done();
      }
    });
    s.on('error', () => s.destroy());
    s.on('close', () => sockets.delete(s));
  });
  service.maxConnections = MAX_CONNECTIONS;

  const trigger = net.createServer((t) => {
    t.on('data', (chunk: Buffer) => {
      for (const c of chunk) {
        if (c === TRIGGER_COUNT) t.write(u32(sockets.size));
        else if (c === TRIGGER_BROADCAST) {
          const n = sockets.size;
          if (n === 0) {
            t.write(u32(0));
            continue;
          }
          awaiting = n;
          onAllReplied = () => t.write(u32(n));
          for (const s of sockets) s.write(frame);
        }
      }
    });
    t.on('error', () => t.destroy());
  });

  service.listen(servicePath, () => trigger.listen(triggerPath, () => process.stdout.write('listening\n')));
  process.on('SIGTERM', () => {
    for (const s of sockets) s.destroy();
    trigger.close();
    service.close(() => process.exit(0));
  });
}

if (require.main === module) main();
