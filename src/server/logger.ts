/**
 * One line per event on stdout, never secrets.
 *
 * Field values are restricted to strings, numbers and booleans by the type: a Uint8Array (a
 * key buffer) cannot be passed by accident. Keys (vks) are logged as hex only when public.
 */
import type { Writable } from 'node:stream';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'text' | 'json';
export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export interface LoggerInit {
  out: Writable;
  /** Lowest level written. @default 'info' */
  level?: LogLevel;
  /** @default 'text' */
  format?: LogFormat;
  now?: () => number;
}

export function createLogger(init: LoggerInit): Logger {
  const min = LOG_LEVELS.indexOf(init.level ?? 'info');
  const format = init.format ?? 'text';
  const now = init.now ?? Date.now;
  const write = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const time = new Date(now()).toISOString();
    if (format === 'json') {
      init.out.write(JSON.stringify({ time, level, event, ...fields }) + '\n');
      return;
    }
    let line = `${time} ${level.padEnd(5)} ${event}`;
    for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
    init.out.write(line + '\n');
  };
  return {
    debug: (e, f) => write('debug', e, f),
    info: (e, f) => write('info', e, f),
    warn: (e, f) => write('warn', e, f),
    error: (e, f) => write('error', e, f),
  };
}

function formatValue(v: string | number | boolean | null): string {
  if (typeof v !== 'string') return String(v);
  // Quote values with spaces or quotes so one event stays one parseable line.
  return /^[^\s"=]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
}

export function isLogLevel(x: string): x is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(x);
}
