/** In-process runs of kes-cold with captured stdio, and the checks every failing run must pass. */
import { runCli } from '../../src/cli/common';
import { buildKesColdCli } from '../../src/cli/cold';
import { runCapturingOutput, type InProcessRun } from '../helpers/in-process-cli';

export function kesCold(argv: string[], opts: { nowMs?: number } = {}): Promise<InProcessRun> {
  return runCapturingOutput((io) => runCli(buildKesColdCli(), argv, { ...io, env: {}, ...(opts.nowMs !== undefined ? { now: () => opts.nowMs! } : {}) }));
}

/** Exactly one line `kes-cold: error: …` (with the code when given), no stack trace. */
export function expectOneErrorLine(err: string, code?: string): void {
  expect(err).toMatch(/^kes-cold: error: [^\n]+\n$/);
  expect(err).not.toMatch(/\n\s+at /);
  if (code !== undefined) expect(err.endsWith(` [${code}]\n`)).toBe(true);
}
