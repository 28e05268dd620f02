/**
 * `npm run fuzz` keeps working: the built fuzzer, run for 20,000 frames against a real agent,
 * passes every check it makes (the model agrees with the agent on every connection, the agent
 * survives, kes-ctl status answers, nodes hold and get the key, RSS bounded, clean stop).
 * The full million-frame run is `npm run fuzz`; its numbers are in the session note.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, run } from '../helpers/processes';

const FUZZ = path.join(ROOT, 'dist', 'scripts', 'fuzz.js');
/** Frames for the smoke run: a few hundred connections, a few seconds. */
const SMOKE_FRAMES = 20_000;
/** The fuzzer sets up an agent and a key with six commands, then fuzzes; generous on a loaded machine. */
const SMOKE_TIMEOUT_MS = 120_000;

test(
  `npm run fuzz -- --frames ${SMOKE_FRAMES} passes every check`,
  async () => {
    expect(fs.existsSync(FUZZ)).toBe(true);
    const r = await run(FUZZ, ['--frames', String(SMOKE_FRAMES), '--seed', '20000'], { timeoutMs: SMOKE_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`fuzz exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
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

test('a bad option is refused with one line and exit 1, before anything starts', async () => {
  const r = await run(FUZZ, ['--frames', 'many']);
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain('--frames: expected an integer');
});
