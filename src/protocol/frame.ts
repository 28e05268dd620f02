/**
 * Framing: `length:u32be payload[length]`, 1 <= length <= MAX_FRAME_PAYLOAD_BYTES
 * (spec/protocol.md "Framing").
 *
 * The decoder is a pull parser: push() bytes as they arrive, then call next() until it returns
 * undefined ("need more bytes" is a value, never an exception). Bad framing is found as soon as
 * the 4 length bytes are in, before any payload byte is buffered.
 */
import { KesError } from '../errors';
import { assertBytes, wipe } from '../crypto/bytes';
import { allocSecret, releaseSecret } from '../crypto/secret-memory';
import {
  FRAME_HEADER_BYTES,
  KINDS_WITH_SECRET,
  MAX_FRAME_PAYLOAD_BYTES,
  MIN_FRAME_PAYLOAD_BYTES,
} from './constants';
import { ProtocolError } from './errors';

/** One complete frame. `payload` is owned by the caller; `payload[0] === kind`. */
export interface DecodedFrame {
  readonly kind: number;
  readonly payload: Uint8Array;
}

/**
 * Reassembles frames from a byte stream split at arbitrary points.
 *
 * Memory: at most one partial frame is held (FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD_BYTES). Frames
 * completed by a push() wait in a queue until next() hands them out, so the queue is bounded by
 * the bytes pushed and not yet pulled: drain next() after every push().
 *
 * Secrets: push() wipes the caller's chunk after copying it, because the socket's chunk may hold
 * key bytes. A payload whose kind carries a secret (KEY) is assembled in allocSecret() memory,
 * but only by a decoder made to receive secrets (a node's end of the service socket). Keys
 * never travel towards the agent, so its decoders refuse a KEY-kind frame as UNEXPECTED_MESSAGE
 * before allocating anything: a peer cannot spend the agent's locked memory by sending them.
 * A frame returned by next() belongs to the caller (decodeFrame wipes the secret segment it
 * copies out); frames never handed out are wiped by destroy().
 *
 * Errors: a bad length field makes the decoder fail for good. Frames completed before the bad
 * one are still returned by next(); after them, next() throws the ProtocolError, every time.
 * Bytes pushed after the failure are wiped and ignored. The caller should send ERROR and close.
 */
/**
 * Complete frames a decoder that never receives secrets (the agent's side) splits off ahead of
 * next(). The rest of a read stays as it came, unsplit, until next() needs it: a peer that sends
 * a 64-KiB burst of tiny frames and then breaks the protocol costs the agent a few frames of
 * work, not thousands of copies and wipes. (A decoder that receives keys splits eagerly, so key
 * bytes never wait in an ordinary buffer.) @default 16
 */
export const MAX_FRAMES_SPLIT_AHEAD = 16;

export class FrameDecoder {
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  /** Declared length of the frame being assembled; 0 while reading a header. */
  #payloadLength = 0;
  #payload: Uint8Array | undefined;
  #payloadFill = 0;
  #ready: DecodedFrame[] = [];
  /** Bytes read but not split yet (never secret: only a decoder that does not receive secrets keeps them). */
  #backlog: Uint8Array | undefined;
  #error: ProtocolError | undefined;
  #destroyed = false;
  readonly #receivesSecrets: boolean;

  /** `receivesSecrets: false` for every decoder on the agent's side of a socket. */
  constructor(opts: { receivesSecrets: boolean } = { receivesSecrets: true }) {
    this.#receivesSecrets = opts.receivesSecrets;
  }

