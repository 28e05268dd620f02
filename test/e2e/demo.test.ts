/**
 * `npm run demo` end to end: the built demo drives the built binaries through the whole life of a
 * key and must say so step by step, verify the node's signature, and leave nothing behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEMO_STEPS, SIGNATURE_VERIFIES } from '../../scripts/demo';
import { ROOT, run, type RunResult } from '../helpers/processes';

const DEMO = path.join(ROOT, 'dist', 'scripts', 'demo.js');
const DEMO_TIMEOUT_MS = 90_000;

describe('npm run demo', () => {
  let r: RunResult;

  beforeAll(async () => {
    r = await run(DEMO, [], { cwd: ROOT, timeoutMs: DEMO_TIMEOUT_MS });
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

  test('the agent stopped cleanly and the temp dir is gone', () => {
    expect(r.stdout).toMatch(/agent: stopped; keys wiped, sockets removed/);
    expect(r.stdout).toContain('agent exited 0');
    const removed = /^removed (.+)$/m.exec(r.stdout);
    expect(removed).not.toBeNull();
    expect(fs.existsSync(removed![1]!)).toBe(false);
  });
});
