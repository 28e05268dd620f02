/**
 * `npm run fuzz` keeps working: the built fuzzer, run for 20,000 frames against a real agent,
 * passes every check it makes (the model agrees with the agent on every connection, the agent
 * survives, kes-ctl status answers, nodes hold and get the key, RSS bounded, clean stop), and
 * leaves nothing in its TMPDIR, also when interrupted mid-run.
 * The full million-frame run is `npm run fuzz`; its last numbers are in the README (Fuzzing).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { KIND, MAX_FRAME_PAYLOAD_BYTES } from '../../src/protocol';
import { agentForEachDescribe, ctlJson } from '../helpers/agent-env';
import { eventually } from '../helpers/eventually';
import { existsOneLevelDown, privateTmp, processesMentioning } from '../helpers/leftovers';
import { Proc, ROOT, run, type RunResult } from '../helpers/processes';
import { statusKiB } from '../../scripts/proc-stat';

const FUZZ = path.join(ROOT, 'dist', 'scripts', 'fuzz.js');
/** Frames for the smoke run: a few hundred connections, a few seconds. */
const SMOKE_FRAMES = 20_000;
/** The fuzzer sets up an agent and a key with six commands, then fuzzes; a safety bound on a loaded machine. */
const SMOKE_TIMEOUT_MS = 120_000;
/** Up to the agent's start (one command, then the agent): a safety bound. */
const SETUP_TIMEOUT_MS = 60_000;

test(
  `npm run fuzz -- --frames ${SMOKE_FRAMES} passes every check and leaves nothing in its TMPDIR`,
  async () => {
    expect(fs.existsSync(FUZZ)).toBe(true);
    // Its own TMPDIR: checked empty afterwards, and removed whatever the fuzzer did.
    const tmp = privateTmp('kes-fuzz-test-');
    let left: string[];
    let r: RunResult;
    try {
      r = await run(FUZZ, ['--frames', String(SMOKE_FRAMES), '--seed', '20000'], { timeoutMs: SMOKE_TIMEOUT_MS, env: tmp.env });
      left = fs.readdirSync(tmp.dir);
    } finally {
      fs.rmSync(tmp.dir, { recursive: true, force: true });
    }
    if (r.code !== 0) throw new Error(`fuzz exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    expect(left).toEqual([]);
    const sent = /fuzz: sent ([\d,]+) frames over ([\d,]+) connections/.exec(r.stdout);
    expect(sent).not.toBeNull();
    expect(Number(sent![1]!.replace(/,/g, ''))).toBeGreaterThanOrEqual(SMOKE_FRAMES);
    expect(Number(sent![2]!.replace(/,/g, ''))).toBeGreaterThan(1);
    // Both sockets were fuzzed, and connections ended every way the model knows.
    expect(r.stdout).toMatch(/\(control [1-9][\d,]*, service [1-9][\d,]*\)/);
    expect(r.stdout).toMatch(/ERROR MALFORMED_FRAME [1-9]/);
    expect(r.stdout).toMatch(/kept open [1-9]/);
    for (const check of ['agent alive', 'kes-ctl status answers', 'the first node is still connected', 'a fresh node gets the key', 'the agent logged no error', 'the agent stops cleanly']) {
      expect(r.stdout).toMatch(new RegExp(`check: ${check}.*: ok`));
    }
    expect(r.stdout).toContain('fuzz: PASS');
    expect(r.stderr).toBe('');
  },
  SMOKE_TIMEOUT_MS + 10_000,
);

test('interrupted (SIGINT) once its agent runs, it stops the agent and any command, removes its temp dir and exits 130', async () => {
  const tmp = privateTmp('kes-fuzz-test-');
  try {
    const fuzz = new Proc(FUZZ, ['--frames', '1000000', '--seed', '20001'], tmp.env);
    try {
      // The agent has made its sockets (the cold key is there too); set-up commands follow.
      await eventually('the fuzzer\'s agent listens', () => existsOneLevelDown(tmp.dir, 'control.sock'), SETUP_TIMEOUT_MS);
      // The check below sees a live agent: its socket paths name the temp dir.
      expect(processesMentioning(tmp.dir).length).toBeGreaterThan(0);
      fuzz.child.kill('SIGINT');
      expect(await fuzz.exited).toEqual({ code: 130, signal: null });
    } finally {
      await fuzz.stop('SIGKILL');
    }
    expect(fuzz.stderr).toBe('fuzz interrupted (SIGINT)\n');
    expect(fuzz.stdout).not.toContain('fuzz: PASS');
    expect({ left: fs.readdirSync(tmp.dir), processes: processesMentioning(tmp.dir) }).toEqual({ left: [], processes: [] });
  } finally {
    fs.rmSync(tmp.dir, { recursive: true, force: true });
  }
}, SETUP_TIMEOUT_MS + 30_000);

test('a bad option is refused with one line and exit 1, before anything starts', async () => {
  const r = await run(FUZZ, ['--frames', 'many']);
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain('--frames: expected an integer');
});

/** Connect, send `bytes`, read until the agent closes (it refuses the frame with ERROR). */
function sendUntilClosed(socketPath: string, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`the agent did not close ${socketPath}`));
    }, 10_000);
    s.on('connect', () => s.write(bytes));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Frames sent: well past what the 8 MiB default RLIMIT_MEMLOCK holds at 64 KiB each. */
const KEY_KIND_FRAMES = 300;
/** Locked memory the agent may add while refusing them: a few arenas for what is in flight. */
const MAX_LOCKED_GROWTH_KIB = 1024;

describe('found by the fuzzer', () => {
  const agent = agentForEachDescribe();

  test(`${KEY_KIND_FRAMES} KEY-kind frames of 64 KiB sent to the agent leave its locked memory where it was`, async () => {
    // The agent assembles a KEY-kind payload in a locked arena before it can tell the frame is
    // misdirected; FramedSocket must release it after decoding, or each one keeps 64 KiB locked.
    const frame = new Uint8Array(4 + MAX_FRAME_PAYLOAD_BYTES);
    new DataView(frame.buffer).setUint32(0, MAX_FRAME_PAYLOAD_BYTES, false);
    frame[4] = KIND.KEY;
    const env = agent();
    const pid = env.agent!.child.pid!;
    const before = statusKiB(pid, 'VmLck');
    for (let i = 0; i < KEY_KIND_FRAMES; i++) await sendUntilClosed(i % 2 === 0 ? env.serviceSocket : env.controlSocket, frame);
    const after = statusKiB(pid, 'VmLck');
    expect(after - before).toBeLessThanOrEqual(MAX_LOCKED_GROWTH_KIB);
    // The agent refused every one and carries on (kes-ctl status answers).
    expect(env.agent!.child.exitCode).toBeNull();
    await ctlJson(env, 'status');
  });
});
