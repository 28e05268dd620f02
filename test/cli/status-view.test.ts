/**
 * The pure parts of `kes-ctl status`: the assessment behind --check and the next step, the
 * human view, the --watch printer, and the formatting helpers. The built binaries are tested on
 * real sockets in status.test.ts.
 */
import { EXIT } from '../../src/cli/exit-codes';
import { ANSI_PAINT, NO_PAINT, colourEnabled, formatRelative, isoSeconds, shortHex } from '../../src/cli/common/format';
import { toJsonLine } from '../../src/cli/common/json-output';
import { statusJson } from '../../src/cli/ctl/status-json';
import { importWarnings } from '../../src/cli/ctl/import-opcert';
import { DEFAULT_WARN_PERIODS, checkStatus, clockBehind, nextStep } from '../../src/cli/ctl/status-assess';
import { counterFloorText, protectionWarnings, renderStatus } from '../../src/cli/ctl/status-view';
import { WatchPrinter, type WatchMode } from '../../src/cli/ctl/status-watch';
import { KesError } from '../../src/errors';
import { NO_PROTECTION, type Opcert, type Status, type StatusReport } from '../../src/protocol';

const HOUR = 3_600_000;
const PERIOD_MS = 36 * HOUR;
const NOW = Date.UTC(2026, 3, 25, 0, 0, 0);
const PERIOD_START = NOW - 12 * HOUR;
const vk = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const opcert = (counter: number, kesPeriod: number, hot = vk(0xdf)): Opcert => ({ hotVk: hot, counter, kesPeriod, sigma: new Uint8Array(64).fill(9), coldVk: vk(0x21) });
const ALL_ON = { keyMemoryLocked: true, sodiumHeapLocked: true, coreDumpsDisabled: true, peerCredentialsChecked: true, unlockedMemoryAllowed: false };

function status(over: Partial<Status> = {}): Status {
  return {
    agentVersion: '0.1.0',
    network: 'mainnet',
    protocolVersion: 1,
    chainStarted: true,
    currentKesPeriod: 1431,
    currentSlot: 185_500_000,
    periodStartMs: PERIOD_START,
    nextPeriodMs: PERIOD_START + PERIOD_MS,
    slotsPerKesPeriod: 129_600,
    maxKesEvolutions: 62,
    serviceClients: 2,
    protection: ALL_ON,
    staged: null,
    active: null,
    expired: null,
    warnings: [],
    ...over,
  };
}

/** A status from a control version 2 connection, which carries the counter floor. */
function withFloor(counterFloor: number | null, over: Partial<Status> = {}): StatusReport {
  return { ...status({ protocolVersion: 2, ...over }), counterFloor };
}

/** An active key started at `start`, as the agent reports it at period 1431. */
function active(start: number, counter = 7): NonNullable<Status['active']> {
  const evolution = 1431 - start;
  const periodsRemaining = 62 - evolution;
  return { kesVk: vk(0xdf), opcert: opcert(counter, start), evolution, periodsRemaining, expiresAtMs: PERIOD_START + periodsRemaining * PERIOD_MS, installedAtMs: NOW - HOUR };
}

