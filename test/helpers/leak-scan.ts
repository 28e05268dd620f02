/**
 * Finding secret bytes where they must not be: every 16-byte window of every known secret, looked
 * for in captured output and files, as raw bytes and in the forms a secret takes when it has
 * become a string by accident (hex, hex with separators as in `<Buffer 0a 1b ..>`, base64 and
 * base64url, decimal lists as util.inspect prints a Uint8Array).
 *
 * The rule: a window is secret only when all 16 of its bytes are secret bytes. A Sum6KES sign key
 * interleaves secret seeds with public verification keys, and output may carry the public bytes
 * (every signature does): a window of 1 seed byte and 15 vk bytes is public for all practical
 * purposes, and matched `kes-node sign` output by chance (1 byte in 256). Any 16 contiguous bytes
 * of secret material are still caught: of a live seed, of the expanded Ed25519 secret, of an r1
 * seed not yet erased, and across two secret fields that lie side by side (the leaf seed and the
 * level-1 r1).
 *
 * TEST ONLY: the window set holds hex strings of secret bytes, which production code must never
 * make. Hits name the secret by label and offset, never by its bytes.
 */
import { createHash } from 'node:crypto';
import { KES_DEPTH, KES_SEED_BYTES, KES_SIGN_KEY_BYTES, r1Offset } from '../../src/crypto/kes/params';

/** Window length: long enough that a match is never chance, short enough to catch a partial copy. */
export const LEAK_WINDOW_BYTES = 16;

export type LeakForm = 'raw' | 'hex' | 'hex-separated' | 'base64' | 'decimal';

export interface LeakHit {
  /** Which captured stream or file. */
  source: string;
  form: LeakForm;
  /** Which secret and where in it (public description). */
  secret: string;
}

const HEX_RUN = /[0-9a-fA-F]{32,}/g;
const HEX_SEPARATED_RUN = /(?:[0-9a-fA-F]{2}[ :,\-]+){15,}[0-9a-fA-F]{2}/g;
const BASE64_RUN = /[A-Za-z0-9+/\-_]{22,}/g;
const DECIMAL_RUN = /(?:\b\d{1,3}\b[ ,\t\r\n]+){15,}\b\d{1,3}\b/g;

export class SecretWindows {
  readonly #windows = new Map<string, string>();

