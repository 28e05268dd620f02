/**
 * Processes whose output is kept byte for byte (no UTF-8 decoding, which would turn stray binary
 * into U+FFFD and hide it), for tests that inspect everything a process wrote.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cleanEnv } from './processes';

export interface CapturedStream {
  /** e.g. `kes-ctl status --json: stdout` */
  name: string;
  bytes: Buffer;
}

/** Every stream captured by one Recorder, in order. */
export class Recorder {
  readonly streams: CapturedStream[] = [];

  /** Run a binary to completion, recording stdout and stderr. */
  run(bin: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        const stdout = Buffer.concat(out);
        const stderr = Buffer.concat(err);
        const name = `${label(bin)} ${args.join(' ')}`;
        this.streams.push({ name: `${name}: stdout`, bytes: stdout }, { name: `${name}: stderr`, bytes: stderr });
        resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
      });
    });
  }

  /** Start a long-running binary; its streams are recorded when it exits. */
  start(bin: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): CapturedProc {
    return new CapturedProc(bin, args, env, this);
  }
}

export class CapturedProc {
  readonly child: ChildProcess;
  readonly #out: Buffer[] = [];
  readonly #err: Buffer[] = [];
  readonly exited: Promise<void>;

  constructor(bin: string, args: string[], env: NodeJS.ProcessEnv, recorder: Recorder) {
    this.child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => this.#out.push(d));
    this.child.stderr!.on('data', (d: Buffer) => this.#err.push(d));
    const name = `${label(bin)} ${args.join(' ')}`;
    this.exited = new Promise((resolve) =>
      this.child.on('close', () => {
        recorder.streams.push({ name: `${name}: stdout`, bytes: this.stdout }, { name: `${name}: stderr`, bytes: this.stderr });
        resolve();
      }),
    );
  }

  get stdout(): Buffer {
    return Buffer.concat(this.#out);
  }

  get stderr(): Buffer {
    return Buffer.concat(this.#err);
  }

  /** How many bytes of stdout there are now: pass it as `after` to wait only for what comes later. */
  mark(): number {
    return this.#out.reduce((n, b) => n + b.length, 0);
  }

  /**
   * Resolve when stdout has matched `pattern` `count` times (polling: output arrives in bursts),
   * counting only the bytes after `after` (a `mark()`) when given: output printed before an
   * action never satisfies a wait for its effect.
   */
  async waitFor(pattern: RegExp | string, opts: { timeoutMs?: number; count?: number; after?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    const count = opts.count ?? 1;
    for (;;) {
      const text = this.stdout.subarray(opts.after ?? 0).toString('utf8');
      const n = typeof pattern === 'string' ? text.split(pattern).length - 1 : (text.match(new RegExp(pattern.source, 'g'))?.length ?? 0);
      if (n >= count) return;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`process exited while waiting for ${String(pattern)}:\n${text}\n${this.stderr.toString('utf8')}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}:\n${text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

function label(bin: string): string {
  return bin.replace(/^.*\//, '').replace(/\.js$/, '');
}
