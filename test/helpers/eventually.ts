/**
 * Waiting for state that settles asynchronously (a socket drained, a peer counted, a line
 * logged) by polling it, never by sleeping a guessed time. The timeout is a safety bound so a
 * broken test fails with `what` instead of hanging; no test depends on it being short.
 */

/** How often the condition is checked. */
const POLL_MS = 20;

/** Resolve once `check` holds; reject naming `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
