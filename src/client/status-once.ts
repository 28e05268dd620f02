/**
 * One STATUS on a connection of its own, over a blocking socket: what `kes-ctl status` asks,
 * over and over, from monitoring.
 *
 * The exchange is the control protocol's (spec/protocol.md §4), with the STATUS sent along with
 * the version answer: connect, check who is listening before a byte is sent, read the version
 * offer, answer our control version with the STATUS right behind it, then WELCOME and the reply.
 *
 * Why blocking: a process that lives for one request spent more time setting up node:net
 * (loading it, the stream machinery, its first write and close, the event loop turns) than on
 * the request. Here the socket comes from the kes_client addon (connect plus SO_PEERCRED, with
 * a receive and send timeout on the socket) and every read and write is one node:fs call, so
 * the process never loads node:net at all (scripts/bundle-bins.ts has the numbers).
 *
 * Every check is the shared one: verifyListener (who listens, and the socket's directory), the
 * offer cap, chooseVersion, FrameDecoder, decodeFrame, acceptWelcome, and the reply kinds
 * ControlClient.status expects. Failures are KesErrors with connectToAgent's and
 * ControlClient's codes, in shorter words: `kes-ctl status` hands any failure to the full CLI,
 * which asks again over node:net and reports it in full.
 */
import * as fs from 'node:fs';
import { KesError } from '../errors';
import { errnoOf } from '../platform/errno';
import {
  CONTROL_PROTOCOL_VERSION_COUNTER_FLOOR,
  FrameDecoder,
  acceptWelcome,
  decodeFrame,
  encodeMessage,
  nativeAccept,
  nativeVersionId,
  protocolVersions,
  statusReport,
  wipeMessage,
  type Message,
  type StatusReport,
} from '../protocol';
import { HaskellProtocolError, chooseVersion, splitOffer } from '../protocol/haskell';
import { loadClientSocket } from '../native/client-socket';
import { defaultAgentTrust, verifyListener, type AgentTrust } from './agent-identity';
import { assertPath, connectFailure, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './connect';
import { AgentRefusedError, REPLY_TIMEOUT_MS } from './control-client';

/**
 * The whole exchange, connect to reply: the handshake's and the reply's waits ControlClient
 * allows. Also each read's own limit (SO_RCVTIMEO), so a stalled agent is seen after at most one
 * more read than the deadline allows.
 */
export const STATUS_ONCE_TIMEOUT_MS = DEFAULT_HANDSHAKE_TIMEOUT_MS + REPLY_TIMEOUT_MS;

/** One read(2) at most; the replies are far smaller. @default 65536 */
const READ_CHUNK_BYTES = 65_536;

export interface StatusOnceOptions {
  socketPath: string;
  /** Which uids the agent may run as besides root and ours. @default defaultAgentTrust() */
  trust?: AgentTrust;
  /** @default STATUS_ONCE_TIMEOUT_MS */
  timeoutMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** The agent's status; blocks until it is in or the exchange fails. @throws KesError */
export function statusOnce(opts: StatusOnceOptions): StatusReport {
  const { socketPath } = opts;
  assertPath(socketPath);
  const timeoutMs = opts.timeoutMs ?? STATUS_ONCE_TIMEOUT_MS;
  const now = opts.now ?? Date.now;
  const trust = opts.trust ?? defaultAgentTrust();
  const deadline = now() + timeoutMs;
  let socket;
  try {
    socket = loadClientSocket().connectUnix(socketPath, timeoutMs);
  } catch (e) {
    throw e instanceof KesError ? e : connectFailure(socketPath, e);
  }
  const frames = new FrameDecoder({ receivesSecrets: false });
  try {
    verifyListener(socket, socketPath, trust);
    return exchange(new BlockingReader(socket.fd, socketPath, deadline, now), frames, socketPath);
  } catch (e) {
    // The frame decoder's and the handshake check's ProtocolErrors, as connectToAgent words them.
    throw e instanceof KesError ? e : new KesError('AGENT_PROTOCOL', `${socketPath}: the agent's answer could not be decoded as the control protocol`);
  } finally {
    frames.destroy();
    fs.closeSync(socket.fd);
  }
}

/** Reads from a blocking descriptor, each within the socket's timeout and all within `deadline`. */
class BlockingReader {
  readonly #chunk = Buffer.alloc(READ_CHUNK_BYTES);

  constructor(
    readonly fd: number,
    private readonly socketPath: string,
    private readonly deadline: number,
    private readonly now: () => number,
  ) {}

  /** What one read(2) brought: a view of the reader's chunk, valid until the next read. */
  read(): Buffer {
    if (this.now() > this.deadline) throw this.#timeout();
    let n: number;
    try {
      n = fs.readSync(this.fd, this.#chunk, 0, this.#chunk.length, null);
    } catch (e) {
      throw errnoOf(e) === 'EAGAIN' ? this.#timeout() : new KesError('AGENT_CONNECTION_LOST', `${this.socketPath}: the connection failed during status (${errnoOf(e)})`);
    }
    if (n === 0) throw new KesError('AGENT_CONNECTION_LOST', `${this.socketPath}: the agent closed the connection during status`);
    return this.#chunk.subarray(0, n);
  }

  write(bytes: Uint8Array): void {
    try {
      for (let at = 0; at < bytes.length; ) at += fs.writeSync(this.fd, bytes, at);
    } catch (e) {
      throw new KesError('AGENT_CONNECTION_LOST', `${this.socketPath}: the connection failed during status (${errnoOf(e)})`);
    }
  }

  #timeout(): KesError {
    return new KesError('AGENT_TIMEOUT', `${this.socketPath}: no status within the deadline`);
  }
}

function exchange(io: BlockingReader, frames: FrameDecoder, socketPath: string): StatusReport {
  const failed = (why: string): KesError => new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: ${why}`);

  // The offer, read until it is whole.
  let offer = Buffer.from(io.read());
  let split: { ids: Uint8Array[]; end: number } | undefined;
  try {
    while ((split = splitOffer(offer)) === undefined) offer = Buffer.concat([offer, io.read()]);
  } catch (e) {
    throw e instanceof HaskellProtocolError ? failed(e.message) : e;
  }
  const { ids, end } = split;
  if (chooseVersion(ids, [nativeVersionId('control')]) === undefined) throw failed('the agent does not offer our control protocol');
  io.write(Buffer.concat([nativeAccept('control'), encodeMessage({ type: 'status' })]));

  // WELCOME, then the reply; bytes after the offer are the first of them.
  let version: number | undefined;
  let bytes: Uint8Array = offer.subarray(end);
  for (;;) {
    if (bytes.length > 0) frames.push(bytes);
    for (let f = frames.next(); f !== undefined; f = frames.next()) {
      const m = decodeFrame(f);
      try {
        if (version === undefined) {
          version = acceptWelcome(m, 'control', protocolVersions('control'));
          continue;
        }
        return statusReply(m, version, socketPath);
      } finally {
        wipeMessage(m);
      }
    }
    bytes = io.read();
  }
}

/** ControlClient.status's expectation: STATUS_OK on a version 1 connection, else V3 or V2. */
function statusReply(m: Message, version: number, socketPath: string): StatusReport {
  if (m.type === 'error') throw new AgentRefusedError('status', m.code, m.message);
  const v1 = version < CONTROL_PROTOCOL_VERSION_COUNTER_FLOOR;
  if ((m.type === 'status_ok_v3' || m.type === 'status_ok_v2') && !v1) return statusReport(m);
  if (m.type === 'status_ok' && v1) return statusReport(m);
  throw new KesError('AGENT_PROTOCOL', `${socketPath}: the agent answered status with ${m.type.toUpperCase()}`);
}
