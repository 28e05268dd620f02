/**
 * A logger whose level and format a reload can change: the daemon and everything it built keep
 * the one LiveLogger they were given, and a reload swaps the logger behind it.
 */
import type { LogFields, Logger } from '../platform/logger';

/** A logger that may hold back repeat counts (the agent's throttling logger). */
type MaybeFlushing = Logger & { flush?: () => void };

export class LiveLogger implements Logger {
  constructor(private inner: MaybeFlushing) {}

  debug(event: string, fields?: LogFields): void {
    this.inner.debug(event, fields);
  }
  info(event: string, fields?: LogFields): void {
    this.inner.info(event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    this.inner.warn(event, fields);
  }
  error(event: string, fields?: LogFields): void {
    this.inner.error(event, fields);
  }

  /** Use `next` from now on; the old logger first writes any repeat counts it held back. */
  replace(next: MaybeFlushing): void {
    const old = this.inner;
    old.flush?.();
    this.inner = next;
  }

  flush(): void {
    this.inner.flush?.();
  }
}
