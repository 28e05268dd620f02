/**
 * Node's setTimeout limit (2^31 − 1 ms, about 24.8 days): a longer delay fires after 1 ms, with
 * only a warning. Longer waits (a chain that starts in a month, a keep-alive) are done in hops,
 * and each hop re-checks the clock.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
