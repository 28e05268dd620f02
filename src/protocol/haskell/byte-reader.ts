/**
 * Sequential exact reads from a stream socket, for the Haskell kes-agent protocols, which have no
 * framing: the reader asks for the next n bytes, as the Haskell drivers do with `recv`
 * (kes-agent/src/Cardano/KESAgent/Serialization/RawUtil.hs `receiveBS`, `unsafeReceiveN`).
 *
 * - Bounded: at most MAX_READER_BUFFERED_BYTES (or the read in progress, if larger) are held;
 *   beyond that the socket is paused, so a fast peer fills its own socket buffer.
 * - Wiped: every byte is zeroed in the socket's chunk as soon as it is consumed (copied out), and
 *   every unconsumed byte when the reader stops. A secret read lands in allocSecret() memory.
 * - EOF: a close exactly at a message boundary (see beginMessage) is a clean close; a close with
 *   part of a message read is a short read. Both reject with PeerClosedError (`clean` tells which).
 * - Handover: detach() stops reading and returns the bytes received but not consumed, so the
 *   socket can go to another protocol's reader after the version handshake; handOver() puts them
 *   back into the socket with `unshift`, for a reader that attaches its own 'data' listener.
 */
import type * as net from 'node:net';
import { allocSecret } from '../../crypto/secret-memory';
import { MAX_READER_BUFFERED_BYTES } from './constants';
import { HaskellProtocolError, PeerClosedError, ReadTimeoutError } from './errors';

export interface ReadOptions {
  /** Land the bytes in allocSecret() memory; the caller releases them with releaseSecret(). */
  secret?: boolean;
  /** Reject with ReadTimeoutError when the bytes are not all there within this many ms. */
  timeoutMs?: number;
}

export interface ByteReaderOptions {
  /** Pause the socket above this many buffered bytes. @default MAX_READER_BUFFERED_BYTES */
  maxBufferedBytes?: number;
}

/** What detach() leaves: the unconsumed bytes (plain memory, the caller's) and whether EOF was seen. */
export interface Detached {
  leftover: Uint8Array;
  /** The peer had already closed: nothing more will arrive, and unshift is no longer possible. */
  ended: boolean;
}

interface Pending {
  n: number;
  secret: boolean;
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

type Failure = { kind: 'eof' } | { kind: 'socket-error' } | { kind: 'detached' };

export class ByteReader {
  readonly socket: net.Socket;
  readonly #max: number;
  /** Unconsumed parts of received chunks, oldest first (views into the socket's chunks). */
  #chunks: Buffer[] = [];
  #buffered = 0;
  #pending: Pending | undefined;
  #failure: Failure | undefined;
  /** Bytes consumed since the last beginMessage(): 0 means we stand on a message boundary. */
  #consumedInMessage = 0;
  /** We paused the socket for the cap (and must resume it). */
  #pausedByUs = false;
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);
  readonly #onEnd = (): void => this.#fail({ kind: 'eof' });
  readonly #onClose = (): void => this.#fail({ kind: 'eof' });
  readonly #onError = (): void => this.#fail({ kind: 'socket-error' });

