/**
 * The active slot: the installed bundle (KES sign key at its CURRENT evolution + its opcert) that
 * the agent serves to nodes.
 *
 * The slot owns the key from installation until destroy(); each evolution happens in place and
 * wipes the previous one (KesSignKey.evolve, docs/kes-construction.md §4.7), so at any moment exactly one
 * evolution of the key exists in this process. Every field is `#private`: JSON.stringify and
 * util.inspect cannot reach the key.
 */
import { inspect } from 'node:util';
import { KesError } from '../errors';
import type { KesSignKey } from '../crypto/kes';
import { copyOpcert, type Opcert } from '../cardano/opcert';
import { bytesEqual } from '../crypto/bytes';

export class ActiveSlot {
  #key: KesSignKey | null;
  readonly #opcert: Opcert;
  readonly #kesVk: Uint8Array;
  readonly #installedAtMs: number;

  /**
   * Take ownership of `key`, certified by `opcert` (already checked by the caller).
   * @throws KesError KES_KEY_DESTROYED, INVALID_ARGUMENT when the opcert is for another key.
   */
  constructor(key: KesSignKey, opcert: Opcert, installedAtMs: number) {
    if (key.destroyed) throw new KesError('KES_KEY_DESTROYED', 'active KES key: the key is already destroyed');
    const vk = key.verificationKey();
    if (!bytesEqual(vk, opcert.hotVk)) {
      throw new KesError('INVALID_ARGUMENT', 'active slot: the opcert hot vk is not the key being installed');
    }
    this.#key = key;
    this.#opcert = copyOpcert(opcert);
    this.#kesVk = vk;
    this.#installedAtMs = installedAtMs;
  }

  get kesVk(): Uint8Array {
    return this.#kesVk.slice();
  }

  get opcert(): Opcert {
    return copyOpcert(this.#opcert);
  }

  get counter(): number {
    return this.#opcert.counter;
  }

  /** c0: the opcert's first KES period. */
  get startKesPeriod(): number {
    return this.#opcert.kesPeriod;
  }

  get installedAtMs(): number {
    return this.#installedAtMs;
  }

  /** The key's current evolution t (it signs for absolute period c0 + t). */
  get evolution(): number {
    return this.#live().evolution;
  }

  get holdsKey(): boolean {
    return this.#key !== null && !this.#key.destroyed;
  }

  /**
   * Evolve forward to `evolution`, wiping every intermediate one. A target at or below the
   * current evolution is a no-op: a wall clock stepping backwards must not be an error, and a key
   * can never go back.
   */
  evolveTo(evolution: number): void {
    const key = this.#live();
    if (evolution > key.evolution) key.evolveTo(evolution);
  }

  /**
   * Lend the key to `fn` (e.g. to copy it into an outgoing frame with writeRaw). `fn` must not
   * keep, evolve or destroy it.
   */
  borrow<T>(fn: (key: KesSignKey) => T): T {
    return fn(this.#live());
  }

  /** Wipe the key. Idempotent. */
  destroy(): void {
    this.#key?.destroy();
    this.#key = null;
  }

  [inspect.custom](): string {
    return this.#key === null || this.#key.destroyed
      ? 'ActiveSlot <empty>'
      : `ActiveSlot <counter ${this.#opcert.counter}, c0 ${this.#opcert.kesPeriod}, evolution ${this.#key.evolution}>`;
  }

  #live(): KesSignKey {
    if (this.#key === null || this.#key.destroyed) {
      throw new KesError('KES_KEY_DESTROYED', 'active slot: the key was destroyed');
    }
    return this.#key;
  }
}
