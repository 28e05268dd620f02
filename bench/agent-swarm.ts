/**
 * Bench child: many light clients in one process, so the process under test (the agent or the
 * bare server) does not share a CPU-time budget with them.
 *
 *     node agent-swarm.js <protocol|bare> <socket> <count>
 *
 * protocol: each client picks our protocol in the version handshake, checks WELCOME, and answers every KEY / NO_KEY /
 *   KEY_DROPPED with CONFIRM result 0 at once. Keys are NOT validated (the agent is what is
 *   measured); KEY payloads are wiped as soon as their seq is read.
 * bare: each client answers every frame with one byte.
 *
 * Reports over IPC: {ready: count} once every client is connected (protocol: and has confirmed
 * the push it gets on connecting), or {error: message}. Exits when the parent disconnects.
 */
import * as net from 'node:net';
import { releaseSecret } from '../src/crypto/secret-memory';
import { FRAME_HEADER_BYTES, KIND, KIND_BYTES, acceptWelcome, decodeFrame, encodeMessage, nativeAccept } from '../src/protocol';
import { offeredIds } from '../src/server/version-negotiation';

/** The agent's version offer on the service socket: a u32 count and 32 bytes per id. */
const SERVICE_OFFER_BYTES = 4 + 32 * offeredIds('service').length;
import { FrameDecoder } from '../src/protocol/frame';

/** Connects in flight at once: more would overflow the listener's accept backlog (EAGAIN). @default 64 */
const CONNECT_CONCURRENCY = 64;
/**
 * Offset of `seq` (u64 LE) in a payload of KEY / NO_KEY / KEY_DROPPED, and in a whole CONFIRM
 * frame (spec/protocol.md §7): right after the kind byte.
 */
const SEQ_OFFSET_IN_PAYLOAD = KIND_BYTES;
const SEQ_OFFSET_IN_FRAME = FRAME_HEADER_BYTES + KIND_BYTES;
/** CONFIRM result 0, seq 0: each reply is a copy with its seq written in (no encoder on the hot path). */
const CONFIRM_TEMPLATE = Buffer.from(encodeMessage({ type: 'confirm', seq: 0, result: 0 }));
const PUSH_KINDS: ReadonlySet<number> = new Set([KIND.KEY, KIND.NO_KEY, KIND.KEY_DROPPED]);
const BARE_REPLY = Buffer.from([1]);

type Mode = 'protocol' | 'bare';

function fail(message: string): never {
  process.send?.({ error: message });
  process.exit(1);
}

/** One client; resolves once it is ready (see the module comment). */
function client(mode: Mode, socketPath: string): Promise<void> {
  return new Promise((ready, failed) => {
    const socket = net.connect(socketPath);
    const decoder = new FrameDecoder();
    let welcomed = false;
    let isReady = false;
    const becomeReady = (): void => {
      if (!isReady) {
        isReady = true;
        ready();
      }
    };
    socket.on('error', (e) => (isReady ? fail(`client socket error: ${e.message}`) : failed(e)));
    socket.on('close', () => {
      if (!isReady) failed(new Error('closed before ready'));
    });
    // Protocol mode: pick our protocol in the agent's version handshake, and skip its offer.
    let offerLeft = mode === 'bare' ? 0 : SERVICE_OFFER_BYTES;
    socket.on('connect', () => {
      if (mode === 'bare') becomeReady();
      else socket.write(nativeAccept('service'));
    });
    socket.on('data', (whole: Buffer) => {
      const skip = Math.min(offerLeft, whole.length);
      offerLeft -= skip;
      const chunk = whole.subarray(skip);
      if (chunk.length === 0) return;
      decoder.push(chunk);
      for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
        if (mode === 'bare') {
          releaseSecret(f.payload);
          socket.write(BARE_REPLY);
        } else if (!welcomed) {
          acceptWelcome(decodeFrame(f), 'service');
          welcomed = true;
        } else if (PUSH_KINDS.has(f.kind)) {
          const seq = new DataView(f.payload.buffer, f.payload.byteOffset).getBigUint64(SEQ_OFFSET_IN_PAYLOAD, true);
          releaseSecret(f.payload);
          const confirm = Buffer.from(CONFIRM_TEMPLATE);
          confirm.writeBigUInt64LE(seq, SEQ_OFFSET_IN_FRAME);
          socket.write(confirm);
          becomeReady();
        } else {
          fail(`unexpected frame kind 0x${f.kind.toString(16)} from the agent`);
        }
      }
    });
  });
}

async function main(): Promise<void> {
  const [mode, socketPath, countArg] = process.argv.slice(2);
  const count = Number(countArg);
  if ((mode !== 'protocol' && mode !== 'bare') || socketPath === undefined || !Number.isSafeInteger(count) || count < 1) {
    fail('usage: agent-swarm <protocol|bare> <socket> <count>');
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await client(mode, socketPath);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, worker));
  process.send?.({ ready: count });
  process.on('disconnect', () => process.exit(0));
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
