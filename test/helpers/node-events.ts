/** Waiting for a KesNodeClient event in a test, with a bound. */
import type { KesNodeClient, KesNodeClientEvents } from '../../src/client';

/**
 * The next `name` event emitted from now on. Arm it BEFORE the action that causes the event
 * (`const ev = nextEvent(n, 'key'); await upload(); await ev;`): there is no history, so an
 * event emitted before this call is never seen, and one emitted between the action and a late
 * call is missed and the wait times out.
 *
 * A wait that is never awaited (the test failed before it got there) does not become an
 * unhandled rejection, and its listener and timer are removed when it settles.
 */
export function nextEvent<K extends keyof KesNodeClientEvents>(c: KesNodeClient, name: K, timeoutMs = 10_000): Promise<KesNodeClientEvents[K]> {
  const p = new Promise<KesNodeClientEvents[K]>((resolve, reject) => {
    const listener = (ev: KesNodeClientEvents[K]): void => {
      c.off(name, listener);
      clearTimeout(timer);
      resolve(ev);
    };
    const timer = setTimeout(() => {
      c.off(name, listener);
      reject(new Error(`no ${String(name)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on(name, listener);
  });
  p.catch(() => undefined);
  return p;
}
