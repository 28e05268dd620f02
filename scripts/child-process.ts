/**
 * kes-agent's built binaries (and the benchmarks' helper scripts) run by node as children of the
 * tests, the demo, the fuzzer and the benchmarks: to completion (`runNode`, `runOk`), or kept
 * running (`NodeChild`) with their output collected, waited on by pattern and stopped with a
 * signal. A `ChildGroup` holds the children a script must not leave behind when it ends or is
 * interrupted. Children get the isolated environment of child-env.ts unless given another. An
 * `executable` runs in node's place, for what starts node itself (the sh launcher bin/kes-agent).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { isolatedEnv } from './child-env';

/** A one-shot command that runs longer than this has hung and is killed. @default 30000 */
export const RUN_TIMEOUT_MS = 30_000;
/** How long a long-running child may take to print what is waited for. @default 15000 */
export const WAIT_TIMEOUT_MS = 15_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunOutput extends Exit {
  stdout: string;
  stderr: string;
}

/**
 * What the child wrote, byte for byte: the text is decoded as UTF-8, which turns stray binary into
 * U+FFFD, so a test that inspects everything a child wrote reads these.
 */
export interface OutputBytes {
  stdout: Buffer;
  stderr: Buffer;
}

export interface RunResult extends RunOutput {
  bytes: OutputBytes;
  /** Wall time from spawn to the child's exit with its stdio closed, in ns. */
  ns: number;
}

/** A child that exited non-zero (runOk), printed nothing that was waited for, or may not start. */
export class ChildFailed extends Error {}

/** Where, as whom and with what the child runs (default: this process's cwd, uid and gid, isolatedEnv()). */
export interface SpawnOptions {
  /** Run this file with the args instead of node: the args are then its own, not node's. */
  executable?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** With `gid`: run as this user; libuv also drops supplementary groups, as setpriv --clear-groups. */
  uid?: number;
  gid?: number;
  /** Open files the child must be allowed at least (see nodeCommand). */
  fds?: number;
  /** The group this child belongs to: stopped with it, and not started once it was interrupted. */
  group?: ChildGroup;
}

export interface RunOptions extends SpawnOptions {
  /** Written to the child's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** The safety bound. @default RUN_TIMEOUT_MS */
  timeoutMs?: number;
  /**
   * Past the bound: SIGTERM, and SIGKILL this much later, so a child that started children of its
   * own stops them and cleans up. Without it the child gets SIGKILL at once.
   */
  termGraceMs?: number;
}

/**
 * The command that runs `node <args>` (or `executable <args>`) with at least `fds` open files
 * allowed. Node cannot raise its own limit, so when the soft limit is too low (and the hard one
 * allows it) a shell raises it and execs the command, keeping the pid.
 * @throws Error naming both limits when even the hard limit is too low.
 */
export function nodeCommand(args: string[], fds = 0, executable: string = process.execPath): { file: string; args: string[] } {
  const direct = { file: executable, args };
  if (fds === 0) return direct;
  const [soft, hard] = fileLimits();
  if (soft >= fds) return direct;
  if (hard < fds) {
    throw new Error(`open-file limit too low: ${fds} needed, soft ${soft}, hard ${hard}; raise it (ulimit -n) and run again`);
  }
  return { file: '/bin/sh', args: ['-c', `ulimit -n ${fds} && exec "$0" "$@"`, executable, ...args] };
}

