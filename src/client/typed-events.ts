/**
 * A minimal typed event emitter for the clients.
 *
 * Unlike node:events there is no special 'error' event that throws when nobody listens, and a
 * listener that throws cannot break the client's connection loop or key handling: the exception
 * becomes a process warning (the host's bug is reported, the host's process is not crashed by
 * our loop).
 */
export type Listener<T> = (payload: T) => void;

export class TypedEvents<Events extends { [K in keyof Events]: object }> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return this;
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
    return this;
  }

  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const wrapper: Listener<Events[E]> = (payload) => {
      this.off(event, wrapper);
      listener(payload);
    };
    return this.on(event, wrapper);
  }

  protected emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set] as Listener<Events[E]>[]) {
      try {
        listener(payload);
      } catch (e) {
        const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        process.emitWarning(`a '${String(event)}' listener threw: ${what}`, { code: 'KES_AGENT_LISTENER_THREW' });
      }
    }
  }
}
