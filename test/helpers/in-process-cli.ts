/** A CLI entry point run inside the test process, with what it writes to stdout and stderr kept. */
import { PassThrough } from 'node:stream';

export interface InProcessRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Run `main` with in-memory stdout and stderr. The bytes are joined before decoding, so a
 * character split across two writes comes out whole.
 */
export async function runCapturingOutput(main: (io: { stdout: PassThrough; stderr: PassThrough }) => Promise<number>): Promise<InProcessRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (d: Buffer) => out.push(d));
  stderr.on('data', (d: Buffer) => err.push(d));
  const code = await main({ stdout, stderr });
  // The streams hand over their last chunks on the next turn of the event loop.
  await new Promise((r) => setImmediate(r));
  return { code, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') };
}