function fileLimits(): [number, number] {
  const out = execFileSync('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
  const parse = (s: string | undefined): number => (s === undefined || s.trim() === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
  return [parse(out[0]), parse(out[1])];
}

function spawnOptions(opts: SpawnOptions): { env: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number } {
  return {
    env: opts.env ?? isolatedEnv(),
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.uid === undefined ? {} : { uid: opts.uid }),
    ...(opts.gid === undefined ? {} : { gid: opts.gid }),
  };
}

/** Run `node <args>` (or `executable <args>`) to completion; rejects only when it cannot be started. */
export function runNode(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    opts.group?.admit();
    const cmd = nodeCommand(args, opts.fds, opts.executable);
    // The clock starts at spawn: the benchmarks compare this wall time with `node -e 0`'s.
    const start = process.hrtime.bigint();
    const child = spawn(cmd.file, cmd.args, { ...spawnOptions(opts), stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    opts.group?.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let kill: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      if (opts.termGraceMs === undefined) {
        child.kill('SIGKILL');
        return;
      }
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), opts.termGraceMs);
    }, opts.timeoutMs ?? RUN_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearTimeout(kill);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const ns = Number(process.hrtime.bigint() - start);
      clearTimeout(timer);
      clearTimeout(kill);
      const bytes = { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
      resolve({ code, signal, stdout: bytes.stdout.toString('utf8'), stderr: bytes.stderr.toString('utf8'), bytes, ns });
    });
    if (opts.input !== undefined) {
      // A child may exit without reading its input (a refusal at start): how it ended tells.
      child.stdin!.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') reject(e);
      });
      child.stdin!.end(opts.input);
    }
  });
}