describe('checkStatus (--check)', () => {
  test.each([
    ['no key at all', status(), 'not-ready', EXIT.NOT_READY, /^no active key: the node cannot forge$/],
    [
      'the key expired',
      status({ expired: { kesVk: vk(3), counter: 6, startKesPeriod: 1360, expiredAtMs: NOW - HOUR } }),
      'not-ready',
      EXIT.NOT_READY,
      /^the active key \(opcert counter 6\) expired at 2026-04-24T23:00:00Z: the node cannot forge$/,
    ],
    ['the opcert starts in the future', status({ active: { ...active(1431), opcert: opcert(7, 1433) } }), 'not-ready', EXIT.NOT_READY, /starts at KES period 1433 \(current 1431\)/],
    ['10 periods remaining (default warn 10)', status({ active: active(1379) }), 'expiring-soon', EXIT.EXPIRING_SOON, /^the active key expires soon: 10 KES periods remaining/],
    ['1 period remaining', status({ active: active(1430 - 60) }), 'expiring-soon', EXIT.EXPIRING_SOON, /1 KES period remaining/],
    ['11 periods remaining', status({ active: active(1380) }), 'ok', EXIT.OK, /^active key \(opcert counter 7\): 11 KES periods remaining, expires /],
    ['chain not started, key present', status({ chainStarted: false, currentKesPeriod: 0, active: active(1431) }), 'chain-not-started', EXIT.CHAIN_NOT_STARTED, /has not started/],
    [
      'the clock went back a period: the key is one evolution ahead',
      status({ active: { ...active(1425), evolution: 7 } }),
      'not-ready',
      EXIT.NOT_READY,
      /^the clock went back: the active key is at evolution 7 but the current KES period 1431 needs evolution 6; nodes cannot sign until period 1432 starts 2026-04-26T00:00:00Z \(in 1d 0h 0m\)$/,
    ],
    [
      'the clock went back to before the opcert start',
      status({ active: { ...active(1431), opcert: opcert(7, 1432), evolution: 1 } }),
      'not-ready',
      EXIT.NOT_READY,
      /^the clock went back: the active key is at evolution 1 but the current KES period 1431 needs evolution 0; nodes cannot sign until period 1433 starts /,
    ],
  ])('%s', (_name, s, level, exitCode, message) => {
    const r = checkStatus(s, DEFAULT_WARN_PERIODS, NOW);
    expect(r.level).toBe(level);
    expect(r.exitCode).toBe(exitCode);
    expect(r.message).toMatch(message);
  });

  test('clockBehind: only a key evolved past what the current period needs', () => {
    expect(clockBehind(status({ active: active(1425) }))).toBeUndefined();
    expect(clockBehind(status({ active: { ...active(1431), opcert: opcert(7, 1433) } }))).toBeUndefined(); // waits at 0
    expect(clockBehind(status({ chainStarted: false, currentKesPeriod: 0, active: { ...active(1431), evolution: 1 } }))).toBeUndefined();
    expect(clockBehind(status({ active: { ...active(1425), evolution: 8 } }))).toEqual({
      evolution: 8,
      needed: 6,
      signsAgainPeriod: 1433,
      signsAgainAtMs: PERIOD_START + 2 * PERIOD_MS,
    });
  });

  test('--warn-periods moves the line between ok and expiring-soon', () => {
    const s = status({ active: active(1400) }); // 31 periods remaining
    expect(checkStatus(s, 31, NOW).exitCode).toBe(EXIT.EXPIRING_SOON);
    expect(checkStatus(s, 30, NOW).exitCode).toBe(EXIT.OK);
    expect(checkStatus(s, 0, NOW).exitCode).toBe(EXIT.OK);
  });

  test('the exit codes are distinct, so monitoring can tell warning from critical', () => {
    expect(new Set([EXIT.OK, EXIT.EXPIRING_SOON, EXIT.NOT_READY, EXIT.CHAIN_NOT_STARTED, EXIT.UNREACHABLE]).size).toBe(5);
    expect(EXIT.EXPIRING_SOON).toBe(10);
  });
});

