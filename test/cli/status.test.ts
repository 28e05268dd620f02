/**
 * `kes-ctl status`, `--check` and `--watch` through the built binaries against a real agent on
 * real sockets: each key state, the next-step hints, the exit codes monitoring relies on, colour
 * only on a terminal, and a live view that follows changes made by another process.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { agentForEachDescribe, ctlJson, currentPeriod, makeAgentEnv, stageAndCertify, startAgent, stopAgentEnv, type AgentEnv } from '../helpers/agent-env';
import { periodForSpawns, testChain } from '../helpers/test-chain';
import { BIN, Proc, run } from '../helpers/processes';

jest.setTimeout(60_000);

const ESC = '\u001b';
const PROTECTION_KEYS = ['keyMemoryLocked', 'sodiumHeapLocked', 'coreDumpsDisabled', 'peerCredentialsChecked', 'unlockedMemoryAllowed'];

interface StatusJson {
  protection: Record<string, boolean>;
  staged: { kesVkey: string } | null;
  active: { kesVkey: string; periodsRemaining: number } | null;
  expired: { kesVkey: string } | null;
}

/** The env of `e` without NO_COLOR: piped output must have no escapes on its own merits. */
function colourEnv(e: AgentEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...e.env, TERM: 'xterm-256color' };
  delete env['NO_COLOR'];
  return env;
}

function ctlRaw(e: AgentEnv, ...args: string[]): ReturnType<typeof run> {
  return run(BIN.ctl, args, { env: colourEnv(e) });
}

