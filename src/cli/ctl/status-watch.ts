/**
 * `kes-ctl status --watch`: poll STATUS on one control connection and show each change.
 *
 * One connection for the whole watch: the agent closes a control connection after
 * CONTROL_IDLE_TIMEOUT_MS (60 s) of silence, far longer than WATCH_INTERVAL_MS. When the agent
 * goes away the watcher says so once, reconnects with the client's capped backoff, and carries
 * on when the agent is back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../../client/backoff';
import type { AgentTrust } from '../../client/agent-identity';
import { ControlClient } from '../../client/control-client';
import { KesError } from '../../errors';
import type { StatusReport } from '../../protocol';
import { isoSeconds } from '../common/format';
import { isoTime } from '../common/json-output';

/** Between two STATUS requests: a person sees a change within a second. @default 1000 */
export const WATCH_INTERVAL_MS = 1000;
/** Longest wait between reconnect attempts while the agent is away. @default 10000 */
export const WATCH_RETRY_MAX_MS = 10_000;

export interface WatchSink {
  /** Every successful poll; the sink decides whether anything changed. */
  status(s: StatusReport): void;
  /** Once per outage: the first failure after a good poll (or at start). */
  unreachable(e: KesError, retryInMs: number): void;
}

/** Poll until `signal` aborts. Resolves then; rejects only on a bug (a non-KesError). */
export async function watchStatus(socketPath: string, trust: AgentTrust, sink: WatchSink, signal: AbortSignal): Promise<void> {
  const backoff = new Backoff({ initialMs: WATCH_INTERVAL_MS, maxMs: WATCH_RETRY_MAX_MS });
  let ctl: ControlClient | undefined;
  let away = false;
  // Closing the connection makes an in-flight request fail at once instead of after its timeout.
  const onAbort = (): void => ctl?.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      let delay = WATCH_INTERVAL_MS;
      try {
        // The signal also cuts a connect or handshake short: SIGINT never waits out their timeouts.
        ctl ??= await ControlClient.connect({ socketPath, signal, trust });
        if (signal.aborted) break;
        const s = await ctl.status();
        backoff.reset();
        away = false;
        sink.status(s);
      } catch (e) {
        ctl?.close();
        ctl = undefined;
        if (signal.aborted) break;
        if (!(e instanceof KesError)) throw e;
        delay = backoff.next();
        if (!away) sink.unreachable(e, delay);
        away = true;
      }
      await pause(delay, signal);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    ctl?.close();
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Aborted: the loop condition ends the watch.
  }
}

/** How --watch shows things: a redrawn screen, blocks one after another, or JSON lines. */
export type WatchMode = 'tty' | 'text' | 'json';

/** ANSI: cursor home, clear screen (a live view on a terminal). */
const CLEAR_SCREEN = '\u001b[H\u001b[2J';

export interface PrinterInit {
  mode: WatchMode;
  write: (text: string) => void;
  now: () => number;
  /** The human view of a status; `showTime` adds the time to its first line. */
  render: (s: StatusReport, showTime: boolean) => string;
  /** The JSON object of a status (as `status --json`). */
  json: (s: StatusReport) => Record<string, unknown>;
  /** JSON line encoder (refuses byte arrays). */
  jsonLine: (v: unknown) => string;
}

/**
 * Prints only what changed. What counts as a change: any status field except the current slot
 * (it moves every second). On a terminal the screen is also redrawn when the view's text changes
 * (its "in 20h 3m" countdowns move every minute).
 */
export class WatchPrinter {
  readonly #p: PrinterInit;
  #lastKey: string | undefined;
  #lastView: string | undefined;
  #printed = false;

  constructor(init: PrinterInit) {
    this.#p = init;
  }

  readonly status = (s: StatusReport): void => {
    const p = this.#p;
    const obj = p.json(s);
    const { currentSlot: _slot, ...rest } = obj;
    const key = JSON.stringify(rest);
    if (p.mode === 'tty') {
      const view = p.render(s, false);
      if (key === this.#lastKey && view === this.#lastView) return;
      this.#lastView = view;
      this.#lastKey = key;
      this.#emit(`${CLEAR_SCREEN}${p.render(s, true)}\n`);
      return;
    }
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    if (p.mode === 'json') this.#emit(p.jsonLine({ event: 'status', time: isoTime(p.now()), status: obj }));
    else this.#emit(`${this.#printed ? '\n' : ''}${p.render(s, true)}\n`);
  };

  readonly unreachable = (e: KesError, retryInMs: number): void => {
    const p = this.#p;
    // Whatever the agent says when it is back is shown in full, even if nothing changed.
    this.#lastKey = undefined;
    this.#lastView = undefined;
    if (p.mode === 'json') {
      this.#emit(p.jsonLine({ event: 'unreachable', time: isoTime(p.now()), code: e.code, message: e.message, retryInMs }));
      return;
    }
    // On a terminal the line goes under the last view, which stays as it was last seen.
    const sep = p.mode === 'text' && this.#printed ? '\n' : '';
    this.#emit(`${sep}${isoSeconds(p.now())} agent unreachable: ${e.message} [${e.code}]; retrying until it is back\n`);
  };

  #emit(text: string): void {
    this.#p.write(text);
    this.#printed = true;
  }
}
