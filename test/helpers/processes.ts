/**
 * Running the BUILT binaries (dist/, made by `npm run build`, which `npm test` runs first) as
 * real processes, the way an operator's scripts do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isolatedEnv } from '../../scripts/child-env';

export const ROOT = path.join(__dirname, '..', '..');
export const BIN = {
  cold: path.join(ROOT, 'dist', 'src', 'bin', 'kes-cold.js'),
  agent: path.join(ROOT, 'dist', 'src', 'bin', 'kes-agent.js'),
  ctl: path.join(ROOT, 'dist', 'src', 'bin', 'kes-ctl.js'),
  node: path.join(ROOT, 'dist', 'src', 'bin', 'kes-node.js'),
} as const;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A private temp dir (0700); the caller removes it. */
export function tempDir(prefix = 'kes-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Environment for child processes: nothing inherited that configures the agent (scripts/child-env.ts). */
export const cleanEnv = isolatedEnv;

/** How long a child that ran past its bound gets to exit after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 5_000;

/** Where and as whom a child runs (default: the checkout's cwd, this process's uid and gid). */
export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** With `gid`: run as this user; libuv also drops supplementary groups, as setpriv --clear-groups. */
  uid?: number;
  gid?: number;
}

/** Run `node <bin> <args>` to completion (stopped after `timeoutMs`, a safety bound). */
export function run(bin: string, args: string[], opts: SpawnOptions & { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { ...spawnOptions(opts), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Past the bound: SIGTERM first, so a script that started an agent stops it and cleans up.
    let kill: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), TERM_GRACE_MS);
    }, opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearTimeout(kill);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function spawnOptions(opts: SpawnOptions): { env: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number } {
  return {
    env: opts.env ?? cleanEnv(),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.uid === undefined ? {} : { uid: opts.uid }),
    ...(opts.gid === undefined ? {} : { gid: opts.gid }),
  };
}

/** Offsets into a Proc's output, taken by `mark()`. */
export interface OutputMark {
  readonly stdout: number;
  readonly stderr: number;
}

/** A long-running process whose output is collected and can be awaited line by line. */
export class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private waiters: (() => boolean)[] = [];
  /** Set once the process has exited and its output streams are closed. */
  private ended = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(bin: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv(), opts: Omit<SpawnOptions, 'env'> = {}) {
    this.child = spawn(process.execPath, [bin, ...args], { ...spawnOptions({ ...opts, env }), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.poke();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.poke();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.child.on('close', () => {
      this.ended = true;
      this.poke();
    });
  }

  private poke(): void {
    this.waiters = this.waiters.filter((check) => !check());
  }

  /**
   * Where the output stands now, to wait for what comes after an action: take a mark before the
   * action, then `waitFor(pattern, { after: mark })`. Output already printed never satisfies it.
   */
  mark(): OutputMark {
    return { stdout: this.stdout.length, stderr: this.stderr.length };
  }

  /**
   * Resolve when stdout (or stderr) matches `pattern` `count` times (default 1), counting only
   * output after `after` when given: the nth occurrence after that mark.
   */
  waitFor(pattern: RegExp | string, opts: { timeoutMs?: number; count?: number; stream?: 'stdout' | 'stderr'; after?: OutputMark } = {}): Promise<void> {
    const count = opts.count ?? 1;
    const stream = opts.stream ?? 'stdout';
    const from = opts.after?.[stream] ?? 0;
    const test = (): boolean => {
      const text = (stream === 'stderr' ? this.stderr : this.stdout).slice(from);
      const re = typeof pattern === 'string' ? new RegExp(escapeRe(pattern), 'g') : new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
      return (text.match(re)?.length ?? 0) >= count;
    };
    const failure = (why: string): Error => new Error(`${why} waiting for ${String(pattern)}\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`);
    return new Promise((resolve, reject) => {
      // Output already read decides first; then a process that has ended can print no more.
      const check = (): boolean => {
        if (test()) resolve();
        else if (this.ended) reject(failure('the process ended'));
        else return false;
        clearTimeout(timer);
        return true;
      };
      const timer = setTimeout(() => reject(failure('timed out')), opts.timeoutMs ?? 15_000);
      if (!check()) this.waiters.push(check);
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