describe('nextStep', () => {
  const certified = { kesVk: vk(0x3d), opcert: opcert(8, 1431, vk(0x3d)) };
  test.each([
    ['no key at all', status(), 'now', /^no active key: run kes-ctl keygen and export-verkey, issue the opcert on the cold host, then kes-ctl import-opcert and upload$/],
    ['expired', status({ expired: { kesVk: vk(3), counter: 6, startKesPeriod: 1360, expiredAtMs: NOW } }), 'now', /^the active key expired: run kes-ctl keygen/],
    ['staged, no opcert, no active key', status({ staged: { kesVk: vk(0x3d), opcert: null } }), 'now', /^staged key waiting for an opcert: run kes-ctl export-verkey, issue the opcert on the cold host .*then kes-ctl import-opcert$/],
    ['staged, no opcert, healthy active key', status({ staged: { kesVk: vk(0x3d), opcert: null }, active: active(1430) }), 'none', /^staged key waiting for an opcert/],
    ['staged and certified', status({ staged: certified, active: active(1379) }), 'soon', /^staged key certified: run kes-ctl upload/],
    ['staged opcert expired', status({ staged: { kesVk: vk(0x3d), opcert: opcert(8, 1369) } }), 'now', /^the staged key's opcert \(start period 1369\) has expired/],
    ['active expiring', status({ active: active(1379) }), 'soon', /^expires in 10 KES periods: rotate now: run kes-ctl keygen .*\(docs\/operator-guide\.md\)$/],
    ['active opcert in the future', status({ active: { ...active(1431), opcert: opcert(7, 1432) } }), 'now', /^the node cannot forge until KES period 1432 starts/],
    ['the clock went back', status({ active: { ...active(1425), evolution: 7 } }), 'now', /^check the host clock \(NTP\): the key cannot evolve backwards and signs again from KES period 1432 \(in 1d 0h 0m\); to forge sooner, run kes-ctl keygen/],
    ['healthy', status({ active: active(1430) }), 'none', /^nothing to do; rotate the key by \S+Z \(in \d+d [\dhm ]+\), 10 KES periods before it expires$/],
  ])('%s', (_name, s, urgency, text) => {
    const step = nextStep(s, DEFAULT_WARN_PERIODS, NOW);
    expect(step.urgency).toBe(urgency);
    expect(step.text).toMatch(text);
  });

  test('the rotate-by date is warnPeriods periods before expiry', () => {
    const a = active(1430);
    const step = nextStep(status({ active: a }), 10, NOW);
    expect(step.text).toContain(isoSeconds(a.expiresAtMs - 10 * PERIOD_MS));
  });
});

describe('renderStatus', () => {
  const full = withFloor(7, {
    staged: { kesVk: vk(0x3d), opcert: null },
    active: active(1430),
    warnings: ['the staged key has no opcert yet: import one issued for its verification key'],
  });

  test('shows period start and end, the active key, the staged key, the counter floor, nodes, protections, warnings, next step', () => {
    const text = renderStatus(full, { nowMs: NOW, warnPeriods: 10 });
    expect(text.split('\n')).toEqual([
      'kes-agent 0.1.0 (protocol 2), network mainnet',
      'KES period: 1431, started 2026-04-24T12:00:00Z (12h 0m ago)',
      '            ends 2026-04-26T00:00:00Z (in 1d 0h 0m)',
      `active:     ${'df'.repeat(8)}…, opcert counter 7, start period 1430`,
      '            evolution 1 of 62, 61 periods remaining',
      `            expires ${isoSeconds(PERIOD_START + 61 * PERIOD_MS)} (in 91d 0h 0m)`,
      `staged:     ${'3d'.repeat(8)}…, waiting for an opcert`,
      'counter:    floor 7: an opcert with a lower counter is refused (the highest counter active since the agent started)',
      'nodes:      2 connected',
      'protection: key memory locked: yes, sodium heap locked: yes, core dumps off: yes, peer credentials checked: yes',
      'warning:    the staged key has no opcert yet: import one issued for its verification key',
      expect.stringMatching(/^next step: {2}staged key waiting for an opcert: run kes-ctl export-verkey/),
    ]);
  });

  test('no ANSI escape without a paint, and escapes with ANSI_PAINT', () => {
    expect(renderStatus(full, { nowMs: NOW, warnPeriods: 10 })).not.toMatch(/\u001b/);
    const coloured = renderStatus(full, { nowMs: NOW, warnPeriods: 10, paint: ANSI_PAINT });
    expect(coloured).toContain('\u001b[1mactive:');
    // Stripping the escapes gives the plain view back: colour adds nothing else.
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(renderStatus(full, { nowMs: NOW, warnPeriods: 10 }));
  });

  test('no key: "none" in red, the chain not started: when it starts', () => {
    const text = renderStatus(status({ chainStarted: false, currentKesPeriod: 0, nextPeriodMs: NOW + 2 * HOUR }), { nowMs: NOW, warnPeriods: 10, paint: ANSI_PAINT });
    expect(text).toContain('\u001b[31mnone\u001b[0m');
    expect(text).toContain('none yet: the chain starts 2026-04-25T02:00:00Z (in 2h 0m)');
  });

  test('an expired key, a certified staged key, showTime', () => {
    const text = renderStatus(
      status({ expired: { kesVk: vk(3), counter: 6, startKesPeriod: 1360, expiredAtMs: NOW - HOUR }, staged: { kesVk: vk(0x3d), opcert: opcert(8, 1431) } }),
      { nowMs: NOW, warnPeriods: 10, showTime: true },
    );
    expect(text).toContain('network mainnet, at 2026-04-25T00:00:00Z');
    expect(text).toContain(`expired:    ${'03'.repeat(8)}…, opcert counter 6, start period 1360, expired 2026-04-24T23:00:00Z (1h 0m ago)`);
    expect(text).toContain('certified: opcert counter 8, start period 1431');
    expect(text).toContain('next step:  staged key certified: run kes-ctl upload');
  });

  test('the counter floor: a number, none (in yellow: old opcerts cannot be told apart), or not reported by a version 1 agent', () => {
    const none = renderStatus(withFloor(null), { nowMs: NOW, warnPeriods: 10, paint: ANSI_PAINT });
    expect(none).toContain(
      "\u001b[33mno floor: no key has been active since the agent started, so it cannot refuse an old opcert; check the counter against the cold host's counter file\u001b[0m",
    );
    expect(renderStatus(withFloor(26), { nowMs: NOW, warnPeriods: 10 })).toMatch(/^counter: {4}floor 26: an opcert with a lower counter is refused/m);
    expect(renderStatus(status(), { nowMs: NOW, warnPeriods: 10 })).toMatch(/^counter: {4}not reported by this agent \(control protocol 1\)$/m);
    expect(counterFloorText(withFloor(0))).toEqual({ text: expect.stringMatching(/^floor 0: /), warn: false });
  });

  test('memory not locked is a warning; with --allow-unlocked-memory it says how to fix it', () => {
    expect(protectionWarnings(ALL_ON)).toEqual([]);
    expect(protectionWarnings(NO_PROTECTION)).toEqual(['key memory is NOT locked: the key can reach swap or a core dump']);
    const allowed = protectionWarnings({ ...NO_PROTECTION, unlockedMemoryAllowed: true });
    expect(allowed[0]).toMatch(/--allow-unlocked-memory.*RLIMIT_MEMLOCK/);
    const text = renderStatus(status({ protection: NO_PROTECTION }), { nowMs: NOW, warnPeriods: 10 });
    expect(text).toContain('protection: key memory locked: no, sodium heap locked: no, core dumps off: no, peer credentials checked: no');
    expect(text).toContain('warning:    key memory is NOT locked');
  });
});

describe('statusJson', () => {
  test('carries every protection field and full hex keys, no byte arrays', () => {
    const j = statusJson(status({ active: active(1430), protection: { ...ALL_ON, peerCredentialsChecked: false } }));
    expect(j['protection']).toEqual({ ...ALL_ON, peerCredentialsChecked: false });
    expect((j['active'] as { kesVkey: string }).kesVkey).toBe('df'.repeat(32));
    expect(() => toJsonLine(j)).not.toThrow();
    expect(Object.keys(j)).toEqual([
      'agentVersion', 'network', 'protocolVersion', 'chainStarted', 'currentKesPeriod', 'currentSlot', 'periodStart', 'nextPeriodStart',
      'slotsPerKesPeriod', 'maxKesEvolutions', 'serviceClients', 'protection', 'staged', 'active', 'expired', 'warnings',
    ]);
  });

  test('counterFloor: the number, null for none, absent when the agent does not report it (control protocol 1)', () => {
    expect(statusJson(withFloor(26))['counterFloor']).toBe(26);
    const none = statusJson(withFloor(null));
    expect(none['counterFloor']).toBeNull();
    expect(Object.keys(none).slice(-2)).toEqual(['counterFloor', 'warnings']);
    expect('counterFloor' in statusJson(status())).toBe(false);
  });
});

describe('import-opcert warnings', () => {
  const r = { kesVk: vk(0xdf), counter: 5, startKesPeriod: 1431, currentKesPeriod: 1431, startsInFuture: false };
  test('a warning only when the agent says it had no floor to check the counter against', () => {
    expect(importWarnings({ ...r, counterFloor: null })).toEqual([
      "the agent has had no active key since it started, so it could not check counter 5 against earlier ones: make sure it is not below the last counter the chain has seen for the pool (the cold host's counter file holds the next one)",
    ]);
    expect(importWarnings({ ...r, counterFloor: 5 })).toEqual([]);
    expect(importWarnings(r)).toEqual([]); // a version 1 agent does not say
  });
});

describe('WatchPrinter', () => {
  function printer(mode: WatchMode): { out: string[]; p: WatchPrinter } {
    const out: string[] = [];
    const p = new WatchPrinter({
      mode,
      write: (t) => out.push(t),
      now: () => NOW,
      render: (s, showTime) => renderStatus(s, { nowMs: NOW, warnPeriods: 10, showTime }),
      json: statusJson,
      jsonLine: toJsonLine,
    });
    return { out, p };
  }
  const gone = new KesError('AGENT_SOCKET_MISSING', '/run/kes-agent/control.sock: no socket');

  test('piped: prints the first view, nothing while only the slot moves, a blank line and the new view on a change', () => {
    const { out, p } = printer('text');
    p.status(status());
    p.status(status({ currentSlot: 185_500_001 }));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^kes-agent 0\.1\.0 .*, at 2026-04-25T00:00:00Z\n/);
    p.status(status({ serviceClients: 3 }));
    expect(out).toHaveLength(2);
    expect(out[1]).toMatch(/^\nkes-agent .*\n[\s\S]*nodes: {6}3 connected/);
    expect(out.join('')).not.toMatch(/\u001b/);
  });

  test('the agent going away is one line; when it is back the view is printed again even if unchanged', () => {
    const { out, p } = printer('text');
    p.status(status());
    p.unreachable(gone, 1000);
    expect(out[1]).toBe('\n2026-04-25T00:00:00Z agent unreachable: /run/kes-agent/control.sock: no socket [AGENT_SOCKET_MISSING]; retrying until it is back\n');
    p.status(status());
    expect(out).toHaveLength(3);
    expect(out[2]).toMatch(/^\nkes-agent /);
  });

  test('json: one line per change, status wrapped with event and time; unreachable with its code', () => {
    const { out, p } = printer('json');
    p.status(status());
    p.status(status({ currentSlot: 1 }));
    p.unreachable(gone, 2000);
    p.status(status());
    expect(out).toHaveLength(3);
    const lines = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ event: 'status', time: '2026-04-25T00:00:00.000Z', status: { network: 'mainnet', serviceClients: 2 } });
    expect(lines[1]).toEqual({ event: 'unreachable', time: '2026-04-25T00:00:00.000Z', code: 'AGENT_SOCKET_MISSING', message: gone.message, retryInMs: 2000 });
    expect(lines[2]).toMatchObject({ event: 'status' });
    expect(out.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
  });

  test('tty: clears and redraws on a change, also when only the relative times moved', () => {
    const out: string[] = [];
    let now = NOW + 10_000;
    const p = new WatchPrinter({
      mode: 'tty',
      write: (t) => out.push(t),
      now: () => now,
      render: (s, showTime) => renderStatus(s, { nowMs: now, warnPeriods: 10, showTime }),
      json: statusJson,
      jsonLine: toJsonLine,
    });
    p.status(status());
    now += 1000; // same minute: nothing to redraw
    p.status(status());
    now += 60_000;
    p.status(status());
    expect(out).toHaveLength(2);
    expect(out.every((t) => t.startsWith('\u001b[H\u001b[2J'))).toBe(true);
    p.unreachable(gone, 1000);
    expect(out[2]).toMatch(/^2026-04-25T00:01:11Z agent unreachable/);
  });
});

describe('format helpers', () => {
  test('formatRelative, isoSeconds, shortHex', () => {
    expect(formatRelative(NOW + 20 * HOUR + 3 * 60_000, NOW)).toBe('in 20h 3m');
    expect(formatRelative(NOW - 26 * HOUR, NOW)).toBe('1d 2h 0m ago');
    expect(isoSeconds(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05Z');
    expect(shortHex('ab'.repeat(32))).toBe(`${'ab'.repeat(8)}…`);
    expect(shortHex('abcd')).toBe('abcd');
  });

  test('colour only on a TTY, never with NO_COLOR (even empty) or TERM=dumb', () => {
    expect(colourEnabled({ isTTY: true }, { TERM: 'xterm' })).toBe(true);
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({}, {})).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(NO_PAINT('red', 'x')).toBe('x');
    expect(ANSI_PAINT('red', 'x')).toBe('\u001b[31mx\u001b[0m');
  });
});
