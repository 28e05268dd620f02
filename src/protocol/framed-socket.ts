/**
 * A message-level view of one Unix socket, shared by the agent and every client.
 *
 * Receiving is pull-based (`receive()`), so each side is a plain async loop and nothing can be
 * handled re-entrantly; or, where a server holds many connections that each send little (the
 * service socket's nodes), callback-based (`deliver()`): each message is handed to a callback
 * as it is decoded, with no promise per message. Sending a KEY frame wipes the frame once the
 * socket has written it.
 */
import type * as net from 'node:net';
import { releaseSecret } from '../crypto/secret-memory';
import { ERROR_LINGER_MS, FRAME_HEADER_BYTES, KINDS_WITH_SECRET } from './constants';
import { ProtocolError } from './errors';
import { FrameDecoder } from './frame';
import { decodeFrame, encodeMessage, type Message, type OutgoingMessage } from './messages';

/** Why `receive()` gave up without a message. */
export class ConnectionClosedError extends Error {
  static override readonly name = 'ConnectionClosedError';
  /** True when the peer closed between frames; false when it closed mid-frame. */
  readonly clean: boolean;
  constructor(clean: boolean) {
    super(clean ? 'the peer closed the connection' : 'the peer closed the connection in the middle of a frame');
    this.name = 'ConnectionClosedError';
    this.clean = clean;
  }
}

export class ReceiveTimeoutError extends Error {
  static override readonly name = 'ReceiveTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`no message within ${timeoutMs} ms`);
    this.name = 'ReceiveTimeoutError';
  }
}

/** A KEY copy refused because this connection already holds its quota of them. */
export class KeyCopyQuotaError extends Error {
  static override readonly name = 'KeyCopyQuotaError';
  constructor(readonly quota: number) {
    super(`the connection already holds ${quota} unwritten key frames`);
    this.name = 'KeyCopyQuotaError';
  }
}

/**
 * Messages a connection hands out back to back, from what it has already read, before it lets
 * the event loop run once. Without it, one peer's buffered frames are handled in a single chain
 * of microtasks, and every other connection (and timer) waits until it is done.
 * @default 16
 */
export const MESSAGES_PER_TURN = 16;

type Waiter = { resolve: (m: Message) => void; reject: (e: Error) => void };

export class FramedSocket {
  readonly socket: net.Socket;
  readonly #decoder: FrameDecoder;
  /** Messages decoded but not handed out: only those left when the connection closed. */
  readonly #inbox: Message[] = [];
  readonly #kept: Message[] = [];
  #waiter: Waiter | undefined;
  #failure: Error | undefined;
  #lingering = false;
  /** Messages handed out from the inbox since the last turn of the event loop. */
  #turn = 0;
  /** deliver() mode: where each message goes, and where the end goes (once). */
  #onMessage: ((m: Message) => void) | undefined;
  #onEnd: ((e: Error) => void) | undefined;
  #pumping = false;
  /** The failure is the peer's close (end or close event), not a reset or a bad frame. */
  #eof = false;
  #yieldScheduled = false;
  #ended = false;
  /** Shared KEY frames written (postShared) but not yet taken by the kernel. */
  #keyCopies = 0;
  readonly #keyCopyQuota: number;

