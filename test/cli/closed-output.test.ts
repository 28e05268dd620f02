/**
 * `kes-ctl status | true`, `kes-ctl upload | head -1`: when the reader of a CLI's stdout (or
 * stderr) has gone, the command ends quietly with the exit code it gives when its output is
 * read. No "Unhandled 'error' event", no stack trace, no exit 1.
 *
 * The closed reader is made deterministic: each command's stdout is the write end of a FIFO
 * whose only reader was closed before the command started, which is what `cmd | true` gives
 * cmd once `true` has exited, without depending on which of the two gets scheduled first.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { type AgentEnv, ctl, makeAgentEnv, stageAndCertify, startAgent, stopAgentEnv } from '../helpers/agent-env';
import { BIN, cleanEnv, run, tempDir } from '../helpers/processes';
import { vectorPath } from '../helpers/vectors';

let dir: string;
let fifos = 0;

beforeAll(() => {
  dir = tempDir('kes-closed-output-');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A write end of a pipe that nobody reads any more (the caller closes it). */
function pipeWithNoReader(): number {
  const fifo = path.join(dir, `out-${fifos++}.fifo`);
  execFileSync('mkfifo', ['-m', '600', fifo]);
  // On Linux, opening a FIFO read-write never blocks; it is the reader the write end needs to open.
  const reader = fs.openSync(fifo, fs.constants.O_RDWR);
  const writer = fs.openSync(fifo, fs.constants.O_WRONLY);
  fs.closeSync(reader);
  return writer;
}

interface ClosedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stderr, or '' when stderr was closed too. */
  stderr: string;
}

/** Run `node <bin> <args>` with stdout (and with `alsoStderr`, stderr) going to a pipe nobody reads. */
function runWithClosedOutput(bin: string, args: string[], env: NodeJS.ProcessEnv, alsoStderr = false): Promise<ClosedRun> {
  const out = pipeWithNoReader();
  try {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', out, alsoStderr ? out : 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve, reject) => {
      // A safety bound only: every command here ends by itself.
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stderr });
      });
    });
  } finally {
    fs.closeSync(out); // the child has its own copy
  }
}

/** Run a command twice, read and unread, and check the unread run ends the same way, quietly. */
async function expectSameOutcomeUnread(bin: string, args: string[], env: NodeJS.ProcessEnv, expectedCode: number): Promise<void> {
  const read = await run(bin, args, { env });
  expect({ args, code: read.code }).toEqual({ args, code: expectedCode });
  expect(read.stdout).not.toBe(''); // there was something to write, so the unread run hit EPIPE
  const unread = await runWithClosedOutput(bin, args, env);
  expect({ args, code: unread.code, signal: unread.signal, stderr: unread.stderr }).toEqual({ args, code: expectedCode, signal: null, stderr: read.stderr });
}

/** Each test runs several processes one after another: room for a loaded 2-core machine. */
const SEQUENTIAL_PROCESSES_TIMEOUT_MS = 90_000;

describe('a CLI whose output nobody reads', () => {
  let e: AgentEnv | undefined;
  afterEach(async () => {
    if (e !== undefined) await stopAgentEnv(e);
    e = undefined;
  });

  test('kes-ctl status, status --check (no key: 8), status --json against an agent: same exit code, nothing on stderr', async () => {
    e = await makeAgentEnv();
    await startAgent(e);
    await expectSameOutcomeUnread(BIN.ctl, ['status'], e.env, EXIT.OK);
    await expectSameOutcomeUnread(BIN.ctl, ['status', '--check'], e.env, EXIT.NOT_READY);
    await expectSameOutcomeUnread(BIN.ctl, ['status', '--json'], e.env, EXIT.OK);
  }, SEQUENTIAL_PROCESSES_TIMEOUT_MS);

  test('kes-ctl upload with its stdout closed still uploads, and says so with exit 0', async () => {
    e = await makeAgentEnv();
    await startAgent(e);
    const { opcert, kesVkey } = await stageAndCertify(e);
    expect((await ctl(e, 'import-opcert', opcert)).code).toBe(0);
    const r = await runWithClosedOutput(BIN.ctl, ['upload'], e.env);
    expect(r).toEqual({ code: EXIT.OK, signal: null, stderr: '' });
    const status = await ctl(e, 'status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ active: { kesVkey } });
  }, SEQUENTIAL_PROCESSES_TIMEOUT_MS);

  test('no agent: exit 5 whether stdout, or stdout and stderr, are closed', async () => {
    const env = cleanEnv({ KES_AGENT_CONTROL_SOCKET: path.join(dir, 'no-agent.sock') });
    const read = await run(BIN.ctl, ['status'], { env });
    expect(read.code).toBe(EXIT.UNREACHABLE);
    expect(read.stderr).toMatch(/^kes-ctl: error: .*no-agent\.sock: no such socket file.*\[AGENT_SOCKET_MISSING\]\n$/);
    const stdoutClosed = await runWithClosedOutput(BIN.ctl, ['status'], env);
    expect(stdoutClosed).toEqual({ code: EXIT.UNREACHABLE, signal: null, stderr: read.stderr });
    // stderr unread too: the error line is what hits EPIPE now.
    expect(await runWithClosedOutput(BIN.ctl, ['status'], env, true)).toEqual({ code: EXIT.UNREACHABLE, signal: null, stderr: '' });
    expect(await runWithClosedOutput(BIN.ctl, ['status', '--check'], env, true)).toEqual({ code: EXIT.UNREACHABLE, signal: null, stderr: '' });
  }, SEQUENTIAL_PROCESSES_TIMEOUT_MS);

  test('the other binaries: kes-cold, kes-node, kes-agent', async () => {
    const env = cleanEnv();
    await expectSameOutcomeUnread(BIN.cold, ['period', '--network', 'preview'], env, EXIT.OK);
    await expectSameOutcomeUnread(BIN.node, ['--help'], env, EXIT.OK);
    await expectSameOutcomeUnread(BIN.agent, ['check-config', '--cold-vkey', vectorPath('cardano-cli', 'cold.vkey'), '--control-socket', path.join(dir, 'c.sock'), '--service-socket', path.join(dir, 's.sock')], env, EXIT.OK);
    // A usage error (exit 2) goes to stderr; with both closed it is still exit 2.
    expect(await runWithClosedOutput(BIN.cold, ['period', '--no-such-flag'], env, true)).toMatchObject({ code: EXIT.USAGE, signal: null });
  }, SEQUENTIAL_PROCESSES_TIMEOUT_MS);
});