/** Run `node <args>`; ChildFailed naming `what`, with its stderr, unless it exits 0. */
export async function runOk(what: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await runNode(args, opts).catch((e: unknown) => {
    throw e instanceof ChildFailed ? e : new ChildFailed(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  });
  if (r.code !== 0) throw new ChildFailed(`${what} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** Offsets into a NodeChild's output, taken by `mark()`. */
export interface OutputMark {
  readonly stdout: number;
  readonly stderr: number;
}

export interface WaitOptions {
  /** @default the child's waitTimeoutMs */
  timeoutMs?: number;
  /** The nth match. @default 1 */
  count?: number;
  /** @default 'stdout' */
  stream?: 'stdout' | 'stderr';
  /** Count only output printed after this mark. */
  after?: OutputMark;
}

export interface NodeChildOptions extends SpawnOptions {
  /** Names the child in errors. @default its executable's or script's file name */
  name?: string;
  /** Open an IPC channel (nextMessage). */
  ipc?: boolean;
  /** Keep only the last this many characters of each stream, for a child that prints for long. @default all */
  keepChars?: number;
  /** Also keep every byte of both streams as written (`bytes`), whatever keepChars keeps of the text. */
  keepBytes?: boolean;
  /** @default WAIT_TIMEOUT_MS */
  waitTimeoutMs?: number;
  /** Called with each whole line the child prints on stdout. */
  onLine?: (line: string) => void;
}

/** One output stream as kept: its last `limit` characters, and how many came before them. */
class Kept {
  text = '';
  dropped = 0;

  constructor(private readonly limit: number) {}

  add(d: string): void {
    this.text += d;
    const over = this.text.length - this.limit;
    if (over > 0) {
      this.text = this.text.slice(over);
      this.dropped += over;
    }
  }

  /** The kept text printed after `offset` (a count of characters since the start). */
  since(offset: number): string {
    return this.text.slice(Math.max(0, offset - this.dropped));
  }
}

/** A long-running `node <args>` (or `executable <args>`) whose output is collected and can be awaited by pattern. */
export class NodeChild {
  readonly child: ChildProcess;
  readonly name: string;
  /** Resolves when the process has exited (its output may still be arriving). */
  readonly exited: Promise<Exit>;
  /** Resolves when the process has exited and closed its output: all it wrote is in. */
  readonly closed: Promise<Exit>;
  readonly #out: { stdout: Kept; stderr: Kept };
  /** Every chunk of each stream as written, with keepBytes. */
  readonly #chunks: { stdout: Buffer[]; stderr: Buffer[] } | undefined;
  readonly #onLine: ((line: string) => void) | undefined;
  readonly #waitTimeoutMs: number;
  /** Re-checked whenever output arrives or the streams close; each returns true once settled. */
  #waiters: (() => boolean)[] = [];
  /** Set once the process has exited and its output streams are closed. */
  #ended = false;
  #partialLine = '';
  readonly #messages: unknown[] = [];
  #messageWaiters: ((m: unknown) => void)[] = [];

  constructor(args: string[], opts: NodeChildOptions = {}) {
    opts.group?.admit();
    const cmd = nodeCommand(args, opts.fds, opts.executable);
    this.name = opts.name ?? path.basename(opts.executable ?? args[0] ?? process.execPath);
    this.#waitTimeoutMs = opts.waitTimeoutMs ?? WAIT_TIMEOUT_MS;
    const keep = opts.keepChars ?? Infinity;
    this.#out = { stdout: new Kept(keep), stderr: new Kept(keep) };
    this.child = spawn(cmd.file, cmd.args, { ...spawnOptions(opts), stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? ['ipc' as const] : [])] });
    opts.group?.add(this.child);
    this.#onLine = opts.onLine;
    this.#chunks = opts.keepBytes === true ? { stdout: [], stderr: [] } : undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      // Decoded here rather than by setEncoding, so that the chunks are there as bytes too.
      const decoder = new StringDecoder('utf8');
      const readable = this.child[stream]!;
      readable.on('data', (b: Buffer) => {
        this.#chunks?.[stream].push(b);
        this.#text(stream, decoder.write(b));
      });
      readable.on('end', () => this.#text(stream, decoder.end()));
    }
    this.child.on('message', (m: unknown) => {
      const w = this.#messageWaiters.shift();
      if (w) w(m);
      else this.#messages.push(m);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.closed = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.#ended = true;
        this.#poke();
        resolve({ code, signal });
      }),
    );
  }

  /**
   * Everything it wrote so far, byte for byte (opened with keepBytes).
   * @throws Error when it was started without keepBytes.
   */
  get bytes(): OutputBytes {
    if (this.#chunks === undefined) throw new Error(`${this.name}: started without keepBytes`);
    return { stdout: Buffer.concat(this.#chunks.stdout), stderr: Buffer.concat(this.#chunks.stderr) };
  }

  /** Its stdout so far (the last keepChars of it when that is set). */
  get stdout(): string {
    return this.#out.stdout.text;
  }

  get stderr(): string {
    return this.#out.stderr.text;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name}: not started`);
    return this.child.pid;
  }

  /**
   * Where the output stands now, to wait for what comes after an action: take a mark before the
   * action, then `waitFor(pattern, { after: mark })`. Output already printed never satisfies it.
   */
  mark(): OutputMark {
    const end = (k: Kept): number => k.dropped + k.text.length;
    return { stdout: end(this.#out.stdout), stderr: end(this.#out.stderr) };
  }

  /**
   * Resolve, with the line it is on, when stdout (or stderr) matches `pattern` the `count`th time
   * (default the first), counting only output after `after` when given. Rejects with ChildFailed
   * once the process has ended without it, or after the timeout.
   */
  waitFor(pattern: RegExp | string, opts: WaitOptions = {}): Promise<string> {
    const count = opts.count ?? 1;
    const stream = opts.stream ?? 'stdout';
    const timeoutMs = opts.timeoutMs ?? this.#waitTimeoutMs;
    const re = typeof pattern === 'string' ? new RegExp(escapeRe(pattern), 'g') : new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
    const found = (): string | undefined => {
      const text = this.#out[stream].since(opts.after?.[stream] ?? 0);
      re.lastIndex = 0;
      for (let n = 1, m = re.exec(text); m !== null; n++, m = re.exec(text)) {
        if (n === count) return lineAt(text, m.index);
        if (m[0] === '') re.lastIndex++;
      }
      return undefined;
    };
    return new Promise((resolve, reject) => {
      // Output already read decides first; then a process that has ended can print no more.
      const check = (): boolean => {
        const line = found();
        if (line !== undefined) resolve(line);
        else if (this.#ended) reject(this.#failure(`ended before printing ${String(pattern)}`));
        else return false;
        clearTimeout(timer);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== check);
        reject(this.#failure(`printed no ${String(pattern)} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.#waiters.push(check);
    });
  }

  /** The next IPC message from the child (opened with `ipc`). */
  nextMessage(timeoutMs = this.#waitTimeoutMs): Promise<unknown> {
    if (this.#messages.length > 0) return Promise.resolve(this.#messages.shift());
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.#messageWaiters = this.#messageWaiters.filter((w) => w !== waiter);
      };
      const waiter = (m: unknown): void => {
        settle();
        resolve(m);
      };
      const timer = setTimeout(() => {
        settle();
        reject(this.#failure(`sent no message within ${timeoutMs} ms`));
      }, timeoutMs);
      void this.exited.then(({ code, signal }) => {
        settle();
        reject(this.#failure(`exited ${code ?? signal} before sending a message`));
      });
      this.#messageWaiters.push(waiter);
    });
  }

  /** `signal` (default SIGTERM) to this child only, unless it has exited; resolves when it has. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  #text(stream: 'stdout' | 'stderr', d: string): void {
    if (d === '') return;
    this.#out[stream].add(d);
    const onLine = this.#onLine;
    if (stream === 'stdout' && onLine !== undefined) {
      const lines = (this.#partialLine + d).split('\n');
      this.#partialLine = lines.pop() ?? '';
      lines.forEach((line) => onLine(line));
    }
    this.#poke();
  }

  #poke(): void {
    this.#waiters = this.#waiters.filter((check) => !check());
  }

  #failure(why: string): ChildFailed {
    return new ChildFailed(`${this.name}: ${why}\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`);
  }
}

/** The whole line of `text` that holds position `at` (up to the end of the text if unfinished). */
function lineAt(text: string, at: number): string {
  const start = at === 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
  const end = text.indexOf('\n', at);
  return text.slice(start, end === -1 ? text.length : end);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The children a script must not leave behind (the demo's and the fuzzer's agents and the
 * commands they run): stopped together, and none started once the script has been interrupted.
 */
export class ChildGroup {
  /** Each child not yet closed, with its close. */
  readonly #running = new Map<ChildProcess, Promise<void>>();
  #interrupted: NodeJS.Signals | undefined;

  /** The signal that interrupted the script, once one has. */
  get interrupted(): NodeJS.Signals | undefined {
    return this.#interrupted;
  }

  /** @throws ChildFailed once the script is interrupted: no further child starts. */
  admit(): void {
    if (this.#interrupted !== undefined) throw new ChildFailed(`interrupted (${this.#interrupted})`);
  }

  add(child: ChildProcess): void {
    this.#running.set(child, new Promise((closed) => child.once('close', () => closed())));
    child.once('close', () => this.#running.delete(child));
  }

  /** SIGTERM to every child, SIGKILL to any still there after `killAfterMs`; resolves when all have ended. */
  async stop(killAfterMs: number): Promise<void> {
    const children = [...this.#running.keys()];
    for (const c of children) c.kill('SIGTERM');
    const killer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), killAfterMs);
    await Promise.all(this.#running.values());
    clearTimeout(killer);
  }

  /**
   * However the script ends, its children do not outlive it and `cleanup` runs. On exit each
   * child still running gets SIGTERM. On SIGINT, SIGTERM or SIGHUP no further child starts, the
   * script writes "<name> interrupted (<signal>)<note>" to stderr, gives the children `stopMs`
   * before SIGKILL, and exits 128 + the signal's number; a second signal meanwhile is ignored,
   * the first one is handling it.
   */
  stopOnExit(name: string, opts: { cleanup: () => void; stopMs: number; note?: string }): void {
    process.once('exit', () => {
      for (const c of this.#running.keys()) c.kill('SIGTERM');
      opts.cleanup();
    });
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        if (this.#interrupted !== undefined) return;
        this.#interrupted = sig;
        process.exitCode = 128 + os.constants.signals[sig];
        process.stderr.write(`${name} interrupted (${sig})${opts.note ?? ''}\n`);
        void this.stop(opts.stopMs).finally(() => {
          opts.cleanup();
          process.exit();
        });
      });
    }
  }
}