  /**
   * `receivesSecrets`: true only where KEY frames arrive (a node's end of the service socket);
   * on the agent's side a KEY-kind frame is refused before any locked memory is spent on it.
   * `keyCopyQuota`: how many KEY frames (postShared) may wait for the kernel at once on this
   * connection, each keeping a locked frame alive; the next one is refused with
   * KeyCopyQuotaError. Unlimited when absent.
   */
  constructor(socket: net.Socket, opts: { receivesSecrets: boolean; keyCopyQuota?: number }) {
    this.socket = socket;
    this.#keyCopyQuota = opts.keyCopyQuota ?? Number.POSITIVE_INFINITY;
    this.#decoder = new FrameDecoder(opts);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#fail(new ConnectionClosedError(this.#decoder.atFrameBoundary), true));
    socket.on('close', () => {
      this.#fail(new ConnectionClosedError(this.#decoder.atFrameBoundary), true);
      // A key nobody took is wiped with the connection. Anything else that arrived before the
      // close is still handed out: an agent's closing ERROR, read while nobody was waiting, must
      // not turn into a bare "connection closed". (At most one read's worth of frames.)
      for (let m = this.#take(); m !== undefined; m = this.#take()) {
        if (m.type === 'key') wipeMessage(m);
        else this.#kept.push(m);
      }
      this.#inbox.push(...this.#kept.splice(0));
      this.#decoder.destroy();
    });
    // EPIPE / ECONNRESET must never crash a daemon: they end this connection only.
    socket.on('error', () => this.#fail(new ConnectionClosedError(false)));
  }

  /** The next message from the peer. Rejects with ProtocolError, ConnectionClosedError or ReceiveTimeoutError. */
  receive(timeoutMs?: number): Promise<Message> {
    if (this.#onMessage !== undefined) return Promise.reject(new Error('FramedSocket.receive() called on a connection in deliver() mode'));
    // Frames already read are decoded one at a time, when asked for: a peer that sends a burst
    // of frames and then breaks the protocol costs the decoding of one frame, not of the burst.
    const queued = this.#take();
    if (queued !== undefined) {
      if (this.#inbox.length === 0 && this.#decoder.pendingFrames === 0 && this.#decoder.unsplitBytes === 0) this.#resumeReading();
      if (++this.#turn < MESSAGES_PER_TURN) return Promise.resolve(queued);
      this.#turn = 0;
      return new Promise((resolve) => setImmediate(() => resolve(queued)));
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    this.#resumeReading();
    if (this.#waiter !== undefined) return Promise.reject(new Error('FramedSocket.receive() called while another receive() is pending'));
    return new Promise<Message>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.#waiter = undefined;
      };
      this.#waiter = {
        resolve: (m) => { done(); resolve(m); },
        reject: (e) => { done(); reject(e); },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => this.#waiter?.reject(new ReceiveTimeoutError(timeoutMs)), timeoutMs);
      }
    });
  }

  /**
   * Hand every message to `onMessage` as it is decoded, in order, instead of receive(); then
   * `onEnd` once, with why the connection ended: ConnectionClosedError, a ProtocolError (bad
   * frame), or whatever `onMessage` threw (nothing more is delivered after it). After a close,
   * messages already read are still delivered before `onEnd`. As with receive(), a connection
   * hands out MESSAGES_PER_TURN messages and then lets the event loop run, and stops reading
   * while messages wait.
   */
  deliver(onMessage: (m: Message) => void, onEnd: (e: Error) => void): void {
    if (this.#onMessage !== undefined || this.#waiter !== undefined) throw new Error('FramedSocket.deliver() on a connection already being read');
    this.#onMessage = onMessage;
    this.#onEnd = onEnd;
    this.#pump();
  }

  /**
   * Send one message; resolves when the socket has written it. A frame carrying a key is wiped
   * after the write completes (or fails).
   */
  send(msg: OutgoingMessage): Promise<void> {
    return this.#write(encodeMessage(msg), msg.type === 'key');
  }

  /**
   * Write `frame` as it is, with no copy: the caller keeps it alive and unchanged until `done` is
   * called, and wipes it after. For one KEY frame pushed to many connections: one locked copy
   * shared by all of them instead of one each. While it waits for the kernel it counts against
   * the key copy quota, as a copy would.
   */
  postShared(frame: Uint8Array, done: (err?: Error) => void): void {
    if (!carriesSecret(frame)) {
      this.#writeThen(frame, false, done);
      return;
    }
    if (this.#keyCopies >= this.#keyCopyQuota) {
      done(new KeyCopyQuotaError(this.#keyCopyQuota));
      return;
    }
    this.#keyCopies++;
    this.#writeThen(frame, false, (err) => {
      this.#keyCopies--;
      done(err);
    });
  }

  #write(frame: Uint8Array, secret: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#writeThen(frame, secret, (err) => (err === undefined ? resolve() : reject(err))));
  }

  /** Write `frame`; `done` once, when written or failed. A secret frame is wiped either way. */
  #writeThen(frame: Uint8Array, secret: boolean, done: (err?: Error) => void): void {
    if (this.socket.destroyed || !this.socket.writable) {
      if (secret) releaseSecret(frame);
      done(new ConnectionClosedError(true));
      return;
    }
    try {
      this.socket.write(frame, (err) => {
        if (secret) releaseSecret(frame);
        done(err ? new ConnectionClosedError(false) : undefined);
      });
    } catch (e) {
      // Nothing was queued, so the callback will not come: `done` still comes once, and a
      // secret frame is still wiped.
      if (secret) releaseSecret(frame);
      done(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Bytes accepted by `send()` but not yet handed to the kernel (a node that stopped reading). */
  get pendingWriteBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Send ERROR after whatever is still queued, and close as soon as the kernel has taken it; a
   * peer that is not reading gets ERROR_LINGER_MS before the socket is destroyed anyway. A
   * destroy() meanwhile is left to this: destroying at once would throw away the ERROR (and
   * earlier replies) whenever they were still queued in this process.
   *
   * On a Unix socket a written frame is already in the peer's receive queue, so closing right
   * after the write loses nothing: the peer reads the ERROR before it sees the close (or
   * ECONNRESET, when we close with its later bytes unread). Nothing more from the peer is read
   * or decoded: a peer that keeps sending after its ERROR (a flood) costs no more CPU.
   */
  closeWithError(code: number, message: string): Promise<void> {
    if (this.#lingering) return Promise.resolve();
    this.#lingering = true;
    this.#fail(new ConnectionClosedError(true));
    this.socket.pause();
    this.#decoder.destroy();
    for (const m of this.#inbox.splice(0)) wipeMessage(m);
    const timer = setTimeout(() => this.socket.destroy(), ERROR_LINGER_MS);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
    try {
      if (this.socket.writable) this.socket.end(encodeMessage({ type: 'error', code, message }), () => this.socket.destroy());
      else this.socket.destroy();
    } catch {
      this.socket.destroy(); // the peer is gone already; nothing to tell it
    }
    return Promise.resolve();
  }

  close(): void {
    this.socket.end();
  }

  /** Close now, unless a closing ERROR is on its way (closeWithError destroys after its linger). */
  destroy(): void {
    if (!this.#lingering) this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#failure !== undefined) {
      chunk.fill(0);
      return;
    }
    this.#decoder.push(chunk); // copies, then wipes the chunk
    if (this.#onMessage !== undefined) {
      this.#pump();
      return;
    }
    if (this.#waiter !== undefined) {
      const m = this.#take(); // a bad frame rejects the waiter instead
      if (m !== undefined) {
        this.#turn = 0; // delivered from a read: the event loop has run since the last one
        this.#waiter.resolve(m);
      }
    }
    // Frames nobody asked for yet stay undecoded and reading stops until they are taken: a peer
    // that sends faster than its messages are handled fills its own socket buffer, not the
    // agent's memory or CPU. The decoder holds at most what one read chunk brings.
    if (this.#decoder.pendingFrames > 0) this.socket.pause();
  }

  /**
   * The next message: one left from before a close, else the next complete frame, decoded now;
   * undefined when there is none. A bad frame fails the connection (and rejects a waiter).
   */
  #take(): Message | undefined {
    const queued = this.#inbox.shift();
    if (queued !== undefined) return queued;
    if (this.#failure instanceof ProtocolError) return undefined; // nothing after a bad frame
    let f;
    try {
      f = this.#decoder.next(); // throws the length-field error once the frames before it are out
    } catch (e) {
      this.#fail(e instanceof ProtocolError ? e : new ProtocolError('MALFORMED_FRAME', 'undecodable frame'));
      return undefined;
    }
    if (f === undefined) return undefined;
    try {
      return decodeFrame(f);
    } catch (e) {
      this.#fail(e instanceof ProtocolError ? e : new ProtocolError('MALFORMED_FRAME', 'undecodable frame'));
      return undefined;
    } finally {
      // The payload is ours once next() returns it, and the decoded message holds copies. A
      // KEY-kind payload is a slice of a locked arena: without this, every KEY-kind frame a
      // peer sends (valid or not) would keep up to 64 KiB of locked memory for good.
      releaseSecret(f.payload);
    }
  }

  /** Anything read and not handed out yet. */
  #hasQueued(): boolean {
    return this.#inbox.length > 0 || this.#decoder.pendingFrames > 0 || this.#decoder.unsplitBytes > 0;
  }

  /** deliver() mode: hand out what has been read (MESSAGES_PER_TURN at a time); report the end once. */
  #pump(): void {
    const onMessage = this.#onMessage;
    if (onMessage === undefined || this.#pumping || this.#ended) return;
    this.#pumping = true;
    try {
      let handed = 0;
      // After a close, what was read is still handed out; after any other failure, nothing.
      while (this.#failure === undefined || this.#failure instanceof ConnectionClosedError) {
        if (this.#failure === undefined && handed >= MESSAGES_PER_TURN && this.#hasQueued()) {
          this.socket.pause();
          if (!this.#yieldScheduled) {
            this.#yieldScheduled = true;
            setImmediate(() => {
              this.#yieldScheduled = false;
              this.#pump();
            });
          }
          return;
        }
        const m = this.#take(); // a bad frame fails the connection instead
        if (m === undefined) break;
        handed++;
        try {
          onMessage(m);
        } catch (e) {
          this.#fail(e instanceof Error ? e : new Error(String(e)));
          break;
        }
      }
    } finally {
      this.#pumping = false;
    }
    let failure = this.#failure;
    if (failure !== undefined) {
      this.#ended = true;
      // Frames still waiting when the peer closed were handed out above: judge the close now.
      if (this.#eof && failure instanceof ConnectionClosedError) failure = new ConnectionClosedError(this.#decoder.atFrameBoundary);
      this.#onEnd?.(failure);
    } else {
      this.#resumeReading();
    }
  }

  #resumeReading(): void {
    if (this.#failure === undefined && !this.#lingering && this.socket.isPaused()) this.socket.resume();
  }

  /** `eof`: the peer closed (not a reset): whether it closed mid-frame is known once what it sent is handed out. */
  #fail(e: Error, eof = false): void {
    if (this.#failure !== undefined) return;
    this.#failure = e;
    this.#eof = eof;
    this.#waiter?.reject(e);
    this.#pump(); // deliver() mode: what was read before a close, then the end
  }
}

/** True for a whole frame (from encodeMessage) of a kind that carries a key: it must be wiped after use. */
export function carriesSecret(frame: Uint8Array): boolean {
  return KINDS_WITH_SECRET.has(frame[FRAME_HEADER_BYTES]!);
}

/** Wipe the secret a decoded message may carry (a KEY nobody consumed). */
export function wipeMessage(m: Message): void {
  if (m.type === 'key') releaseSecret(m.secret);
}
