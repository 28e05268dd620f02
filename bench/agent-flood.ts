/**
 * Bench child: one hostile node that floods the agent's service socket, as in the security
 * review (one connection sent a million CONFIRMs for an unknown seq, and status went from
 * 110 ms to 2-3 s). It picks our protocol in the version handshake, writes CONFIRM frames for a seq no push has (0) as fast as
 * the socket takes them, and when the agent cuts it, connects again, until it is killed.
 *
 *     node agent-flood.js <service socket>
 *
 * Prints "flooding" once its first connection is up; counts nothing (the agent is measured).
 */
import * as net from 'node:net';
import { encodeMessage, nativeAccept } from '../src/protocol';

/** CONFIRM frames per write: 64 KiB of them. @default 5041 */
const FRAMES_PER_WRITE = Math.floor(65_536 / 13);
/** Pause before reconnecting when the agent refuses the connection outright. @default 10 */
const RETRY_MS = 10;

const [socketPath] = process.argv.slice(2);
if (socketPath === undefined) {
  process.stderr.write('usage: agent-flood.js <service socket>\n');
  process.exit(2);
}

const hello = Buffer.from(nativeAccept('service'));
const confirm = encodeMessage({ type: 'confirm', seq: 0, result: 0 });
const burst = Buffer.alloc(confirm.length * FRAMES_PER_WRITE);
for (let i = 0; i < FRAMES_PER_WRITE; i++) burst.set(confirm, i * confirm.length);
let announced = false;

function flood(): void {
  const s = net.connect(socketPath!);
  s.on('connect', () => {
    if (!announced) {
      announced = true;
      process.stdout.write('flooding\n');
    }
    s.write(hello);
    const more = (): void => {
      while (!s.destroyed && s.write(burst));
    };
    s.on('drain', more);
    more();
  });
  s.on('data', () => undefined); // read and drop whatever the agent says
  s.on('error', () => undefined);
  s.on('close', () => setTimeout(flood, s.bytesWritten > 0 ? 0 : RETRY_MS));
}

flood();
process.on('SIGTERM', () => process.exit(0));
