/**
 * `npm run demo` end to end: the built demo drives the built binaries through the whole life of a
 * key and must say so step by step, verify the node's signature, and leave nothing behind, also
 * when it is interrupted. Each run gets its own TMPDIR, which must be empty when the demo exits.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEMO_STEPS, HEALED_LINE, SIGNATURE_VERIFIES, demoSteps } from '../../scripts/demo';
import { privateTmp, processesMentioning } from '../helpers/leftovers';
import { Proc, ROOT, run, type RunResult } from '../helpers/processes';

const DEMO = path.join(ROOT, 'dist', 'scripts', 'demo.js');
/** Safety bounds on a loaded machine, never waits. */
const DEMO_TIMEOUT_MS = 90_000;
const AGENT_START_TIMEOUT_MS = 30_000;

describe('npm run demo', () => {
  let r: RunResult;
  let left: string[];

  beforeAll(async () => {
    const tmp = privateTmp('kes-demo-test-');
    try {
      r = await run(DEMO, [], { cwd: ROOT, timeoutMs: DEMO_TIMEOUT_MS, env: tmp.env });
      left = fs.readdirSync(tmp.dir);
    } finally {
      fs.rmSync(tmp.dir, { recursive: true, force: true });
    }
  }, DEMO_TIMEOUT_MS + 5_000);

  test('exits 0 with nothing on stderr', () => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });

  test('prints every step, numbered, in order', () => {
    const lines = r.stdout.split('\n');
    const at = DEMO_STEPS.map((title, i) => lines.indexOf(`${i + 1}. ${title}`));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  test('prints each command it ran, runnable from the repository root', () => {
    const commands = r.stdout.split('\n').filter((l) => l.startsWith('   $ '));
    for (const bin of ['kes-cold.js keygen', 'kes-agent.js run', 'kes-ctl.js keygen', 'kes-ctl.js export-verkey', 'kes-cold.js period', 'kes-cold.js issue-opcert', 'kes-ctl.js import-opcert', 'kes-ctl.js upload', 'kes-ctl.js status', 'kes-node.js sign']) {
      expect(commands.some((c) => c.startsWith(`   $ node dist/src/bin/${bin}`))).toBe(true);
    }
  });

  test('the node signed with the uploaded key and the signature verifies', () => {
    expect(r.stdout).toMatch(/nodes: 0 of 0 confirmed/);
    expect(r.stdout).toMatch(/active: +[0-9a-f]{16}…, opcert counter 0/);
    expect(r.stdout.split('\n')).toContain(`     ${SIGNATURE_VERIFIES}`);
  });

  test('the agent stopped cleanly and the temp dir is gone, with nothing else left in TMPDIR', () => {
    expect(r.stdout).toMatch(/agent: stopped; keys wiped, sockets removed/);
    expect(r.stdout).toContain('agent exited 0');
    const removed = /^removed (.+)$/m.exec(r.stdout);
    expect(removed).not.toBeNull();
    expect(fs.existsSync(removed![1]!)).toBe(false);
    expect(left).toEqual([]);
  });
});

describe('npm run demo -- --with-peer: a second agent heals the first', () => {
  let r: RunResult;
  let left: string[];

  beforeAll(async () => {
    const tmp = privateTmp('kes-demo-peer-test-');
    try {
      r = await run(DEMO, ['--with-peer'], { cwd: ROOT, timeoutMs: DEMO_TIMEOUT_MS, env: tmp.env });
      left = fs.readdirSync(tmp.dir);
    } finally {
      fs.rmSync(tmp.dir, { recursive: true, force: true });
    }
  }, DEMO_TIMEOUT_MS + 5_000);

  test('exits 0, every step in order, nothing left behind', () => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    const at = demoSteps(true).map((title, i) => lines.indexOf(`${i + 1}. ${title}`));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(left).toEqual([]);
  });

  test('the restarted first agent took the key back from the second, and its status lists the peer with that key', () => {
    const steps = demoSteps(true);
    const restart = r.stdout.indexOf(`${steps.indexOf('restart the first agent: it takes the key back from the second') + 1}. `);
    expect(restart).toBeGreaterThan(0);
    const after = r.stdout.slice(restart);
    expect(after).toContain(HEALED_LINE);
    expect(after).toMatch(/peer: +\S+peer-service\.sock: up since/);
    expect(after).toMatch(/last key [0-9a-f]{16}…, opcert counter 0, evolution \d+/);
    expect(r.stdout).toContain('second agent exited 0');
  });
});

test('interrupted (SIGINT) once its agent runs, the demo stops the agent and any command, removes its temp dir and exits 130', async () => {
  const tmp = privateTmp('kes-demo-test-');
  try {
    const demo = new Proc(DEMO, [], tmp.env);
    try {
      await demo.waitFor('agent: started', { timeoutMs: AGENT_START_TIMEOUT_MS });
      // The check below sees a live agent: its socket paths name the temp dir.
      expect(processesMentioning(tmp.dir).length).toBeGreaterThan(0);
      demo.child.kill('SIGINT');
      expect(await demo.exited).toEqual({ code: 130, signal: null });
    } finally {
      await demo.stop('SIGKILL');
    }
    expect(demo.stderr).toBe('demo interrupted (SIGINT)\n');
    expect({ left: fs.readdirSync(tmp.dir), processes: processesMentioning(tmp.dir) }).toEqual({ left: [], processes: [] });
  } finally {
    fs.rmSync(tmp.dir, { recursive: true, force: true });
  }
}, AGENT_START_TIMEOUT_MS + 30_000);