  constructor(socket: net.Socket, opts: ByteReaderOptions = {}) {
    this.socket = socket;
    this.#max = opts.maxBufferedBytes ?? MAX_READER_BUFFERED_BYTES;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    // EPIPE / ECONNRESET end this connection only; never an unhandled 'error'.
    socket.on('error', this.#onError);
    if (socket.isPaused()) socket.resume();
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.#buffered;
  }

  /** True when nothing of the current message has been read yet. */
  get atMessageBoundary(): boolean {
    return this.#consumedInMessage === 0;
  }

  /**
   * Mark a message boundary: an EOF before the next byte is consumed is a clean close. Every
   * top-level decoder calls this first.
   */
  beginMessage(): void {
    this.#consumedInMessage = 0;
  }

  /**
   * The next `n` bytes. Rejects with PeerClosedError (EOF or socket error), ReadTimeoutError, or
   * HaskellProtocolError TOO_LARGE for `n` above the reader's cap (before anything is allocated).
   * One read at a time.
   */
  readExact(n: number, opts: ReadOptions = {}): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n < 0) return Promise.reject(new RangeError('readExact: bad length'));
    if (n > this.#max) return Promise.reject(new HaskellProtocolError('TOO_LARGE', `a read of ${n} bytes exceeds the ${this.#max}-byte reader cap`));
    if (this.#pending !== undefined) return Promise.reject(new Error('ByteReader.readExact() called while another read is pending'));
    const secret = opts.secret === true;
    if (this.#buffered >= n) {
      try {
        return Promise.resolve(this.#take(n, secret));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e))); // allocSecret at RLIMIT_MEMLOCK
      }
    }
    if (this.#failure !== undefined) return Promise.reject(this.#closedError());
    return new Promise<Uint8Array>((resolve, reject) => {
      const pending: Pending = { n, secret, resolve, reject, timer: undefined };
      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        pending.timer = setTimeout(() => {
          if (this.#pending !== pending) return;
          this.#pending = undefined;
          reject(new ReadTimeoutError(ms));
        }, ms);
      }
      this.#pending = pending;
      this.#resumeIfNeeded();
    });
  }

  async readU8(opts?: ReadOptions): Promise<number> {
    const b = await this.readExact(1, opts);
    return b[0]!;
  }

  async readU16(opts?: ReadOptions): Promise<number> {
    const b = await this.readExact(2, opts);
    return (b[0]! << 8) | b[1]!;
  }

  async readU32(opts?: ReadOptions): Promise<number> {
    const b = await this.readExact(4, opts);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
  }

  async readU64(opts?: ReadOptions): Promise<bigint> {
    const b = await this.readExact(8, opts);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, false);
  }

  async readI64(opts?: ReadOptions): Promise<bigint> {
    const b = await this.readExact(8, opts);
    return new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, false);
  }

  /**
   * A Bool: one byte, 0 or 1; anything else is `ReadMalformed "Bool"`
   * (kes-agent/src/Cardano/KESAgent/Serialization/DirectCodec.hs, `Serializable … Bool`).
   */
  async readBool(opts?: ReadOptions): Promise<boolean> {
    const b = await this.readU8(opts);
    if (b === 0) return false;
    if (b === 1) return true;
    throw new HaskellProtocolError('MALFORMED', 'a Bool byte that is neither 0 nor 1');
  }

  /** `Maybe a`: a Bool, then `a` when it is True (DirectCodec.hs, `Serializable … (Maybe a)`). */
  async readMaybe<T>(readValue: () => Promise<T>, opts?: ReadOptions): Promise<T | undefined> {
    return (await this.readBool(opts)) ? readValue() : undefined;
  }

  /**
   * Stop reading: the socket is paused and our listeners removed; a pending read rejects with
   * PeerClosedError('detached'). Returns the received, unconsumed bytes (copied into plain memory:
   * they are protocol bytes of the next reader, never secrets of ours; the chunks are wiped).
   */
  detach(): Detached {
    const ended = this.#failure?.kind === 'eof' || this.socket.readableEnded;
    this.socket.pause();
    this.#pausedByUs = false;
    this.socket.off('data', this.#onData);
    this.socket.off('end', this.#onEnd);
    this.socket.off('close', this.#onClose);
    this.socket.off('error', this.#onError);
    const leftover = this.#take(this.#buffered, false);
    this.#failure = { kind: 'detached' };
    this.#rejectPending(new PeerClosedError(false, 'detached'));
    return { leftover, ended };
  }

  /**
   * detach(), then put the leftover bytes back at the front of the socket's readable buffer, so
   * the next reader's 'data' listener gets them first. The socket is left paused: the next
   * reader must call `socket.resume()` (FramedSocket does on its first receive()). When the peer
   * has already closed, nothing can be unshifted: returns `ended: true` and the caller should
   * close the connection (the leftover is wiped).
   */
  handOver(): { ended: boolean; leftoverBytes: number } {
    const { leftover, ended } = this.detach();
    const leftoverBytes = leftover.length;
    if (ended) {
      leftover.fill(0);
      return { ended: true, leftoverBytes };
    }
    if (leftover.length > 0) this.socket.unshift(Buffer.from(leftover.buffer, leftover.byteOffset, leftover.length));
    return { ended: false, leftoverBytes };
  }

  /** Stop reading and wipe whatever is buffered (the session is over). */
  destroy(): void {
    this.detach().leftover.fill(0);
  }

  #data(chunk: Buffer): void {
    if (this.#failure !== undefined) {
      chunk.fill(0);
      return;
    }
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#satisfy();
    if (this.#buffered >= this.#max && !(this.#pending !== undefined && this.#pending.n > this.#buffered)) {
      this.socket.pause();
      this.#pausedByUs = true;
    }
  }

  #satisfy(): void {
    const p = this.#pending;
    if (p === undefined || this.#buffered < p.n) return;
    this.#pending = undefined;
    if (p.timer !== undefined) clearTimeout(p.timer);
    let out: Uint8Array;
    try {
      out = this.#take(p.n, p.secret);
    } catch (e) {
      p.reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    p.resolve(out);
  }

  /** Copy `n` buffered bytes out (secret → allocSecret), wiping them in the chunks. */
  #take(n: number, secret: boolean): Uint8Array {
    const out = secret ? allocSecret(n) : new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      c.fill(0, 0, k);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    this.#consumedInMessage += n;
    this.#resumeIfNeeded();
    return out;
  }

  #resumeIfNeeded(): void {
    if (this.#failure !== undefined) return;
    const want = this.#pending !== undefined && this.#pending.n > this.#buffered;
    if (this.#pausedByUs && (this.#buffered < this.#max || want)) {
      this.#pausedByUs = false;
      this.socket.resume();
    }
  }

  #closedError(): PeerClosedError {
    const f = this.#failure;
    if (f?.kind === 'detached') return new PeerClosedError(false, 'detached');
    const clean = this.#buffered === 0 && this.#consumedInMessage === 0;
    return new PeerClosedError(f?.kind === 'socket-error' ? false : clean, f?.kind === 'socket-error' ? 'socket-error' : 'eof');
  }

  #fail(f: Failure): void {
    if (this.#failure !== undefined) return;
    this.#failure = f;
    // A read that the buffered bytes can still satisfy already has been; what is pending now needs
    // more than will ever come.
    if (this.#pending !== undefined) this.#rejectPending(this.#closedError());
  }

  #rejectPending(e: Error): void {
    const p = this.#pending;
    if (p === undefined) return;
    this.#pending = undefined;
    if (p.timer !== undefined) clearTimeout(p.timer);
    p.reject(e);
  }
}
