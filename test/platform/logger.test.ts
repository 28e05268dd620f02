/**
 * The agent's logger: formats, levels, journald priorities, throttled repeats; and, through the
 * built agent on real sockets, that a node reconnect loop writes a bounded number of lines.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import {
  createLogger,
  detectJournald,
  JOURNAL_STREAM_ENV,
  LOG_BURST,
  LOG_LEVELS,
  LOG_WINDOW_MS,
  type LoggerInit,
  type Schedule,
} from '../../src/platform/logger';
import { encodeMessage, nativeAccept } from '../../src/protocol';
import { offeredIds } from '../../src/server/version-negotiation';
import { agentForEachDescribe, ctlJson } from '../helpers/agent-env';
import { eventually } from '../helpers/eventually';
import { tempDir } from '../helpers/processes';

/** A real Writable that keeps what was written, split into lines. */
class Lines extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}

/** A clock the test moves, and a scheduler whose pending callback the test runs. */
function fakeTime(start = Date.UTC(2026, 0, 2, 3, 4, 5, 678)) {
  const clock = { t: start };
  const pending: { fn: () => void; at: number; cancelled: boolean }[] = [];
  const schedule: Schedule = (fn, ms) => {
    const p = { fn, at: clock.t + ms, cancelled: false };
    pending.push(p);
    return () => (p.cancelled = true);
  };
  /** Advance the clock, running due callbacks in order (as the event loop would). */
  const advance = (ms: number): void => {
    const until = clock.t + ms;
    for (;;) {
      const due = pending.filter((p) => !p.cancelled && p.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.cancelled = true;
      clock.t = Math.max(clock.t, due.at);
      due.fn();
    }
    clock.t = until;
  };
  const live = (): number => pending.filter((p) => !p.cancelled).length;
  return { clock, now: () => clock.t, schedule, advance, live };
}

function setup(init: Partial<LoggerInit> = {}) {
  const out = new Lines();
  const time = fakeTime();
  const log = createLogger({ out, now: time.now, schedule: time.schedule, ...init });
  return { out, time, log };
}

describe('createLogger: formats and levels', () => {
  test('text: ISO time, padded level, event, key=value fields; odd values quoted so a line stays one line', () => {
    const { out, log } = setup({ level: 'debug' });
    log.info('agent: started', { network: 'mainnet', kesPeriod: 779, chainStarted: true, none: null });
    log.warn('service: bad frame', { reason: 'two words', empty: '', quote: 'a"b', newline: 'x\ny', eq: 'a=b' });
    expect(out.lines).toEqual([
      '2026-01-02T03:04:05.678Z info  agent: started network=mainnet kesPeriod=779 chainStarted=true none=null',
      '2026-01-02T03:04:05.678Z warn  service: bad frame reason="two words" empty="" quote="a\\"b" newline="x\\ny" eq="a=b"',
    ]);
  });

  test('json: one object per line with time, level, event and the fields', () => {
    const { out, log } = setup({ format: 'json' });
    log.error('control: request failed', { client: 7, ok: false });
    expect(out.lines).toHaveLength(1);
    expect(JSON.parse(out.lines[0]!)).toEqual({ time: '2026-01-02T03:04:05.678Z', level: 'error', event: 'control: request failed', client: 7, ok: false });
  });

  test.each(LOG_LEVELS.map((min, i) => [min, LOG_LEVELS.slice(i)] as const))('level %s writes exactly %j', (min, shown) => {
    const { out, log } = setup({ level: min, format: 'json' });
    for (const level of LOG_LEVELS) log[level](`e ${level}`);
    expect(out.lines.map((l) => (JSON.parse(l) as { level: string }).level)).toEqual([...shown]);
  });

  test('the default level is info and the default format text', () => {
    const { out, log } = setup();
    log.debug('hidden');
    log.info('shown');
    expect(out.lines).toEqual(['2026-01-02T03:04:05.678Z info  shown']);
  });

  test('field values cannot be bytes (a key buffer) by type', () => {
    const { out, log } = setup();
    // @ts-expect-error a Uint8Array is not a log field value
    log.info('typed', { key: new Uint8Array(4) });
    expect(out.lines).toHaveLength(1);
  });
});

describe('createLogger: journald', () => {
  test('text lines start with the sd-daemon priority and carry no timestamp', () => {
    const { out, log } = setup({ level: 'debug', journald: true });
    log.error('e1', { a: 1 });
    log.warn('w1');
    log.info('i1');
    log.debug('d1');
    expect(out.lines).toEqual(['<3>error e1 a=1', '<4>warn  w1', '<6>info  i1', '<7>debug d1']);
  });

  test('json lines get the prefix too, and after it the line is one JSON object', () => {
    const { out, log } = setup({ format: 'json', journald: true });
    log.warn('w1', { node: 3 });
    const line = out.lines[0]!;
    expect(line.startsWith('<4>{')).toBe(true);
    expect(JSON.parse(line.slice(3))).toEqual({ time: '2026-01-02T03:04:05.678Z', level: 'warn', event: 'w1', node: 3 });
  });

  test('a repeat count carries the priority of its event', () => {
    const { out, log, time } = setup({ journald: true });
    for (let i = 0; i < LOG_BURST + 2; i++) log.warn('w');
    time.advance(LOG_WINDOW_MS);
    expect(out.lines.at(-1)).toBe('<4>warn  w repeated 2 more times');
  });
});

describe('detectJournald', () => {
  let dir: string;
  let fd: number;
  beforeAll(() => {
    dir = tempDir('kes-log-');
    fd = fs.openSync(path.join(dir, 'stream'), 'w');
  });
  afterAll(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('true when JOURNAL_STREAM is the fd\'s device:inode', () => {
    const st = fs.fstatSync(fd, { bigint: true });
    expect(detectJournald({ [JOURNAL_STREAM_ENV]: `${st.dev}:${st.ino}` }, fd)).toBe(true);
  });

  test('false when the fd is some other file (JOURNAL_STREAM inherited by a piped child)', () => {
    const st = fs.fstatSync(fd, { bigint: true });
    expect(detectJournald({ [JOURNAL_STREAM_ENV]: `${st.dev}:${st.ino + 1n}` }, fd)).toBe(false);
    expect(detectJournald({ [JOURNAL_STREAM_ENV]: `${st.dev + 1n}:${st.ino}` }, fd)).toBe(false);
  });

  test.each([[undefined], [''], ['garbage'], ['12:'], [':34'], ['1:2:3'], ['-1:5'], [' 1:2']])('false for JOURNAL_STREAM=%j', (value) => {
    const env = value === undefined ? {} : { [JOURNAL_STREAM_ENV]: value };
    expect(detectJournald(env, fd)).toBe(false);
  });

  test('false (not a throw) for a closed fd', () => {
    const other = fs.openSync(path.join(dir, 'closed'), 'w');
    const st = fs.fstatSync(other, { bigint: true });
    fs.closeSync(other);
    expect(detectJournald({ [JOURNAL_STREAM_ENV]: `${st.dev}:${st.ino}` }, other)).toBe(false);
  });
});

describe('createLogger: throttled repeats', () => {
  test(`the same event more than LOG_BURST (${LOG_BURST}) times in a window: the rest are counted, then one line says how many`, () => {
    const { out, log, time } = setup();
    for (let i = 0; i < 25; i++) {
      log.warn('service: bad frame from node', { node: i });
      time.advance(100);
    }
    expect(out.lines).toHaveLength(LOG_BURST);
    expect(out.lines.map((l) => /node=(\d+)$/.exec(l)?.[1])).toEqual([...Array(LOG_BURST).keys()].map(String));
    time.advance(LOG_WINDOW_MS); // the window ends while the agent is quiet: the timer writes the count
    expect(out.lines).toHaveLength(LOG_BURST + 1);
    expect(out.lines.at(-1)).toMatch(/^\S+Z warn  service: bad frame from node repeated 15 more times$/);
    expect(time.live()).toBe(0);
  });

  test('the count is written when the window ends, timed from its first line', () => {
    const { out, log, time } = setup();
    log.info('e');
    time.advance(LOG_WINDOW_MS - 1_000);
    for (let i = 0; i < LOG_BURST; i++) log.info('e');
    expect(out.lines).toHaveLength(LOG_BURST);
    time.advance(999);
    expect(out.lines).toHaveLength(LOG_BURST);
    time.advance(1);
    expect(out.lines.at(-1)).toMatch(/ info  e repeated 1 more time$/);
  });

  test('a repeat after the window: the count first, then the event starts a fresh window', () => {
    const { out, log, time } = setup({ schedule: () => () => undefined }); // no timer: counts only on the next line
    for (let i = 0; i < LOG_BURST + 3; i++) log.info('service: node connected');
    time.advance(LOG_WINDOW_MS);
    log.info('service: node connected', { node: 99 });
    expect(out.lines.slice(LOG_BURST)).toEqual([
      '2026-01-02T03:05:05.678Z info  service: node connected repeated 3 more times',
      '2026-01-02T03:05:05.678Z info  service: node connected node=99',
    ]);
    for (let i = 0; i < LOG_BURST - 1; i++) log.info('service: node connected');
    expect(out.lines).toHaveLength(2 * LOG_BURST + 1); // the new window has its own burst
  });

  test('a line of another event also writes the count of a window that has ended', () => {
    const { out, log, time } = setup({ schedule: () => () => undefined });
    for (let i = 0; i < LOG_BURST + 4; i++) log.warn('noisy');
    time.advance(LOG_WINDOW_MS + 5);
    log.info('agent: key evolved', { evolution: 3 });
    expect(out.lines.slice(-2).map((l) => l.slice(25))).toEqual(['warn  noisy repeated 4 more times', 'info  agent: key evolved evolution=3']);
  });

  test('the throttle key is event and level: other events and other levels keep their own bursts', () => {
    const { out, log } = setup({ level: 'debug' });
    for (let i = 0; i < 3 * LOG_BURST; i++) {
      log.info('a');
      log.warn('a');
      log.info('b');
    }
    log.error('agent: key state failed closed');
    const count = (re: RegExp): number => out.lines.filter((l) => re.test(l)).length;
    expect(count(/ info  a$/)).toBe(LOG_BURST);
    expect(count(/ warn  a$/)).toBe(LOG_BURST);
    expect(count(/ info  b$/)).toBe(LOG_BURST);
    expect(count(/ error agent: key state failed closed$/)).toBe(1);
  });

  test('exactly LOG_BURST repeats: no count line, no timer', () => {
    const { out, log, time } = setup();
    for (let i = 0; i < LOG_BURST; i++) log.info('e');
    expect(time.live()).toBe(0);
    time.advance(10 * LOG_WINDOW_MS);
    log.info('e');
    expect(out.lines).toHaveLength(LOG_BURST + 1);
    expect(out.text).not.toContain('repeated');
  });

  test('json: the count is a field `suppressed`, with no fields of the suppressed lines', () => {
    const { out, log, time } = setup({ format: 'json' });
    for (let i = 0; i < LOG_BURST + 7; i++) log.warn('service: node closed mid-frame', { node: i });
    time.advance(LOG_WINDOW_MS);
    expect(JSON.parse(out.lines.at(-1)!)).toEqual({ time: '2026-01-02T03:05:05.678Z', level: 'warn', event: 'service: node closed mid-frame', suppressed: 7 });
  });

  test('lines below the level are not counted', () => {
    const { out, log, time } = setup({ level: 'info' });
    for (let i = 0; i < 100; i++) log.debug('service: node confirmed');
    time.advance(LOG_WINDOW_MS);
    expect(out.lines).toEqual([]);
    expect(time.live()).toBe(0);
  });

  test('flush() writes every pending count at once (for shutdown) and cancels the timer', () => {
    const { out, log, time } = setup();
    for (let i = 0; i < LOG_BURST + 2; i++) log.warn('x');
    for (let i = 0; i < LOG_BURST + 5; i++) log.info('y');
    expect(time.live()).toBe(1); // one timer, for the earliest window end
    log.flush();
    expect(out.lines.slice(2 * LOG_BURST).map((l) => l.slice(25))).toEqual(['warn  x repeated 2 more times', 'info  y repeated 5 more times']);
    expect(time.live()).toBe(0);
    log.flush();
    expect(out.lines).toHaveLength(2 * LOG_BURST + 2);
  });

  test('windows that end at different times are each counted when theirs ends', () => {
    const { out, log, time } = setup();
    for (let i = 0; i < LOG_BURST + 1; i++) log.warn('first');
    time.advance(20_000);
    for (let i = 0; i < LOG_BURST + 2; i++) log.warn('second');
    time.advance(LOG_WINDOW_MS - 20_000);
    expect(out.lines.at(-1)).toMatch(/ warn  first repeated 1 more time$/);
    time.advance(20_000);
    expect(out.lines.at(-1)).toMatch(/ warn  second repeated 2 more times$/);
    expect(out.lines).toHaveLength(2 * LOG_BURST + 2);
  });

  test('10,000 repeats over ten minutes write at most LOG_BURST + 1 lines per window', () => {
    const { out, log, time } = setup();
    for (let i = 0; i < 10_000; i++) {
      log.info('service: node connected', { node: i });
      time.advance(60); // 10,000 × 60 ms = 600 s = 10 windows
    }
    log.flush();
    const windows = Math.ceil((10_000 * 60) / LOG_WINDOW_MS);
    expect(out.lines.length).toBeLessThanOrEqual(windows * (LOG_BURST + 1));
    // Nothing is lost: written lines plus the counts add up to every call.
    const counted = out.lines.reduce((n, l) => n + Number(/repeated (\d+) more/.exec(l)?.[1] ?? 1), 0);
    expect(counted).toBe(10_000);
  });

  test('burst and window can be set; the default timer (real, unref\'d) writes the count', async () => {
    const out = new Lines();
    const log = createLogger({ out, burst: 1, windowMs: 20 });
    log.warn('w');
    log.warn('w');
    log.warn('w');
    expect(out.lines).toHaveLength(1);
    await eventually('the repeat count is written', () => out.text.includes('repeated'), 5_000);
    expect(out.lines[1]).toMatch(/warn  w repeated 2 more times$/);
  });
});

describe('through the built agent (real sockets)', () => {
  const agentEnv = agentForEachDescribe({ startArgs: ['--log-level', 'debug'] });

  test('a node reconnect loop of 2,000 connections writes a bounded number of lines, and the agent still answers', async () => {
    const e = agentEnv();
    const agent = e.agent!;
    const before = agent.stdout.split('\n').filter(Boolean).length;
    const accept = nativeAccept('service');
    const offerBytes = 4 + 32 * offeredIds('service').length;
    const confirm = encodeMessage({ type: 'confirm', seq: 1, result: 0 });
    const total = 2_000;
    const parallel = 20;
    let done = 0;
    // Each connection picks our protocol, waits for the agent's WELCOME (after its offer), and
    // hangs up (a node that keeps restarting). Every tenth sends garbage then, and every tenth
    // hangs up mid-frame, so warn events are in the loop too.
    const once = (i: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const s = net.createConnection(e.serviceSocket);
        s.on('error', reject);
        s.once('connect', () => s.write(accept));
        let seen = 0;
        const onData = (d: Buffer): void => {
          seen += d.length;
          if (seen <= offerBytes) return;
          s.off('data', onData);
          if (i % 10 === 1) s.end(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
          else if (i % 10 === 2) s.end(confirm.subarray(0, 3));
          else s.end();
        };
        s.on('data', onData);
        s.once('close', () => resolve());
      });
    for (let i = 0; i < total; i += parallel) {
      await Promise.all(Array.from({ length: parallel }, (_, j) => once(i + j)));
      done += parallel;
    }
    expect(done).toBe(total);

    // The agent is alive and answers; the keygen is logged after the loop's lines.
    const keygen = await ctlJson<{ kesVkey: string }>(e, 'keygen');
    expect(keygen.kesVkey).toMatch(/^[0-9a-f]{64}$/);
    await agent.waitFor('control: keygen');

    const lines = agent.stdout.split('\n').filter(Boolean).slice(before);
    const count = (s: string): number => lines.filter((l) => l.includes(s)).length;
    // Unthrottled this is over 4,000 lines (connected + disconnected per node, plus the warnings).
    // Should the loop outlast a window, the next window has its own burst: allow two.
    for (const event of ['service: node connected', 'service: node disconnected', 'service: bad frame from node', 'service: node closed mid-frame']) {
      expect(count(event)).toBeGreaterThanOrEqual(LOG_BURST); // the loop did reach this event
      expect(count(event)).toBeLessThanOrEqual(2 * (LOG_BURST + 1));
    }
    expect(lines.length).toBeLessThan(200);
    expect(agent.stderr).toBe('');
  });
});
