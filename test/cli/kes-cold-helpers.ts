/** In-process runs of kes-cold with captured stdio, and the checks every failing run must pass. */
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/common';
import { buildKesColdCli } from '../../src/cli/cold';

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

export async function kesCold(argv: string[], opts: { nowMs?: number } = {}): Promise<RunResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (d: Buffer) => out.push(d));
  stderr.on('data', (d: Buffer) => err.push(d));
  const code = await runCli(buildKesColdCli(), argv, {
    stdout,
    stderr,
    env: {},
    ...(opts.nowMs !== undefined ? { now: () => opts.nowMs! } : {}),
  });
  await new Promise((r) => setImmediate(r));
  return { code, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') };
}

/** Exactly one line `kes-cold: error: …` (with the code when given), no stack trace. */
export function expectOneErrorLine(err: string, code?: string): void {
  expect(err).toMatch(/^kes-cold: error: [^\n]+\n$/);
  expect(err).not.toMatch(/\n\s+at /);
  if (code !== undefined) expect(err.endsWith(` [${code}]\n`)).toBe(true);
}
