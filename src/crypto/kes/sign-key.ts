/**
 * A Sum6KES sign key at a known evolution, owning its 608 secret bytes (docs/kes-construction.md §4).
 *
 * The 608 bytes carry no period (docs/kes-construction.md §4.4), so the evolution is kept beside them. The
 * bytes live in one allocSecret buffer that only this class can reach; they leave it only through
 * writeRaw(), into a buffer the caller owns and must wipe. A second secret buffer is the
 * workspace for temporaries, wiped after every operation. After destroy() both are wiped and
 * every method throws KES_KEY_DESTROYED.
 */
import { inspect } from 'node:util';
import { KesError } from '../../errors';
import { assertBytes, assertInteger, bytesEqual, wipe } from '../bytes';
import { allocSecret, releaseSecret } from '../secret-memory';
import {
  KES_DEPTH,
  KES_MAX_EVOLUTION,
  KES_SEED_BYTES,
  KES_SIGN_KEY_BYTES,
  KES_VK_BYTES,
} from './params';
import { randomSeed } from './primitives';
import { WORKSPACE_BYTES, Workspace, genKey, rootVk, signAt, structuralProblem, updateInPlace, verifyAt } from './sum';

/** Only the static factories may construct: a key is never built around unchecked bytes. */
const CONSTRUCT: unique symbol = Symbol('KesSignKey.construct');

/**
 * Signed and verified by fromBytes(): a key whose structure checks out must also produce a
 * signature that verifies under its root vk at its evolution (random bytes ending in the root vk pair, which
 * every KES signature publishes, have the right vk).
 */
const PROBE_MESSAGE = new TextEncoder().encode('kes-agent sign key validation probe');

export interface FromBytesOptions {
  /** The vk the key must have (e.g. the opcert's hot vk or kes.vkey). */
  expectedVk?: Uint8Array;
}

export class KesSignKey {
  #sk: Uint8Array;
  #ws: Workspace;
  #vk: Uint8Array;
  #evolution: number;
  #destroyed = false;

  private constructor(token: typeof CONSTRUCT, sk: Uint8Array, ws: Workspace, evolution: number) {
    if (token !== CONSTRUCT) throw new KesError('INVALID_ARGUMENT', 'KesSignKey: use generate(), fromSeed() or fromBytes()');
    this.#sk = sk;
    this.#ws = ws;
    this.#evolution = evolution;
    // Public and fixed for the key's life (docs/kes-construction.md §4.3): compute once.
    this.#vk = rootVk(KES_DEPTH, sk);
  }

  /**
   * A new key from 32 bytes of libsodium's CSPRNG, as cardano-cli node key-gen-KES does
   * (docs/kes-construction.md §4.2).
   */
  static generate(): KesSignKey {
    const seed = allocSecret(KES_SEED_BYTES);
    try {
      randomSeed(seed);
      return KesSignKey.fromSeed(seed);
    } finally {
      releaseSecret(seed);
    }
  }

  /** genKey(6, seed) at evolution 0 (docs/kes-construction.md §4.2). The caller's seed is neither kept nor modified. */
  static fromSeed(seed: Uint8Array): KesSignKey {
    assertBytes(seed, 'KES seed', KES_SEED_BYTES);
    const { sk, ws } = allocKeyBuffers();
    let own: Uint8Array | undefined;
    try {
      // The seed is copied first: genKey must not read a buffer the caller could change under it.
      own = allocSecret(KES_SEED_BYTES);
      own.set(seed);
      genKey(KES_DEPTH, own, sk, null, ws);
      return new KesSignKey(CONSTRUCT, sk, ws, 0);
    } catch (e) {
      releaseSecret(sk);
      releaseSecret(ws.buffer);
      throw e;
    } finally {
      releaseSecret(own);
      ws.wipe();
    }
  }

