/** Waiting for a KesNodeClient event in a test, with a bound. */
import type { KesNodeClient, KesNodeClientEvents } from '../../src/client';

export function nextEvent<K extends keyof KesNodeClientEvents>(c: KesNodeClient, name: K, timeoutMs = 10_000): Promise<KesNodeClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${String(name)} event within ${timeoutMs} ms`)), timeoutMs);
    c.once(name, (ev) => {
      clearTimeout(timer);
      resolve(ev);
    });
  });
}
