/**
 * The staging slot: one KES sign key generated inside the agent, at evolution 0, waiting for the
 * opcert the operator issues for its verification key.
 *
 * The slot owns the key: it is destroyed (wiped) here, or moved out exactly once by
 * `takeBundle()` into an ActiveSlot. Every field is `#private`, so neither JSON.stringify nor
 * util.inspect of a slot (or of a machine context holding it) can reach the key; public data
 * leaves only through the accessors, as copies.
 *
 * A staged key never evolves (docs/haskell-protocol.md §8.1: installed keys always start at
 * evolution 0; the evolution to the current period happens on upload).
 */
import { inspect } from 'node:util';
import { KesError } from '../errors';
import type { KesSignKey } from '../crypto/kes';
import { copyOpcert, type Opcert } from '../cardano/opcert';
import { bytesEqual } from '../crypto/bytes';

export class StagedSlot {
  #key: KesSignKey | null;
  #opcert: Opcert | null = null;
  readonly #kesVk: Uint8Array;

  /**
   * Take ownership of a freshly generated key.
   * @throws KesError KES_KEY_DESTROYED for a destroyed key, OUT_OF_RANGE for a key past evolution 0.
   */
  constructor(key: KesSignKey) {
    if (key.destroyed) throw new KesError('KES_KEY_DESTROYED', 'staged KES key: the key is already destroyed');
    if (key.evolution !== 0) {
      throw new KesError('OUT_OF_RANGE', `staged KES key: expected evolution 0, got ${key.evolution}`);
    }
    this.#key = key;
    this.#kesVk = key.verificationKey();
  }

  /** The staged key's verification key (public), a copy. Still readable after the key is gone. */
  get kesVk(): Uint8Array {
    return this.#kesVk.slice();
  }

  /** The imported opcert (a copy), or null while the key waits for one. */
  get opcert(): Opcert | null {
    return this.#opcert === null ? null : copyOpcert(this.#opcert);
  }

  /** True while the slot still owns a live key (not destroyed, not moved out). */
  get holdsKey(): boolean {
    return this.#key !== null && !this.#key.destroyed;
  }

  /**
   * Attach (or replace) the opcert. The caller has already checked it against the cold key and
   * the clock; this only refuses an opcert for another KES key, which would be a caller bug.
   */
  attachOpcert(opcert: Opcert): void {
    this.#live();
    if (!bytesEqual(opcert.hotVk, this.#kesVk)) {
      throw new KesError('INVALID_ARGUMENT', 'staged slot: the opcert hot vk is not the staged key');
    }
    this.#opcert = copyOpcert(opcert);
  }

  /**
   * Move the key and its opcert out, to become the active bundle. Afterwards this slot holds
   * nothing; the receiver owns (and must eventually destroy) the key.
   */
  takeBundle(): { key: KesSignKey; opcert: Opcert } {
    const key = this.#live();
    if (this.#opcert === null) throw new KesError('INVALID_ARGUMENT', 'staged slot: no opcert to install with the key');
    const opcert = this.#opcert;
    this.#key = null;
    this.#opcert = null;
    return { key, opcert };
  }

  /** Wipe the key (if still here). Idempotent. */
  destroy(): void {
    this.#key?.destroy();
    this.#key = null;
    this.#opcert = null;
  }

  [inspect.custom](): string {
    return this.holdsKey ? `StagedSlot <${this.#opcert === null ? 'no opcert' : 'with opcert'}>` : 'StagedSlot <empty>';
  }

  #live(): KesSignKey {
    if (this.#key === null || this.#key.destroyed) {
      throw new KesError('KES_KEY_DESTROYED', 'staged slot: the key was destroyed or already installed');
    }
    return this.#key;
  }
}
