/**
 * cardano-cli TextEnvelope files (docs/kes-construction.md §6).
 *
 * Written exactly as cardano-api (aeson-pretty, 4-space indent, keys type, description, cborHex,
 * trailing newline), which is `JSON.stringify({type, description, cborHex}, null, 4) + "\n"`.
 *
 * Read WITHOUT JSON.parse: any envelope may hold a secret (a cold or KES sign key passed where a
 * public file was expected), and JSON.parse would copy its hex into an immutable JS string that
 * can never be wiped. A small byte-level scanner instead checks the shape (one JSON object whose
 * only members are the string fields type, description and cborHex), turns only `type` and
 * `description` into strings, and hex-decodes cborHex straight from the file buffer: into
 * allocSecret() memory when the type is a secret one. The file buffer is wiped afterwards.
 *
 * What JS still cannot guarantee: the kernel's page cache and any copy libuv or V8 made while
 * reading or moving the buffer (a Buffer is never moved by the GC, but nothing promises that),
 * swap, and core dumps. The wipes narrow the window; they do not close it.
 *
 * The reader is stricter than aeson's (which ignores unknown members): an envelope with other
 * members is rejected, since cardano-cli never writes one and a key file is no place for surprises.
 * Like cardano-api, the reader checks `type`, requires `description` to be a string, ignores its value.
 */
import { isUtf8 } from 'node:buffer';
import { KesError } from '../errors';
import { decodeCbor, encodeCbor, expectBytes } from './cbor';
import { allocSecret, releaseSecret } from '../crypto/secret-memory';
import { toHex, wipe } from '../crypto/bytes';
import { hexDecodeInto, hexEncodeInto } from './hex-bytes';
import { readFileBounded, writeFileSafely, PUBLIC_FILE_MODE, SECRET_FILE_MODE, type WriteOutcome } from './file-io';

/** Every envelope type we read or write, with the description cardano-cli writes (docs/kes-construction.md §6). */
export const ENVELOPE_TYPES = {
  kesSigningKey: 'KesSigningKey_ed25519_kes_2^6',
  kesVerificationKey: 'KesVerificationKey_ed25519_kes_2^6',
  opcert: 'NodeOperationalCertificate',
  opcertCounter: 'NodeOperationalCertificateIssueCounter',
  coldSigningKey: 'StakePoolSigningKey_ed25519',
  coldVerificationKey: 'StakePoolVerificationKey_ed25519',
} as const;

export type EnvelopeType = (typeof ENVELOPE_TYPES)[keyof typeof ENVELOPE_TYPES];
export type SecretEnvelopeType = typeof ENVELOPE_TYPES.kesSigningKey | typeof ENVELOPE_TYPES.coldSigningKey;
export type PublicEnvelopeType = Exclude<EnvelopeType, SecretEnvelopeType>;

export const ENVELOPE_DESCRIPTIONS = {
  [ENVELOPE_TYPES.kesSigningKey]: 'KES Signing Key',
  [ENVELOPE_TYPES.kesVerificationKey]: 'KES Verification Key',
  [ENVELOPE_TYPES.opcert]: '',
  // The counter's description carries the number: see counter.ts.
  [ENVELOPE_TYPES.coldSigningKey]: 'Stake Pool Operator Signing Key',
  [ENVELOPE_TYPES.coldVerificationKey]: 'Stake Pool Operator Verification Key',
} as const;

const ALL_TYPES: readonly EnvelopeType[] = Object.values(ENVELOPE_TYPES);

export function isSecretEnvelopeType(type: string): type is SecretEnvelopeType {
  return type === ENVELOPE_TYPES.kesSigningKey || type === ENVELOPE_TYPES.coldSigningKey;
}

/**
 * The largest envelope we accept. The largest real one (KES sign key) is about 1.4 KiB; the
 * bound is enforced before the file is read into memory.
 */
export const MAX_ENVELOPE_FILE_BYTES = 64 * 1024;

/** File content echoed in an error message (a member name, a type) is cut to keep it one short line. */
const MAX_ECHOED_CHARS = 80;
/**
 * A run of this many hex digits in a member name or type is never echoed: a damaged key file can
 * put its cborHex where a name belongs, and the error must not print the key.
 */
const MAX_ECHOED_HEX_RUN = 8;

const isHexDigit = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
/** Letters, digits, space and _ ^ . - : nothing a terminal or a log parser could act on (no C0/C1 controls). */
const isEchoable = (c: number): boolean => isHexDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x20 || c === 0x5f || c === 0x5e || c === 0x2e || c === 0x2d;

