/**
 * One kes-agent-control session on the Haskell Control protocol
 * (kes-agent/src/Cardano/KESAgent/Processes/ControlClient.hs `runControlClient1`):
 *   connect (retried as --retry-* say: Util/RetrySocket.hs `retrySocketWith`);
 *   check who listens (client/agent-identity.ts), before anything is sent;
 *   read the agent's VersionOfferMessage, pick the newest Control version we speak that it
 *   offers (V3 > V2 > V1 > V0), send the accept;
 *   send the VersionMessage and ONE command, read the reply, close.
 * The bytes are the codec's (src/protocol/haskell); this module turns its failures into
 * KesErrors that name the socket and what went wrong.
 */
import type * as net from 'node:net';
import { verifyAgent, type AgentTrust } from '../../client/agent-identity';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, assertPath, openSocket } from '../../client/connect';
import { KesError } from '../../errors';
import {
  ByteReader,
  CONTROL_OFFER,
  CONTROL_VERSION_IDS,
  HaskellProtocolError,
  PeerClosedError,
  ReadTimeoutError,
  chooseVersion,
  controlVersionId,
  controlVersionOf,
  encodeAccept,
  encodeControlRequest,
  encodeControlVersionMessage,
  encodeReject,
  knownVersion,
  readOffer,
  versionName,
  writeBytes,
  type ControlVersion,
  type WireOCertInput,
} from '../../protocol/haskell';
import { MAX_EXPONENTIAL_DELAY_MS, type Retry } from './options';

/** Where progress goes: stderr, so that `--kes-verification-key-file -` output stays clean. */
export interface SessionLog {
  /** -v 1 and above: the Haskell tool's retry message. */
  retry(remaining: number): void;
  /** -v 2 and above. */
  trace(line: string): void;
}

export function sessionLog(stderr: NodeJS.WritableStream, bin: string, verbosity: number): SessionLog {
  return {
    retry: (n) => {
      if (verbosity > 0) stderr.write(`Connection to agent failed, will try again ${n} more time${n === 1 ? '' : 's'}\n`);
    },
    trace: (line) => {
      if (verbosity > 1) stderr.write(`${bin}: ${line}\n`);
    },
  };
}

export interface SessionOptions {
  socketPath: string;
  trust: AgentTrust;
  retry: Retry;
  log: SessionLog;
}

export type ControlCommand =
  | { cmd: 'GenStagedKeyCmd' | 'QueryStagedKeyCmd' | 'DropStagedKeyCmd' | 'RequestInfoCmd' | 'DropKeyCmd' }
  | { cmd: 'InstallKeyCmd'; ocert: WireOCertInput };

/** The versions we speak, newest first: Haskell's `controlClientDrivers` order. */
export const CONTROL_PREFERENCE: readonly ControlVersion[] = CONTROL_OFFER;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connect, retrying a failed connect `retry.attempts` times (a refused identity check is not retried). */
async function connectWithRetry(opts: SessionOptions): Promise<net.Socket> {
  let remaining = opts.retry.attempts;
  let delay = opts.retry.intervalMs;
  for (;;) {
    try {
      return await openSocket(opts.socketPath, DEFAULT_CONNECT_TIMEOUT_MS, undefined);
    } catch (e) {
      if (remaining <= 0 || !(e instanceof KesError)) throw e;
      opts.log.trace(`connect failed: ${e.message}`);
      opts.log.retry(remaining);
      await sleep(delay);
      if (opts.retry.exponential) delay = Math.min(MAX_EXPONENTIAL_DELAY_MS, delay * 2);
      remaining--;
    }
  }
}

function describeOffer(offer: readonly Uint8Array[]): string {
  if (offer.length === 0) return 'nothing';
  return offer.map((id) => versionName(id) ?? 'an unknown identifier').join(', ');
}

export class ControlSession {
  private constructor(
    readonly socketPath: string,
    private readonly socket: net.Socket,
    private readonly reader: ByteReader,
    /** The negotiated version. */
    readonly version: ControlVersion,
    private readonly log: SessionLog,
  ) {}

  /** Its identifier, e.g. "Control:3.0". */
  get versionName(): string {
    return CONTROL_VERSION_IDS[this.version];
  }

