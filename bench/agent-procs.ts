/**
 * Child processes for the agent benchmarks: the built binaries, run the way an operator runs
 * them, plus the bench's own helper processes (node swarm, bare server).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isolatedEnv } from '../scripts/child-env';

const DIST = path.join(__dirname, '..');
/** The unit operators deploy; the bench launches the agent with its environment. */
export const SYSTEMD_UNIT = path.join(DIST, '..', 'deploy', 'systemd', 'kes-agent.service');

/**
 * The variables the unit's `Environment=` lines give the agent (NODE_OPTIONS, MALLOC_ARENA_MAX...),
 * so the bench runs the agent as operators do and cannot drift from the unit. Each line holds
 * one or more space-separated assignments; an assignment may be double-quoted as a whole
 * ("NODE_OPTIONS=--a --b"), as systemd.exec(5) allows.
 */
export function unitEnvironment(unitFile: string = SYSTEMD_UNIT): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of fs.readFileSync(unitFile, 'utf8').matchAll(/^Environment=(.*)$/gm)) {
    for (const a of m[1]!.matchAll(/"([^"]*)"|(\S+)/g)) {
      const assignment = a[1] ?? a[2]!;
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

/** The unit's environment as one line for the report (`A=b C=d`), or "none". */
export function describeEnvironment(env: Record<string, string>): string {
  const parts = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? 'none' : parts.join(' ');
}
export const BIN = {
  agent: path.join(DIST, 'src', 'bin', 'kes-agent.js'),
  ctl: path.join(DIST, 'src', 'bin', 'kes-ctl.js'),
  cold: path.join(DIST, 'src', 'bin', 'kes-cold.js'),
  swarm: path.join(__dirname, 'agent-swarm.js'),
  bareServer: path.join(__dirname, 'agent-bare-server.js'),
  flood: path.join(__dirname, 'agent-flood.js'),
} as const;

/** Output kept per stream of a long-running child, for error reports. @default 65536 */
const OUTPUT_TAIL_CHARS = 65_536;
/** A one-shot command that takes longer than this has hung. @default 30000 */
const RUN_TIMEOUT_MS = 30_000;
/** How long a long-running child may take to print what we wait for. @default 20000 */
const WAIT_TIMEOUT_MS = 20_000;


/**
 * The command that runs `node <args>` with at least `fds` open files allowed. Node cannot raise
 * its own limit, so when the soft limit is too low (and the hard one allows it) a shell raises
 * it and execs node, keeping the pid.
 * @throws Error naming both limits when even the hard limit is too low.
 */
export function nodeCommand(args: string[], fds = 0): { file: string; args: string[] } {
  const direct = { file: process.execPath, args };
  if (fds === 0) return direct;
  const [soft, hard] = fileLimits();
  if (soft >= fds) return direct;
  if (hard < fds) {
    throw new Error(`open-file limit too low: ${fds} needed, soft ${soft}, hard ${hard}; raise it (ulimit -n) and run again`);
  }
  return { file: '/bin/sh', args: ['-c', `ulimit -n ${fds} && exec "$0" "$@"`, process.execPath, ...args] };
}

function fileLimits(): [number, number] {
  const out = execFileSync('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
  const parse = (s: string | undefined): number => (s === undefined || s.trim() === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
  return [parse(out[0]), parse(out[1])];
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to the child's exit with its stdio closed, in ns. */
  ns: number;
}

/** Run `node <args>` to completion. */
export function runNode(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env: isolatedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      const ns = Number(process.hrtime.bigint() - start);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ns });
    });
  });
}

/** Run `node <args>`; throw with its stderr unless it exits 0. */
export async function runOk(what: string, args: string[]): Promise<RunResult> {
  const r = await runNode(args);
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** A long-running child whose output is kept (the tail) and can be waited on. */
export class Child {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  #stdout = '';
  #stderr = '';
  #seen = '';
  #waiters: { test: (seen: string) => boolean; resolve: () => void }[] = [];
  readonly #messages: unknown[] = [];
  #messageWaiters: ((m: unknown) => void)[] = [];

  /** `env`: variables set on top of the isolated environment (the unit's, for the agent). */
  constructor(readonly name: string, args: string[], opts: { fds?: number; ipc?: boolean; env?: Record<string, string> } = {}) {
    const cmd = nodeCommand(args, opts.fds);
    this.child = spawn(cmd.file, cmd.args, { env: isolatedEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? ['ipc' as const] : [])] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.#stdout = tail(this.#stdout + d);
      this.#seen = tail(this.#seen + d);
      this.#poke();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.#stderr = tail(this.#stderr + d)));
    this.child.on('message', (m: unknown) => {
      const w = this.#messageWaiters.shift();
      if (w) w(m);
      else this.#messages.push(m);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name}: not started`);
    return this.child.pid;
  }

  /** Resolve when `text` appears on stdout (from here on; earlier output counts too until consumed). */
  waitFor(text: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
    const test = (seen: string): boolean => seen.includes(text);
    if (test(this.#seen)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(this.#failure(`no "${text}" within ${timeoutMs} ms`)), timeoutMs);
      void this.exited.then((code) => reject(this.#failure(`exited ${code} before "${text}"`)));
      this.#waiters.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  /** The next IPC message from the child. */
  nextMessage(timeoutMs = WAIT_TIMEOUT_MS): Promise<unknown> {
    const queued = this.#messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(this.#failure(`no message within ${timeoutMs} ms`)), timeoutMs);
      void this.exited.then((code) => reject(this.#failure(`exited ${code}`)));
      this.#messageWaiters.push((m) => { clearTimeout(timer); resolve(m); });
    });
  }

  /** SIGTERM (this child only) and wait for it to exit; returns the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  #poke(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test(this.#seen)) return true;
      w.resolve();
      return false;
    });
  }

  #failure(what: string): Error {
    return new Error(`${this.name}: ${what}\n--- stdout (tail):\n${this.#stdout.slice(-2000)}\n--- stderr (tail):\n${this.#stderr.slice(-2000)}`);
  }
}

function tail(s: string): string {
  return s.length > OUTPUT_TAIL_CHARS ? s.slice(-OUTPUT_TAIL_CHARS) : s;
}

/** Resident set size of a process in KiB, from /proc/<pid>/status (VmRSS). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`/proc/${pid}/status: no VmRSS line`);
  return Number(m[1]);
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time (user + system) a process has used so far, in ms (10 ms resolution), from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime, stime are 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
