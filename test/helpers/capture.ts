/**
 * Processes whose output is kept byte for byte (no UTF-8 decoding, which would turn stray binary
 * into U+FFFD and hide it), for tests that inspect everything a process wrote. They run on the
 * shared runner (processes.ts): its text is there for waiting and asserting, its bytes for the
 * inspection.
 */
import { NodeChild, type Exit, type OutputBytes } from '../../scripts/child-process';
import { cleanEnv, run, type RunResult } from './processes';

export interface CapturedStream {
  /** e.g. `kes-ctl status --json: stdout` */
  name: string;
  bytes: Buffer;
}

/** Every stream captured by one Recorder, in order. */
export class Recorder {
  readonly streams: CapturedStream[] = [];

  /** Run a binary to completion, recording stdout and stderr. */
  async run(bin: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    const r = await run(bin, args, opts);
    this.record(bin, args, r.bytes);
    return r;
  }

  /** Start a long-running binary; its streams are recorded once it has closed them. */
  start(bin: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): CapturedProc {
    return new CapturedProc(bin, args, env, this);
  }

  record(bin: string, args: string[], bytes: OutputBytes): void {
    const name = `${label(bin)} ${args.join(' ')}`;
    this.streams.push({ name: `${name}: stdout`, bytes: bytes.stdout }, { name: `${name}: stderr`, bytes: bytes.stderr });
  }
}

/** A long-running `node <bin> <args>` (NodeChild) keeping its bytes, recorded when it closes its output. */
export class CapturedProc extends NodeChild {
  /** Resolves once all it wrote is in the recorder. */
  readonly recorded: Promise<void>;

  constructor(bin: string, args: string[], env: NodeJS.ProcessEnv, recorder: Recorder) {
    super([bin, ...args], { env, keepBytes: true });
    this.recorded = this.closed.then(() => recorder.record(bin, args, this.bytes));
  }

  /** As NodeChild's, and resolves only once all it wrote is recorded. */
  override async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    const exit = await super.stop(signal);
    await this.recorded;
    return exit;
  }
}

function label(bin: string): string {
  return bin.replace(/^.*\//, '').replace(/\.js$/, '');
}