/** `text` for an error message, or undefined when it must not be shown (see MAX_ECHOED_HEX_RUN, isEchoable). */
function echoable(text: string): string | undefined {
  if (text.length === 0 || text.length > MAX_ECHOED_CHARS) return undefined;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isEchoable(c)) return undefined;
    run = isHexDigit(c) ? run + 1 : 0;
    if (run >= MAX_ECHOED_HEX_RUN) return undefined;
  }
  return text;
}

const MEMBER_NAMES = ['type', 'description', 'cborHex'] as const;

export interface Envelope<T extends EnvelopeType = EnvelopeType> {
  type: T;
  description: string;
  /** The decoded cborHex. For secret types it is allocSecret() memory: releaseSecret() it. */
  cbor: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Writing

function envelopeHead(type: string, description: string): string {
  // Same bytes JSON.stringify(…, null, 4) produces before the cborHex value (tested against it).
  return `{\n    "type": ${JSON.stringify(type)},\n    "description": ${JSON.stringify(description)},\n    "cborHex": "`;
}
const ENVELOPE_TAIL = '"\n}\n';

/** File text of a PUBLIC envelope, byte-identical to cardano-cli's. */
export function formatEnvelope(env: Envelope<PublicEnvelopeType>): string {
  if (isSecretEnvelopeType(env.type)) {
    throw new KesError('INVALID_ARGUMENT', `formatEnvelope: ${env.type} is secret; use formatSecretEnvelope`);
  }
  return JSON.stringify({ type: env.type, description: env.description, cborHex: toHex(env.cbor) }, null, 4) + '\n';
}

/**
 * File bytes of an envelope built in a Buffer, never a string: for secret key files. The
 * caller wipes the result.
 */
export function formatSecretEnvelope(env: Envelope): Buffer {
  const head = Buffer.from(envelopeHead(env.type, env.description), 'utf8');
  const tail = Buffer.from(ENVELOPE_TAIL, 'utf8');
  const out = Buffer.alloc(head.length + 2 * env.cbor.length + tail.length);
  head.copy(out, 0);
  hexEncodeInto(env.cbor, out, head.length);
  tail.copy(out, head.length + 2 * env.cbor.length);
  return out;
}

export interface EnvelopeWriteOptions {
  /** false: refuse with FILE_EXISTS if a file with other content exists (file-io.ts has the rule). */
  overwrite: boolean;
}

/** Write a public envelope (mode 0644). */
export function writeEnvelopeFile(file: string, env: Envelope<PublicEnvelopeType>, opts: EnvelopeWriteOptions): WriteOutcome {
  return writeFileSafely(file, Buffer.from(formatEnvelope(env), 'utf8'), { mode: PUBLIC_FILE_MODE, overwrite: opts.overwrite });
}

/** Write a secret envelope (mode 0600) from a Buffer that is wiped after the write. */
export function writeSecretEnvelopeFile(file: string, env: Envelope<SecretEnvelopeType>, opts: EnvelopeWriteOptions): WriteOutcome {
  const bytes = formatSecretEnvelope(env);
  try {
    return writeFileSafely(file, bytes, { mode: SECRET_FILE_MODE, overwrite: opts.overwrite });
  } finally {
    wipe(bytes);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: the byte-level scanner

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

interface StringToken {
  /** First byte after the opening quote. */
  start: number;
  /** Index of the closing quote. */
  end: number;
  hasEscape: boolean;
}

interface ScannedEnvelope {
  type: string;
  description: string;
  hexStart: number;
  hexEnd: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Scanner {
  i = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly file: string,
  ) {}

  fail(what: string): never {
    throw new KesError('FILE_NOT_ENVELOPE', `${this.file}: not a text envelope: ${what}`);
  }

  ws(): void {
    for (;;) {
      const c = this.buf[this.i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else return;
    }
  }

  expect(ch: string, context: string): void {
    this.ws();
    if (this.buf[this.i] !== ch.charCodeAt(0)) {
      this.fail(this.i >= this.buf.length ? `ended early, expected '${ch}' ${context}` : `expected '${ch}' ${context} at byte ${this.i}`);
    }
    this.i++;
  }

  string(context: string): StringToken {
    this.ws();
    if (this.buf[this.i] !== QUOTE) this.fail(`expected a string ${context} at byte ${this.i}`);
    const start = ++this.i;
    let hasEscape = false;
    for (;;) {
      const c = this.buf[this.i];
      if (c === undefined) this.fail(`unterminated string ${context}`);
      if (c === QUOTE) break;
      if (c < 0x20) this.fail(`control character in a string ${context} at byte ${this.i}`);
      if (c === BACKSLASH) {
        hasEscape = true;
        const e = this.buf[this.i + 1];
        if (e === 0x75 /* u */) {
          for (let k = 2; k < 6; k++) {
            const h = this.buf[this.i + k];
            if (h === undefined || !/[0-9a-fA-F]/.test(String.fromCharCode(h))) this.fail(`bad \\u escape ${context} at byte ${this.i}`);
          }
          this.i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(String.fromCharCode(e))) this.fail(`bad escape ${context} at byte ${this.i}`);
        this.i += 2;
        continue;
      }
      this.i++;
    }
    const end = this.i++;
    return { start, end, hasEscape };
  }

  /** A PUBLIC string token as a JS string (escapes resolved). */
  text(t: StringToken, context: string): string {
    let raw: string;
    try {
      raw = utf8.decode(this.buf.subarray(t.start - 1, t.end + 1));
    } catch {
      this.fail(`invalid UTF-8 ${context}`);
    }
    try {
      return JSON.parse(raw) as string;
    } catch {
      this.fail(`invalid string ${context}`);
    }
  }

  /**
   * One of the three member names, or fail. A name without escapes is compared as bytes, so a
   * damaged key file whose hex landed in a name position never becomes a JS string.
   */
  memberName(t: StringToken): (typeof MEMBER_NAMES)[number] {
    let shown: string | undefined;
    if (t.hasEscape) {
      const key = this.text(t, 'in a member name');
      if ((MEMBER_NAMES as readonly string[]).includes(key)) return key as (typeof MEMBER_NAMES)[number];
      shown = echoable(key);
    } else {
      const raw = this.buf.subarray(t.start, t.end);
      for (const name of MEMBER_NAMES) {
        if (raw.length === name.length && raw.every((c, i) => c === name.charCodeAt(i))) return name;
      }
      if (!isUtf8(raw)) this.fail('invalid UTF-8 in a member name');
      if (raw.length <= MAX_ECHOED_CHARS && raw.every(isEchoable)) shown = echoable(String.fromCharCode(...raw));
    }
    this.fail(`unexpected member ${shown === undefined ? '(name not shown)' : JSON.stringify(shown)}, expected only type, description, cborHex`);
  }

  envelope(): ScannedEnvelope {
    this.ws();
    if (this.i >= this.buf.length) this.fail('the file is empty');
    if (this.buf[this.i] !== 0x7b /* { */) this.fail('not a JSON object');
    this.i++;
    const seen = new Set<string>();
    let type: string | undefined;
    let description: string | undefined;
    let hex: StringToken | undefined;
    this.ws();
    if (this.buf[this.i] === 0x7d /* } */) this.fail('empty object, expected members type, description, cborHex');
    for (;;) {
      const key = this.memberName(this.string('as a member name'));
      if (seen.has(key)) this.fail(`duplicate member "${key}"`);
      seen.add(key);
      this.expect(':', `after "${key}"`);
      const value = this.string(`for "${key}"`);
      if (key === 'cborHex') {
        // Never turned into a string: it may be a secret. Plain hex has no escapes.
        if (value.hasEscape) throw new KesError('ENVELOPE_BAD_HEX', `${this.file}: cborHex contains an escape sequence, expected plain hex`);
        hex = value;
      } else if (key === 'type') {
        type = this.text(value, 'for "type"');
      } else {
        description = this.text(value, 'for "description"');
      }
      this.ws();
      const c = this.buf[this.i];
      if (c === 0x2c /* , */) {
        this.i++;
        continue;
      }
      if (c === 0x7d /* } */) {
        this.i++;
        break;
      }
      this.fail(c === undefined ? "ended early, expected ',' or '}'" : `expected ',' or '}' at byte ${this.i}`);
    }
    this.ws();
    if (this.i !== this.buf.length) this.fail(`unexpected data after the object at byte ${this.i}`);
    if (type === undefined) this.fail('missing member "type"');
    if (description === undefined) this.fail('missing member "description"');
    if (hex === undefined) this.fail('missing member "cborHex"');
    return { type, description, hexStart: hex.start, hexEnd: hex.end };
  }
}

/** A type string for an error message: bare if a plain name, quoted if it has spaces, else not shown. */
function showType(type: string): string {
  const shown = echoable(type);
  if (shown === undefined) return '(not shown)';
  return /^[A-Za-z0-9_^.-]+$/.test(shown) ? shown : JSON.stringify(shown);
}

function article(type: string): string {
  return /^[AEIOU]/.test(type) ? 'an' : 'a';
}

/**
 * Parse envelope file bytes (not wiped here; see readEnvelopeFile). `what` names the file in
 * errors. `expected` lists the acceptable types.
 * @throws KesError FILE_NOT_ENVELOPE, ENVELOPE_WRONG_TYPE, ENVELOPE_BAD_HEX.
 */
export function parseEnvelope<T extends EnvelopeType>(bytes: Uint8Array, what: string, expected: readonly T[]): Envelope<T> {
  const s = new Scanner(bytes, what).envelope();
  if (!(expected as readonly string[]).includes(s.type)) {
    const want = expected.map((t) => `${article(t)} ${t}`).join(' or ');
    const known = (ALL_TYPES as readonly string[]).includes(s.type);
    throw new KesError(
      'ENVELOPE_WRONG_TYPE',
      `${what}: expected ${want} text envelope, got ${known ? '' : 'unknown type '}${showType(s.type)}`,
    );
  }
  const type = s.type as T;
  const digits = s.hexEnd - s.hexStart;
  if (digits % 2 !== 0) throw new KesError('ENVELOPE_BAD_HEX', `${what}: cborHex has an odd number of hex digits (${digits})`);
  const cbor = isSecretEnvelopeType(type) ? allocSecret(digits / 2) : new Uint8Array(digits / 2);
  if (!hexDecodeInto(bytes, s.hexStart, s.hexEnd, cbor)) {
    releaseSecret(cbor);
    throw new KesError('ENVELOPE_BAD_HEX', `${what}: cborHex contains a character that is not a hex digit`);
  }
  return { type, description: s.description, cbor };
}

function asList<T>(x: T | readonly T[]): readonly T[] {
  return Array.isArray(x) ? (x as readonly T[]) : [x as T];
}

/**
 * Read any envelope of one of the `expected` types. The file buffer is wiped before returning.
 * When the type read is secret (isSecretEnvelopeType), `cbor` is allocSecret() memory.
 */
export function readAnyEnvelopeFile<T extends EnvelopeType>(file: string, expected: T | readonly T[]): Envelope<T> {
  const bytes = readFileBounded(file, MAX_ENVELOPE_FILE_BYTES, 'a text envelope');
  try {
    return parseEnvelope(bytes, file, asList(expected));
  } finally {
    wipe(bytes);
  }
}

/**
 * Read a PUBLIC envelope file: the one helper every CLI read of a public file goes through.
 * A secret file passed here is rejected as the wrong type before its cborHex is decoded.
 * @throws KesError FILE_UNREADABLE, FILE_TOO_LARGE, FILE_NOT_ENVELOPE, ENVELOPE_WRONG_TYPE, ENVELOPE_BAD_HEX.
 */
export function readEnvelopeFile<T extends PublicEnvelopeType>(file: string, expected: T | readonly T[]): Envelope<T> {
  return readAnyEnvelopeFile(file, expected);
}

/** Read a SECRET envelope file. `cbor` is allocSecret() memory: the caller releaseSecret()s it. */
export function readSecretEnvelopeFile<T extends SecretEnvelopeType>(file: string, expected: T): Envelope<T> {
  return readAnyEnvelopeFile(file, expected);
}

/**
 * A public key envelope (cold or KES verification key): CBOR `bytes(n)` under its type, with
 * the description cardano-cli writes.
 */
export function keyEnvelope<T extends typeof ENVELOPE_TYPES.kesVerificationKey | typeof ENVELOPE_TYPES.coldVerificationKey>(
  type: T,
  key: Uint8Array,
): Envelope<T> {
  return { type, description: ENVELOPE_DESCRIPTIONS[type as keyof typeof ENVELOPE_DESCRIPTIONS], cbor: encodeCbor(key) };
}

/** Read a public key envelope of `type` holding exactly `length` bytes; `what` names the key in errors. */
export function readKeyEnvelopeFile(file: string, type: PublicEnvelopeType, length: number, what: string): Uint8Array {
  const env = readEnvelopeFile(file, type);
  return expectBytes(decodeCbor(env.cbor, file), length, `${file}: ${what}`).slice();
}

/**
 * Read a secret key envelope of `type` holding exactly `length` bytes and hand the key to `take`,
 * which copies what it keeps: the bytes are a view into secret memory released when `take`
 * returns. `what` names the key in errors.
 */
export function readSecretKeyEnvelopeFile<R>(file: string, type: SecretEnvelopeType, length: number, what: string, take: (key: Uint8Array) => R): R {
  const env = readSecretEnvelopeFile(file, type);
  try {
    return take(expectBytes(decodeCbor(env.cbor, file), length, `${file}: ${what}`));
  } finally {
    releaseSecret(env.cbor);
  }
}

/** Write a secret key envelope (mode 0600), CBOR `bytes(n)` under `type`; the encoded bytes are wiped after the write. */
export function writeSecretKeyEnvelopeFile(file: string, type: SecretEnvelopeType, key: Uint8Array, opts: EnvelopeWriteOptions): WriteOutcome {
  const cbor = encodeCbor(key);
  try {
    return writeSecretEnvelopeFile(file, { type, description: ENVELOPE_DESCRIPTIONS[type], cbor }, opts);
  } finally {
    wipe(cbor);
  }
}