/** kes-ctl under `script`, so its stdout is a pseudo-terminal, as for a person at a shell. */
function onTerminal(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; out: string }> {
  const cmd = [process.execPath, BIN.ctl, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function waitForStatus(e: AgentEnv, ok: (s: StatusJson) => boolean, timeoutMs: number): Promise<StatusJson> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await ctlJson<StatusJson>(e, 'status');
    if (ok(s)) return s;
    if (Date.now() > until) throw new Error(`status did not reach the expected state: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('kes-ctl status against an agent on mainnet time', () => {
  const agent = agentForEachDescribe();

  test('no key: "none", the next step is keygen, --check is critical (8); protection in --json and in the view agree', async () => {
    const e = agent();
    const r = await ctlRaw(e, 'status');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).not.toContain(ESC);
    // The control protocol version kes-ctl and the agent agreed on; from version 2 the agent
    // reports its counter floor, which a fresh agent does not have.
    const protocol = Number(/^kes-agent \S+ \(protocol (\d+)\), network mainnet$/m.exec(r.stdout)?.[1]);
    expect([1, 2]).toContain(protocol);
    expect(r.stdout).toMatch(
      protocol === 1 ? /^counter: +not reported by this agent \(control protocol 1\)$/m : /^counter: +no floor: no key has been active since the agent started, /m,
    );
    expect(r.stdout).toMatch(/^KES period: \d+, started \S+Z \(\d+[dhm][0-9dhm ]* ago\)$/m);
    expect(r.stdout).toMatch(/^ {12}ends \S+Z \(in [0-9dhm ]+\)$/m);
    expect(r.stdout).toMatch(/^active: +none$/m);
    expect(r.stdout).toMatch(/^staged: +none$/m);
    expect(r.stdout).toMatch(/^nodes: +0 connected$/m);
    expect(r.stdout).toMatch(/^next step: +no active key: run kes-ctl keygen and export-verkey, issue the opcert on the cold host, then kes-ctl import-opcert and upload$/m);

    const s = await ctlJson<StatusJson>(e, 'status');
    expect(Object.keys(s.protection)).toEqual(PROTECTION_KEYS);
    for (const k of PROTECTION_KEYS) expect(typeof s.protection[k]).toBe('boolean');
    const yn = (b: boolean | undefined): string => (b ? 'yes' : 'no');
    const p = s.protection;
    expect(r.stdout).toContain(
      `protection: key memory locked: ${yn(p['keyMemoryLocked'])}, sodium heap locked: ${yn(p['sodiumHeapLocked'])}, core dumps off: ${yn(p['coreDumpsDisabled'])}, peer credentials checked: ${yn(p['peerCredentialsChecked'])}`,
    );
    expect(r.stdout.includes('warning:    key memory is NOT locked')).toBe(!p['keyMemoryLocked']);

    const c = await ctlRaw(e, 'status', '--check');
    expect(c.code).toBe(EXIT.NOT_READY);
    expect(c.stdout).toBe('critical: no active key: the node cannot forge\n');
    const cj = await ctlRaw(e, 'status', '--check', '--json');
    expect(cj.code).toBe(EXIT.NOT_READY);
    expect(JSON.parse(cj.stdout)).toEqual({ ok: false, check: 'not-ready', code: 'NOT_READY', exitCode: EXIT.NOT_READY, message: 'no active key: the node cannot forge' });
  });

  test('staged, then certified, then active: each view and its next step', async () => {
    const e = agent();
    const vkey = path.join(e.dir, 'first.vkey');
    const k = await ctlJson<{ kesVkey: string }>(e, 'keygen', '--out', vkey);
    const short = `${k.kesVkey.slice(0, 16)}…`;
    let r = await ctlRaw(e, 'status');
    expect(r.stdout).toContain(`staged:     ${short}, waiting for an opcert\n`);
    expect(r.stdout).toMatch(/^next step: +staged key waiting for an opcert: run kes-ctl export-verkey, issue the opcert on the cold host \(kes-cold issue-opcert or cardano-cli node issue-op-cert\), then kes-ctl import-opcert$/m);
    expect((await ctlRaw(e, 'status', '--check')).code).toBe(EXIT.NOT_READY);

    const period = await currentPeriod(e);
    const opcert = path.join(e.dir, 'first.opcert');
    const issued = await run(BIN.cold, ['issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${period}`, '--out', opcert]);
    expect(issued.code).toBe(0);
    await ctlJson(e, 'import-opcert', opcert);
    r = await ctlRaw(e, 'status');
    expect(r.stdout).toContain(`staged:     ${short}, certified: opcert counter 0, start period ${period}\n`);
    expect(r.stdout).toMatch(/^next step: +staged key certified: run kes-ctl upload to hand it to the nodes$/m);

    await ctlJson(e, 'upload');
    r = await ctlRaw(e, 'status');
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout).toContain(`active:     ${short}, opcert counter 0, start period ${period}\n`);
    expect(r.stdout).toMatch(/^ {12}evolution 0 of 62, 62 periods remaining$/m);
    expect(r.stdout).toMatch(/^ {12}expires \S+Z \(in 9\dd [0-9dhm ]+\)$/m);
    expect(r.stdout).toMatch(/^staged: +none$/m);
    expect(r.stdout).toMatch(/^next step: +nothing to do; rotate the key by \S+Z \(in \d+d [0-9dhm ]+\), 10 KES periods before it expires$/m);
  });

  test('--check with an active key: 0 while more than --warn-periods remain, EXPIRING_SOON (10) within', async () => {
    const e = agent();
    const ok = await ctlRaw(e, 'status', '--check');
    expect(ok.code).toBe(EXIT.OK);
    expect(ok.stdout).toMatch(/^ok: active key \(opcert counter 0\): \d+ KES periods remaining, expires \S+Z \(in [0-9dhm ]+\)\n$/);

    const left = (await ctlJson<StatusJson>(e, 'status')).active!.periodsRemaining;
    const warn = await ctlRaw(e, 'status', '--check', '--warn-periods', String(left));
    expect(warn.code).toBe(EXIT.EXPIRING_SOON);
    expect(warn.stdout).toMatch(new RegExp(`^warning: the active key expires soon: ${left} KES periods remaining, .*; rotate now\\n$`));
    expect((await ctlRaw(e, 'status', '--check', `--warn-periods=${left - 1}`)).code).toBe(EXIT.OK);
    // The human view's next step follows the same threshold.
    expect((await ctlRaw(e, 'status', '--warn-periods', String(left))).stdout).toMatch(/^next step: +expires in \d+ KES periods: rotate now: run kes-ctl keygen/m);
  });

  test('usage errors: --check with --watch, a bad --warn-periods', async () => {
    const e = agent();
    const both = await ctlRaw(e, 'status', '--check', '--watch');
    expect(both.code).toBe(EXIT.USAGE);
    expect(both.stderr).toMatch(/--check and --watch cannot be used together/);
    for (const bad of ['abc', '-1', '256', '1.5']) {
      const r = await ctlRaw(e, 'status', '--check', `--warn-periods=${bad}`);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    }
  });

  test('--help documents --check with its exit codes, --warn-periods, --watch and the protection field', async () => {
    const e = agent();
    const h = await ctlRaw(e, 'status', '--help');
    expect(h.code).toBe(EXIT.OK);
    for (const flag of ['--json', '--check', '--watch', '--warn-periods']) expect(h.stdout).toContain(flag);
    const details = h.stdout.replace(/\s+/g, ' ');
    expect(details).toContain(`${EXIT.EXPIRING_SOON} when it expires within --warn-periods`);
    expect(details).toContain(`${EXIT.NOT_READY} when there is no active key`);
    expect(details).toContain('protection {keyMemoryLocked, sodiumHeapLocked, coreDumpsDisabled, peerCredentialsChecked, unlockedMemoryAllowed}');
  });

  test('on a terminal the view has colour; with NO_COLOR it has none', async () => {
    const e = agent();
    const tty = await onTerminal(colourEnv(e), ['status']);
    expect(tty.code).toBe(EXIT.OK);
    expect(tty.out).toContain(`${ESC}[1mactive:`);
    expect(tty.out).toContain(`${ESC}[32mevolution 0 of 62`);
    const plain = await onTerminal({ ...colourEnv(e), NO_COLOR: '1' }, ['status']);
    expect(plain.code).toBe(EXIT.OK);
    expect(plain.out).toContain('active:');
    expect(plain.out).not.toContain(ESC);
  });

  test('--watch prints the view, a new one after a keygen in another process, and exits 0 on SIGTERM', async () => {
    const e = agent();
    const w = new Proc(BIN.ctl, ['status', '--watch'], colourEnv(e));
    try {
      await w.waitFor(/^next step:/m);
      expect(w.stdout).toMatch(/^staged: +none$/m);
      const k = await ctlJson<{ kesVkey: string }>(e, 'keygen', '--force');
      await w.waitFor(`staged:     ${k.kesVkey.slice(0, 16)}…, waiting for an opcert`);
      await w.waitFor(/^next step:/m, { count: 2 });
    } finally {
      expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
    const blocks = w.stdout.trimEnd().split('\n\n');
    expect(blocks).toHaveLength(2);
    for (const b of blocks) expect(b).toMatch(/^kes-agent \S+ \(protocol \d+\), network mainnet, at \S+Z\n[\s\S]*\nnext step: .*$/);
    expect(w.stdout).not.toContain(ESC);
    expect(w.stderr).toBe('');
    expect((await ctlJson(e, 'drop-staged'))).toEqual({ hadKey: true });
  });

  test('an opcert that starts in a later period: --check is critical and the next step says why', async () => {
    const e = agent();
    const { opcert } = await stageAndCertify(e, { kesPeriod: (await currentPeriod(e)) + 2, name: 'future' });
    await ctlJson(e, 'import-opcert', opcert);
    // A usable key is active from the tests above: replacing it with this one takes --force.
    await ctlJson(e, 'upload', '--force');
    const c = await ctlRaw(e, 'status', '--check');
    expect(c.code).toBe(EXIT.NOT_READY);
    expect(c.stdout).toMatch(/^critical: the active key's opcert starts at KES period \d+ \(current \d+\): the node cannot forge yet\n$/);
    expect((await ctlRaw(e, 'status')).stdout).toMatch(/^next step: +the node cannot forge until KES period \d+ starts/m);
  });
});