  /**
   * Connect, check the listener, and complete the version handshake (the accept is sent).
   * @throws KesError AGENT_SOCKET_MISSING / AGENT_SOCKET_DENIED / AGENT_UNREACHABLE (no agent),
   *   AGENT_NOT_TRUSTED (nothing sent), AGENT_HANDSHAKE_FAILED / AGENT_HANDSHAKE_TIMEOUT.
   */
  static async open(opts: SessionOptions): Promise<ControlSession> {
    const { socketPath, log } = opts;
    assertPath(socketPath);
    log.trace(`connecting to ${socketPath}`);
    const socket = await connectWithRetry(opts);
    let reader: ByteReader | undefined;
    try {
      const cred = verifyAgent(socket, socketPath, opts.trust);
      log.trace(`connected; the listener runs as uid ${cred.uid} (pid ${cred.pid})`);
      reader = new ByteReader(socket);
      const offer = await readOfferOrFail(reader, socketPath);
      log.trace(`the agent offers ${describeOffer(offer)}`);
      const chosen = chooseVersion(offer, CONTROL_PREFERENCE.map(controlVersionId));
      const version = chosen === undefined ? undefined : controlVersionOf(chosen);
      if (chosen === undefined || version === undefined) {
        // Haskell's versionHandshakeClient answers Nothing, then fails.
        await writeBytes(socket, encodeReject()).catch(() => undefined);
        throw new KesError('AGENT_HANDSHAKE_FAILED', noCommonVersion(socketPath, offer));
      }
      await writeOrFail(socket, encodeAccept(chosen), socketPath, 'the version handshake');
      log.trace(`using ${CONTROL_VERSION_IDS[version]}`);
      return new ControlSession(socketPath, socket, reader, version, log);
    } catch (e) {
      reader?.destroy();
      socket.destroy();
      throw e;
    }
  }

  /**
   * Send the VersionMessage and `command`, and read its reply with `read`. `what` names the
   * command in errors ("gen-staged-key").
   * @throws KesError AGENT_CONNECTION_LOST (closed before or during the reply), AGENT_PROTOCOL (undecodable reply).
   */
  async request<T>(command: ControlCommand, what: string, read: (r: ByteReader) => Promise<T>): Promise<T> {
    const bytes = Buffer.concat([encodeControlVersionMessage(this.version), encodeControlRequest(command)]);
    await writeOrFail(this.socket, bytes, this.socketPath, what);
    this.log.trace(`sent ${command.cmd} (${bytes.length} bytes)`);
    try {
      const reply = await read(this.reader);
      this.log.trace(`reply to ${command.cmd} received`);
      return reply;
    } catch (e) {
      throw replyFailure(this.socketPath, what, e);
    }
  }

  /** End the session (the Haskell tool's End: close the connection). */
  close(): void {
    this.reader.destroy();
    this.socket.destroy();
  }
}

async function readOfferOrFail(reader: ByteReader, socketPath: string): Promise<Uint8Array[]> {
  try {
    return await readOffer(reader, { timeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS });
  } catch (e) {
    if (e instanceof ReadTimeoutError) {
      throw new KesError(
        'AGENT_HANDSHAKE_TIMEOUT',
        `${socketPath}: no protocol version offer within ${e.timeoutMs} ms; is this the control socket of an agent that speaks the Haskell kes-agent protocol?`,
      );
    }
    if (e instanceof PeerClosedError) {
      throw new KesError(
        'AGENT_HANDSHAKE_FAILED',
        `${socketPath}: the agent closed the connection ${e.clean ? 'before offering' : 'in the middle of its offer of'} protocol versions (too many connections, or not a kes-agent control socket?)`,
      );
    }
    if (e instanceof HaskellProtocolError) {
      throw new KesError('AGENT_HANDSHAKE_FAILED', `${socketPath}: the version offer cannot be decoded (${e.code}: ${e.message}); is this a kes-agent control socket?`);
    }
    throw e;
  }
}

function noCommonVersion(socketPath: string, offer: readonly Uint8Array[]): string {
  const ours = CONTROL_PREFERENCE.map((v) => CONTROL_VERSION_IDS[v]).join(', ');
  const service = offer.some((id) => knownVersion(id)?.protocol === 'service');
  const hint = service ? `: this is an agent's service socket, not its control socket` : '; upgrade the older side';
  return `${socketPath}: the agent offers ${describeOffer(offer)}, and this tool speaks only ${ours}${hint}`;
}

async function writeOrFail(socket: net.Socket, bytes: Uint8Array, socketPath: string, what: string): Promise<void> {
  try {
    await writeBytes(socket, bytes);
  } catch (e) {
    if (e instanceof PeerClosedError) throw new KesError('AGENT_CONNECTION_LOST', `${socketPath}: the agent closed the connection before ${what} was sent`);
    throw e;
  }
}

function replyFailure(socketPath: string, what: string, e: unknown): unknown {
  if (e instanceof PeerClosedError) {
    return new KesError(
      'AGENT_CONNECTION_LOST',
      e.clean
        ? `${socketPath}: the agent closed the connection without answering ${what} (see the agent's log)`
        : `${socketPath}: the agent closed the connection in the middle of its reply to ${what}`,
    );
  }
  if (e instanceof HaskellProtocolError) {
    return new KesError('AGENT_PROTOCOL', `${socketPath}: the agent's reply to ${what} cannot be decoded (${e.code}: ${e.message})`);
  }
  return e;
}
