/**
 * The no-disk test: while the agent runs the whole flow (start-up, keygen, opcert,
 * upload to nodes, evolution at real period boundaries, drops, shutdown), its open fds are
 * sampled from /proc every few ms, and it must never hold a regular file open for writing.
 * Sampling can miss an open-write-close that falls between two samples; strace is the
 * exhaustive check, and needs a tool CI may not have, so it is run by hand:
 *
 *     strace -f -e trace=%file,%desc -o agent.strace kes-agent run ...   (then the flow)
 *     grep -E 'open(at)?\(.*(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)' agent.strace   → nothing
 *
 * Done once by hand: 165 openat calls, every one O_RDONLY (its own code, node_modules,
 * the cold vkey, /etc/ssl/openssl.cnf); the only filesystem changes were chmod and unlink of
 * its own two sockets.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KesNodeClient } from '../../src/client';
import { readColdVerificationKeyFile } from '../../src/cardano';
import { loadSodium } from '../../src/crypto/sodium';
import { ctl, ctlJson, makeAgentEnv, stageAndCertify, stopAgentEnv } from '../helpers/agent-env';
import { FdSampler, openFds } from '../helpers/proc-fds';
import { BIN, Proc, tempDir } from '../helpers/processes';
import { periodForSpawns, testChain } from '../helpers/test-chain';

const MAX_KES_EVOLUTIONS = 62;
/**
 * Short, so the two evolutions come within a second of the upload. Nothing has to fit in one
 * period; the first key only has to stay valid (MAX_KES_EVOLUTIONS periods) until the second
 * replaces it: 9 spawns and the 2 evolutions, periodForSpawns(9) = 21.6 s + 1.5 s < 62 × 0.5 s.
 */
const PERIOD_MS = 500;
/** Beyond when an event is due: a safety bound, never a wait. */
const OVERDUE_MS = 30_000;
/** How often /proc/<pid>/fd is read (FdSampler: about 0.3 ms a sample, loaded). */
const SAMPLE_EVERY_MS = 2;

const onLinux = process.platform === 'linux' && fs.existsSync(`/proc/${process.pid}/fd`);

/** Run `check`; if it fails, its message ends with `detail`. */
function withDetail(detail: string, check: () => void): void {
  try {
    check();
  } catch (e) {
    if (e instanceof Error) e.message += `\n\n${detail}`;
    throw e;
  }
}

beforeAll(async () => {
  await loadSodium();
});

(onLinux ? test : test.skip)('the agent never holds a regular file open for writing during the whole flow', async () => {
  const e = await makeAgentEnv();
  let sampler: FdSampler | undefined;
  let node: KesNodeClient | undefined;
  try {
    const chain = testChain(e.dir, { periodMs: PERIOD_MS, maxKESEvolutions: MAX_KES_EVOLUTIONS });
    e.timingArgs = chain.args;
    expect(PERIOD_MS * MAX_KES_EVOLUTIONS).toBeGreaterThan(periodForSpawns(9) + 3 * PERIOD_MS);
    // Started by hand (not startAgent) so that sampling begins before the agent reads anything.
    const agent = new Proc(BIN.agent, ['run', '--cold-vkey', e.coldVkey, ...e.timingArgs, '--log-level', 'debug'], e.env);
    e.agent = agent;
    sampler = new FdSampler(agent.child.pid!, SAMPLE_EVERY_MS);
    node = new KesNodeClient({ socketPath: e.serviceSocket, timing: chain.timing, coldVk: readColdVerificationKeyFile(e.coldVkey), backoff: { initialMs: 50, maxMs: 500 } });
    await agent.waitFor('agent: started');
    node.start();
    // The opcerts start now (the chain's clock): kes-cold period would be one more spawn, and
    // kes-cold never touches the agent.
    const { opcert } = await stageAndCertify(e, { kesPeriod: chain.periodAt() });
    await ctlJson(e, 'export-verkey');
    await ctlJson(e, 'import-opcert', opcert);
    const uploaded = agent.mark();
    const up = await ctlJson<{ nodesConfirmed: number }>(e, 'upload');
    expect(up.nodesConfirmed).toBe(1);
    // Two evolutions at real boundaries after the upload (the agent evolves its key in place;
    // nothing may spill): the second is due when the second period after now begins.
    await agent.waitFor('agent: key evolved', { count: 2, after: uploaded, timeoutMs: chain.startOf(chain.periodAt() + 2) - Date.now() + OVERDUE_MS });
    // A second key replaces the first; then both slots are dropped.
    const second = await stageAndCertify(e, { name: 'second', kesPeriod: chain.periodAt() });
    await ctlJson(e, 'import-opcert', second.opcert);
    await ctlJson(e, 'upload');
    await ctlJson(e, 'keygen', '--out', path.join(e.dir, 'third.vkey'));
    expect((await ctl(e, 'status')).code).toBe(0);
    await ctlJson(e, 'drop-active');
    await ctlJson(e, 'drop-staged');
    // The snapshot right before shutdown is taken for sure, not by chance of the timer.
    sampler.sample();
    // The listening sockets and the node's connection are there: the sampler is looking at the right process.
    expect(openFds(agent.child.pid!)!.filter((f) => f.target.startsWith('socket:')).length).toBeGreaterThanOrEqual(3);
    await node.stop();
    const exit = await agent.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
  } finally {
    sampler?.stop();
    await node?.stop();
    await stopAgentEnv(e);
  }
  const s = sampler;
  // What was seen goes in the failure message only: a passing run prints nothing.
  withDetail(`no-disk: ${s.samples} samples of /proc/${s.pid}/fd; kinds of fd seen:\n${s.summary()}`, () => {
    // Enough samples to mean something over a flow of several seconds.
    expect(s.samples).toBeGreaterThan(100);
    expect(s.violations.map((v) => `fd ${v.fd} -> ${v.target}`)).toEqual([]);
  });
}, 90_000);

(onLinux ? test : test.skip)('positive control: the sampler sees a process holding a file open for writing (also once deleted), and one open for reading only', async () => {
  const dir = tempDir('kes-fds-');
  try {
    const written = path.join(dir, 'written.bin');
    const deleted = path.join(dir, 'deleted.bin');
    const read = path.join(dir, 'read.bin');
    fs.writeFileSync(read, 'x');
    const script = [
      `const fs = require('node:fs');`,
      `fs.openSync(${JSON.stringify(read)}, 'r');`,
      `fs.openSync(${JSON.stringify(written)}, 'a');`,
      `fs.openSync(${JSON.stringify(deleted)}, 'a'); fs.unlinkSync(${JSON.stringify(deleted)});`,
      `console.log('open'); setTimeout(() => {}, 60000);`,
    ].join(' ');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the child exited ${code} before opening its files`)));
      });
      const sampler = new FdSampler(child.pid!, SAMPLE_EVERY_MS);
      sampler.sample();
      sampler.stop();
      expect(sampler.violations.map((v) => v.target).sort()).toEqual([`${deleted} (deleted)`, written]);
      expect(sampler.seen.get(`${read} r`)).toEqual({ regular: true, memfd: false, writable: false });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