  /**
   * Copy a 608-byte key in the cardano-cli layout (docs/kes-construction.md §4.4) at `evolution`, and
   * validate it: its structure (structuralProblem), its root vk against `expectedVk` when given, and a probe
   * signature verified under the root vk. Any failure is KES_KEY_INVALID; no key bytes are echoed.
   */
  static fromBytes(raw: Uint8Array, evolution: number, opts?: FromBytesOptions): KesSignKey {
    assertBytes(raw, 'KES sign key', KES_SIGN_KEY_BYTES);
    assertInteger(evolution, 'KES evolution', 0, KES_MAX_EVOLUTION);
    const expectedVk = opts?.expectedVk;
    if (expectedVk !== undefined) assertBytes(expectedVk, 'expected KES verification key', KES_VK_BYTES);

    const { sk, ws } = allocKeyBuffers();
    sk.set(raw);
    let key: KesSignKey | undefined;
    try {
      const problem = structuralProblem(KES_DEPTH, sk, evolution, ws);
      if (problem !== undefined) throw invalid(evolution, problem);
      key = new KesSignKey(CONSTRUCT, sk, ws, evolution);
      if (expectedVk !== undefined && !bytesEqual(key.#vk, expectedVk)) {
        throw invalid(evolution, 'its verification key is not the expected one');
      }
      if (!verifyAt(KES_DEPTH, key.#vk, evolution, PROBE_MESSAGE, key.sign(PROBE_MESSAGE))) {
        throw invalid(evolution, 'a probe signature does not verify under its verification key');
      }
      return key;
    } catch (e) {
      if (key !== undefined) key.destroy();
      else {
        releaseSecret(sk);
        releaseSecret(ws.buffer);
      }
      throw e;
    } finally {
      ws.wipe();
    }
  }

  get evolution(): number {
    this.#live();
    return this.#evolution;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The 32-byte root vk (public), a fresh copy. */
  verificationKey(): Uint8Array {
    this.#live();
    return this.#vk.slice();
  }

  /** The 448-byte Sum6 signature of `message` at this key's own evolution (docs/kes-construction.md §4.4, §4.5). */
  sign(message: Uint8Array): Uint8Array {
    this.#live();
    assertBytes(message, 'message');
    return signAt(KES_DEPTH, this.#sk, this.#evolution, message, this.#ws);
  }

  /**
   * One step forward with secure forgetting (docs/kes-construction.md §4.7). At the last evolution this
   * throws KES_KEY_EXHAUSTED and the key is unchanged. Should libsodium fail half way, the key is
   * destroyed rather than left half-evolved.
   */
  evolve(): void {
    this.#live();
    if (this.#evolution >= KES_MAX_EVOLUTION) {
      throw new KesError('KES_KEY_EXHAUSTED', `KES key is at its last evolution (${KES_MAX_EVOLUTION}) and cannot evolve`);
    }
    let done = false;
    try {
      if (!updateInPlace(KES_DEPTH, this.#sk, this.#evolution, this.#ws)) {
        throw new Error('KES update refused a key below its last evolution');
      }
      this.#evolution++;
      done = true;
    } finally {
      this.#ws.wipe();
      if (!done) this.destroy();
    }
  }

  /** Evolve forward, one step at a time, to `evolution`. Going backwards is impossible by design. */
  evolveTo(evolution: number): void {
    this.#live();
    assertInteger(evolution, 'KES evolution', 0, KES_MAX_EVOLUTION);
    if (evolution < this.#evolution) {
      throw new KesError('OUT_OF_RANGE', `KES evolution: cannot go back from ${this.#evolution} to ${evolution}`);
    }
    while (this.#evolution < evolution) this.evolve();
  }

  /** Copy the 608 raw bytes (cardano-cli layout) into `target` at `offset`. The caller wipes it. */
  writeRaw(target: Uint8Array, offset = 0): void {
    this.#live();
    assertBytes(target, 'target buffer');
    if (target.length < KES_SIGN_KEY_BYTES) {
      throw new KesError('INVALID_LENGTH', `target buffer: expected at least ${KES_SIGN_KEY_BYTES} bytes, got ${target.length}`);
    }
    assertInteger(offset, 'target offset', 0, target.length - KES_SIGN_KEY_BYTES);
    target.set(this.#sk, offset);
  }

  /** An independent key with its own secret buffers, at the same evolution. */
  clone(): KesSignKey {
    this.#live();
    const { sk, ws } = allocKeyBuffers();
    sk.set(this.#sk);
    return new KesSignKey(CONSTRUCT, sk, ws, this.#evolution);
  }

  /** Wipe and release the secret buffers. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    releaseSecret(this.#sk);
    releaseSecret(this.#ws.buffer);
    wipe(this.#vk);
  }

  /** Never print key material, whatever logs or debuggers do with the object. */
  [inspect.custom](): string {
    return this.#destroyed ? 'KesSignKey <destroyed>' : `KesSignKey <evolution ${this.#evolution}>`;
  }

  toJSON(): { type: 'KesSignKey'; evolution: number | null } {
    return { type: 'KesSignKey', evolution: this.#destroyed ? null : this.#evolution };
  }

  #live(): void {
    if (this.#destroyed) throw new KesError('KES_KEY_DESTROYED', 'KES sign key was used after destroy()');
  }
}

function invalid(evolution: number, reason: string): KesError {
  return new KesError('KES_KEY_INVALID', `KES sign key at evolution ${evolution}: ${reason}`);
}

/**
 * A key buffer and its workspace: both or neither. A new arena can fail at RLIMIT_MEMLOCK, and a
 * failed second allocation must not strand the first in locked memory.
 */
function allocKeyBuffers(): { sk: Uint8Array; ws: Workspace } {
  const sk = allocSecret(KES_SIGN_KEY_BYTES);
  try {
    return { sk, ws: new Workspace(allocSecret(WORKSPACE_BYTES)) };
  } catch (e) {
    releaseSecret(sk);
    throw e;
  }
}