  /**
   * Take bytes from the stream. Copies what it needs, then wipes `chunk` (all of it).
   * @throws KesError(INVALID_ARGUMENT) if `chunk` is not a Uint8Array. Never throws for bad data:
   *   that surfaces, in order, from next().
   */
  push(chunk: Uint8Array): void {
    assertBytes(chunk, 'FrameDecoder.push chunk');
    try {
      if (this.#destroyed || this.#error !== undefined) return;
      if (this.#backlog !== undefined) {
        const joined = new Uint8Array(this.#backlog.length + chunk.length);
        joined.set(this.#backlog);
        joined.set(chunk, this.#backlog.length);
        wipe(this.#backlog);
        this.#backlog = joined;
      } else {
        this.#consume(chunk);
      }
    } finally {
      wipe(chunk);
    }
  }

  /**
   * The next complete frame, or undefined when more bytes are needed.
   * @throws ProtocolError FRAME_TOO_LARGE (length field above MAX_FRAME_PAYLOAD_BYTES) or
   *   MALFORMED_FRAME (length field 0), once every frame before the bad one has been returned.
   */
  next(): DecodedFrame | undefined {
    if (this.#ready.length === 0 && this.#backlog !== undefined) {
      const b = this.#backlog;
      this.#backlog = undefined;
      this.#consume(b);
      wipe(b);
    }
    const frame = this.#ready.shift();
    if (frame !== undefined) return frame;
    if (this.#error !== undefined) throw this.#error;
    return undefined;
  }

  /** Bytes of the partial frame held right now (length field included). */
  get bufferedBytes(): number {
    return (this.#payloadLength === 0 ? this.#headerFill : FRAME_HEADER_BYTES + this.#payloadFill) + (this.#backlog?.length ?? 0);
  }

  /** Complete frames waiting for next() (not counting those still in unsplit bytes). */
  get pendingFrames(): number {
    return this.#ready.length;
  }

  /** Bytes read and not yet split into frames (they may hold more frames for next()). */
  get unsplitBytes(): number {
    return this.#backlog?.length ?? 0;
  }

  /**
   * True between frames: nothing partial is buffered. A peer that closes the stream while this is
   * false sent a truncated frame.
   */
  get atFrameBoundary(): boolean {
    return this.#headerFill === 0 && this.#payloadLength === 0 && this.#backlog === undefined;
  }

  /** Wipe everything held (partial frame and frames not yet returned). Later pushes are wiped and ignored. */
  destroy(): void {
    this.#destroyed = true;
    wipe(this.#header);
    this.#headerFill = 0;
    this.#dropPartial();
    for (const f of this.#ready) releaseSecret(f.payload);
    this.#ready = [];
    if (this.#backlog !== undefined) wipe(this.#backlog);
    this.#backlog = undefined;
  }

  #consume(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      if (!this.#receivesSecrets && this.#ready.length >= MAX_FRAMES_SPLIT_AHEAD && this.#payloadLength === 0 && this.#headerFill === 0) {
        this.#backlog = new Uint8Array(chunk.subarray(off)); // a copy: the caller's chunk (a Buffer, whose slice() is a view) is wiped
        return;
      }
      if (this.#payloadLength === 0) {
        const n = Math.min(FRAME_HEADER_BYTES - this.#headerFill, chunk.length - off);
        this.#header.set(chunk.subarray(off, off + n), this.#headerFill);
        this.#headerFill += n;
        off += n;
        if (this.#headerFill < FRAME_HEADER_BYTES) return;
        const h = this.#header;
        const length = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0; // u32 big-endian
        wipe(this.#header);
        this.#headerFill = 0;
        if (length < MIN_FRAME_PAYLOAD_BYTES) {
          this.#error = new ProtocolError('MALFORMED_FRAME', 'frame length is 0: a payload holds at least the kind byte');
          return;
        }
        if (length > MAX_FRAME_PAYLOAD_BYTES) {
          this.#error = new ProtocolError(
            'FRAME_TOO_LARGE',
            `frame length ${length} exceeds the limit of ${MAX_FRAME_PAYLOAD_BYTES} bytes`,
          );
          return;
        }
        this.#payloadLength = length;
        continue;
      }
      if (this.#payload === undefined) {
        // The kind byte decides where the payload lives: secret-carrying kinds go to secret memory
        // from their first byte on, so the key never sits in an ordinary buffer.
        const kind = chunk[off]!;
        const secret = KINDS_WITH_SECRET.has(kind);
        if (secret && !this.#receivesSecrets) {
          this.#error = new ProtocolError('UNEXPECTED_MESSAGE', `a frame of kind 0x${kind.toString(16)} carries a key, and keys are never sent in this direction`);
          this.#payloadLength = 0;
          return;
        }
        this.#payload = secret ? allocSecret(this.#payloadLength) : new Uint8Array(this.#payloadLength);
        this.#payloadFill = 0;
      }
      const n = Math.min(this.#payloadLength - this.#payloadFill, chunk.length - off);
      this.#payload.set(chunk.subarray(off, off + n), this.#payloadFill);
      this.#payloadFill += n;
      off += n;
      if (this.#payloadFill === this.#payloadLength) {
        const payload = this.#payload;
        this.#ready.push({ kind: payload[0]!, payload });
        this.#payload = undefined;
        this.#payloadLength = 0;
        this.#payloadFill = 0;
      }
    }
  }

  #dropPartial(): void {
    releaseSecret(this.#payload);
    this.#payload = undefined;
    this.#payloadLength = 0;
    this.#payloadFill = 0;
  }
}

/**
 * Write the length field for a payload of `payloadLength` bytes at `target[0..4)`.
 * @throws KesError(OUT_OF_RANGE) if the length is outside 1..MAX_FRAME_PAYLOAD_BYTES.
 */
export function writeFrameHeader(target: Uint8Array, payloadLength: number): void {
  if (!Number.isSafeInteger(payloadLength) || payloadLength < MIN_FRAME_PAYLOAD_BYTES || payloadLength > MAX_FRAME_PAYLOAD_BYTES) {
    throw new KesError(
      'OUT_OF_RANGE',
      `frame payload: expected ${MIN_FRAME_PAYLOAD_BYTES}..${MAX_FRAME_PAYLOAD_BYTES} bytes, got ${payloadLength}`,
    );
  }
  new DataView(target.buffer, target.byteOffset, FRAME_HEADER_BYTES).setUint32(0, payloadLength, false);
}

/**
 * A whole frame (length field + a copy of `payload`). For public payloads only: secret-carrying
 * messages are built by encodeMessage, which writes the key straight into the frame.
 * @throws KesError(INVALID_ARGUMENT | OUT_OF_RANGE) for a non-Uint8Array or a bad length.
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  assertBytes(payload, 'frame payload');
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(frame, payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}
