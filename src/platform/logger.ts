/**
 * One line per event on stdout, never secrets.
 *
 * Field values are restricted to strings, numbers and booleans by the type: a Uint8Array (a
 * key buffer) cannot be passed by accident. Keys (vks) are logged as hex only when public.
 *
 * Repeats are throttled: a peer in a reconnect loop, or one that keeps sending garbage, must not
 * turn into thousands of lines (dingo measured 5,000 error records in two seconds from one stuck
 * push). Event names are constants in the code, so the throttle's table is bounded.
 *
 * Under systemd, stdout is a journal stream: each line then starts with its sd-daemon priority
 * (`<6>` for info...), which journald turns into the entry's priority and strips, and the
 * timestamp is left out because journald stamps every entry itself.
 */
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'text' | 'json';
export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

/** Lines of the same event (name and level) written per window before the rest are counted instead. */
export const LOG_BURST = 10;
/** Length of a throttle window, from the event's first line in it. */
export const LOG_WINDOW_MS = 60_000;

/** sd-daemon(3) priorities: SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG. */
const JOURNAL_PRIORITY: Readonly<Record<LogLevel, number>> = { error: 3, warn: 4, info: 6, debug: 7 };

/** systemd sets JOURNAL_STREAM to `<device>:<inode>` of the stream it connected stdout/stderr to. */
export const JOURNAL_STREAM_ENV = 'JOURNAL_STREAM';

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** What createLogger returns: a Logger that can also write its pending repeat counts now. */
export interface AgentLogger extends Logger {
  /** Write a `repeated N more times` line for every event with suppressed repeats (call at shutdown). */
  flush(): void;
}

/** Run `fn` after `ms`; returns a function that cancels it. */
export type Schedule = (fn: () => void, ms: number) => () => void;

export interface LoggerInit {
  out: Writable;
  /** Lowest level written. @default 'info' */
  level?: LogLevel;
  /** @default 'text' */
  format?: LogFormat;
  /** Unix ms, for timestamps and throttle windows. @default Date.now */
  now?: () => number;
  /** Prefix lines with their sd-daemon priority; text lines lose their timestamp. @default false */
  journald?: boolean;
  /** @default LOG_BURST */
  burst?: number;
  /** @default LOG_WINDOW_MS */
  windowMs?: number;
  /** How the end of a window with suppressed repeats is awaited. @default an unref'd setTimeout */
  schedule?: Schedule;
}

interface Window {
  level: LogLevel;
  event: string;
  start: number;
  written: number;
  suppressed: number;
}

export function createLogger(init: LoggerInit): AgentLogger {
  const min = LOG_LEVELS.indexOf(init.level ?? 'info');
  const format = init.format ?? 'text';
  const now = init.now ?? Date.now;
  const journald = init.journald ?? false;
  const burst = init.burst ?? LOG_BURST;
  const windowMs = init.windowMs ?? LOG_WINDOW_MS;
  const schedule = init.schedule ?? defaultSchedule;
  const windows = new Map<string, Window>();

  const emit = (level: LogLevel, event: string, fields: LogFields, suppressed?: number): void => {
    const prefix = journald ? `<${JOURNAL_PRIORITY[level]}>` : '';
    const time = new Date(now()).toISOString();
    if (format === 'json') {
      const extra = suppressed === undefined ? fields : { suppressed };
      init.out.write(prefix + JSON.stringify({ time, level, event, ...extra }) + '\n');
      return;
    }
    let line = `${prefix}${journald ? '' : `${time} `}${level.padEnd(5)} ${event}`;
    if (suppressed !== undefined) line += ` repeated ${suppressed} more ${suppressed === 1 ? 'time' : 'times'}`;
    for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
    init.out.write(line + '\n');
  };

  /** Close every window that has ended, writing its count; returns when the next one ends. */
  const closeEnded = (t: number, all = false): number | undefined => {
    let next: number | undefined;
    for (const [key, w] of windows) {
      const end = w.start + windowMs;
      if (all || t >= end) {
        windows.delete(key);
        if (w.suppressed > 0) emit(w.level, w.event, {}, w.suppressed);
      } else if (w.suppressed > 0 && (next === undefined || end < next)) {
        next = end;
      }
    }
    return next;
  };

  /** Make sure a count is written by the time its window ends, even if the agent goes quiet. */
  let cancelTimer: (() => void) | undefined;
  let timerAt: number | undefined;
  const ensureTimer = (at: number): void => {
    if (timerAt !== undefined && timerAt <= at) return; // an earlier wake-up re-arms for this one
    cancelTimer?.();
    timerAt = at;
    cancelTimer = schedule(() => {
      cancelTimer = timerAt = undefined;
      const next = closeEnded(now());
      if (next !== undefined) ensureTimer(next);
    }, Math.max(0, at - now()));
  };

  const write = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const t = now();
    closeEnded(t);
    const key = `${level}\u0000${event}`;
    let w = windows.get(key);
    if (w === undefined) {
      w = { level, event, start: t, written: 0, suppressed: 0 };
      windows.set(key, w);
    }
    if (w.written < burst) {
      w.written++;
      emit(level, event, fields);
      return;
    }
    w.suppressed++;
    ensureTimer(w.start + windowMs);
  };

  return {
    debug: (e, f) => write('debug', e, f),
    info: (e, f) => write('info', e, f),
    warn: (e, f) => write('warn', e, f),
    error: (e, f) => write('error', e, f),
    flush: () => {
      cancelTimer?.();
      cancelTimer = timerAt = undefined;
      closeEnded(now(), true);
    },
  };
}

const defaultSchedule: Schedule = (fn, ms) => {
  // unref: a pending count must never keep a stopping agent alive.
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

function formatValue(v: string | number | boolean | null): string {
  if (typeof v !== 'string') return String(v);
  // Quote values with spaces or quotes so one event stays one parseable line.
  return /^[^\s"=]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
}

export function isLogLevel(x: string): x is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(x);
}

/**
 * True when `fd` is the journal stream systemd connected it to: JOURNAL_STREAM holds the
 * stream's `<device>:<inode>` (systemd.exec(5)), and it is inherited by children whose stdout
 * may be a pipe or a file, so the fd itself must match.
 */
export function detectJournald(env: NodeJS.ProcessEnv, fd: number): boolean {
  const m = /^(\d+):(\d+)$/.exec(env[JOURNAL_STREAM_ENV] ?? '');
  if (m === null) return false;
  try {
    // bigint: inode numbers can exceed 2^53.
    const st = fs.fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}