  /**
   * Every window of `bytes` made of secret bytes only: all 16 of its bytes are ones where
   * `secretMask` is true (default: every byte is secret). A window that takes in even one public
   * byte is left out.
   */
  add(label: string, bytes: Uint8Array, secretMask?: (i: number) => boolean): void {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    // secretRun: how many bytes in a row, up to and including `end`, are secret.
    let secretRun = 0;
    for (let end = 0; end < buf.length; end++) {
      secretRun = secretMask === undefined || secretMask(end) ? secretRun + 1 : 0;
      if (secretRun < LEAK_WINDOW_BYTES) continue;
      const i = end + 1 - LEAK_WINDOW_BYTES;
      const key = buf.toString('hex', i, i + LEAK_WINDOW_BYTES);
      if (!this.#windows.has(key)) this.#windows.set(key, `${label} bytes ${i}..${i + LEAK_WINDOW_BYTES}`);
    }
  }

  /**
   * A Sum6KES sign key (608 bytes, docs/kes-construction.md §4.4): the windows that lie wholly in its live
   * seeds (the leaf seed and every r1 not yet erased; the leaf seed and the level-1 r1 are adjacent, so
   * windows across that seam count too), and the leaf's expanded Ed25519 secret. No window takes
   * in a byte of a vk0/vk1 pair: those are public (every signature carries them). Erased (zero)
   * seeds are not secret either.
   */
  addKesSignKey(label: string, sk: Uint8Array): void {
    if (sk.length !== KES_SIGN_KEY_BYTES) throw new Error(`${label}: expected ${KES_SIGN_KEY_BYTES} bytes`);
    const live = new Uint8Array(sk.length);
    live.fill(1, 0, KES_SEED_BYTES);
    for (let level = 1; level <= KES_DEPTH; level++) {
      const at = r1Offset(level);
      if (sk.subarray(at, at + KES_SEED_BYTES).some((b) => b !== 0)) live.fill(1, at, at + KES_SEED_BYTES);
    }
    this.add(label, sk, (i) => live[i] === 1);
    this.addEd25519Seed(`${label} leaf`, sk.subarray(0, KES_SEED_BYTES));
  }

  /** An Ed25519 seed and what signing derives from it (SHA-512: the scalar and the nonce prefix). */
  addEd25519Seed(label: string, seed: Uint8Array): void {
    this.add(`${label} seed`, seed);
    const expanded = createHash('sha512').update(seed).digest();
    try {
      this.add(`${label} expanded`, expanded);
    } finally {
      expanded.fill(0);
    }
  }

  get size(): number {
    return this.#windows.size;
  }

  /** Every form of every window found in `data`. */
  scan(source: string, data: Uint8Array): LeakHit[] {
    const hits: LeakHit[] = [];
    const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
    this.#scanRaw(source, 'raw', buf, hits);
    // latin1 maps every byte to one char, so offsets and binary noise survive the regexes.
    const text = buf.toString('latin1');
    for (const run of text.match(HEX_RUN) ?? []) {
      for (const parity of [0, 1]) this.#scanRaw(source, 'hex', Buffer.from(run.slice(parity), 'hex'), hits);
    }
    for (const run of text.match(HEX_SEPARATED_RUN) ?? []) {
      this.#scanRaw(source, 'hex-separated', Buffer.from(run.replace(/[^0-9a-fA-F]/g, ''), 'hex'), hits);
    }
    for (const run of text.match(BASE64_RUN) ?? []) {
      const standard = run.replace(/-/g, '+').replace(/_/g, '/');
      // A secret inside a longer base64 string lines up with one of four starting offsets.
      for (let k = 0; k < 4; k++) this.#scanRaw(source, 'base64', Buffer.from(standard.slice(k), 'base64'), hits);
    }
    for (const run of text.match(DECIMAL_RUN) ?? []) {
      for (const part of splitBytes(run)) this.#scanRaw(source, 'decimal', Buffer.from(part), hits);
    }
    return hits;
  }

  #scanRaw(source: string, form: LeakForm, buf: Buffer, hits: LeakHit[]): void {
    for (let i = 0; i + LEAK_WINDOW_BYTES <= buf.length; i++) {
      const label = this.#windows.get(buf.toString('hex', i, i + LEAK_WINDOW_BYTES));
      if (label !== undefined) hits.push({ source, form, secret: label });
    }
  }
}

/** Runs of numbers 0..255 in a decimal list (a number above 255 ends a run). */
function splitBytes(run: string): number[][] {
  const parts: number[][] = [[]];
  for (const token of run.split(/[ ,\t\r\n]+/)) {
    const n = Number(token);
    if (token !== '' && n <= 255) parts[parts.length - 1]!.push(n);
    else parts.push([]);
  }
  return parts.filter((p) => p.length >= LEAK_WINDOW_BYTES);
}

/** `window` written into `host` in `form` (a planted leak, for positive controls). */
export function plant(host: string, window: Uint8Array, form: LeakForm | 'hex-upper' | 'base64url'): Buffer {
  const b = Buffer.from(window);
  const planted: Record<typeof form, Buffer | string> = {
    raw: b,
    hex: b.toString('hex'),
    'hex-upper': b.toString('hex').toUpperCase(),
    'hex-separated': `<Buffer ${[...b].map((x) => x.toString(16).padStart(2, '0')).join(' ')}>`,
    base64: `key=${Buffer.concat([Buffer.from([7]), b]).toString('base64')}`,
    base64url: Buffer.concat([Buffer.from([1, 2]), b]).toString('base64url'),
    decimal: `Uint8Array(16) [ ${[...b].join(', ')} ]`,
  };
  const mid = Math.floor(host.length / 2);
  const p = planted[form];
  return Buffer.concat([Buffer.from(host.slice(0, mid)), typeof p === 'string' ? Buffer.from(p) : p, Buffer.from(host.slice(mid))]);
}