describe('kes-ctl status on short KES periods', () => {
  test('an expired key: shown with its expiry, the next step, --check critical (8)', async () => {
    const e = await makeAgentEnv();
    // An opcert lives 2 periods (maxKESEvolutions 2); the two spawns that make it active
    // (import-opcert, upload) must fit in them, with the margin.
    const chain = testChain(e.dir, { periodMs: periodForSpawns(2) / 2, maxKESEvolutions: 2 });
    e.timingArgs = chain.args;
    try {
      await startAgent(e);
      const vkey = path.join(e.dir, 'kes.vkey');
      const { kesVkey } = await ctlJson<{ kesVkey: string }>(e, 'keygen', '--out', vkey);
      // Certified for the next period before it starts, so the spawns after the boundary have
      // the opcert's whole life to run in.
      const c0 = chain.periodAt() + 1;
      const opcert = path.join(e.dir, 'kes.opcert');
      const issued = await run(BIN.cold, ['issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${c0}`, '--out', opcert]);
      expect(issued.code).toBe(0);
      await chain.untilPeriod(c0);
      await ctlJson(e, 'import-opcert', opcert);
      await ctlJson(e, 'upload');
      expect(chain.periodAt()).toBeLessThan(c0 + 2); // else the machine is over 4x slower than measured
      await chain.untilPeriod(c0 + 2);
      await waitForStatus(e, (s) => s.active === null && s.expired !== null, 15_000);
      const r = await ctlRaw(e, 'status');
      expect(r.stdout).toMatch(new RegExp(`^expired: +${kesVkey.slice(0, 16)}…, opcert counter 0, start period ${c0}, expired \\S+Z \\([0-9dhm ]+ ago\\)$`, 'm'));
      expect(r.stdout).toMatch(/^active: +none$/m);
      expect(r.stdout).toMatch(/^next step: +the active key expired: run kes-ctl keygen/m);
      const c = await ctlRaw(e, 'status', '--check');
      expect(c.code).toBe(EXIT.NOT_READY);
      expect(c.stdout).toMatch(/^critical: the active key \(opcert counter 0\) expired at \S+Z: the node cannot forge\n$/);
    } finally {
      await stopAgentEnv(e);
    }
  });
});

describe('kes-ctl status when the agent is away', () => {
  test('--check exits 5 (unreachable) with one stderr line', async () => {
    const e = await makeAgentEnv();
    try {
      const r = await ctlRaw(e, 'status', '--check');
      expect(r.code).toBe(EXIT.UNREACHABLE);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^kes-ctl: error: .*control\.sock.* \[AGENT_SOCKET_MISSING\]\n$/);
    } finally {
      await stopAgentEnv(e);
    }
  });

  test('--watch --json: one line per change; the agent going away is one line; it carries on when the agent is back', async () => {
    const e = await makeAgentEnv();
    let w: Proc | undefined;
    try {
      await startAgent(e);
      w = new Proc(BIN.ctl, ['status', '--watch', '--json'], colourEnv(e));
      await w.waitFor('"event":"status"');
      await e.agent!.stop();
      await w.waitFor('"event":"unreachable"');
      // Several retries pass while the agent is away: still one line.
      await new Promise((r) => setTimeout(r, 2_500));
      await startAgent(e);
      await w.waitFor('"event":"status"', { count: 2, timeoutMs: 20_000 });
      expect(await w.stop('SIGINT')).toEqual({ code: 0, signal: null });
      const lines = w.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l['event'])).toEqual(['status', 'unreachable', 'status']);
      const first = lines[0] as { time: string; status: StatusJson };
      expect(Object.keys(first.status.protection)).toEqual(PROTECTION_KEYS);
      expect(lines[1]).toMatchObject({ code: expect.stringMatching(/^AGENT_/), retryInMs: 1000 });
      expect(w.stderr).toBe('');
    } finally {
      await w?.stop();
      await stopAgentEnv(e);
    }
  });
});
