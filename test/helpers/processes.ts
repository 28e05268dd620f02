/**
 * Running the BUILT binaries (dist/, made by `npm run build`, which `npm test` runs first) as
 * real processes, the way an operator's scripts do.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isolatedEnv } from '../../scripts/child-env';
import { NodeChild, runNode, type OutputBytes, type RunOptions, type RunOutput, type SpawnOptions as ChildSpawnOptions } from '../../scripts/child-process';

export type { OutputMark } from '../../scripts/child-process';

export const ROOT = path.join(__dirname, '..', '..');
export const BIN = {
  cold: path.join(ROOT, 'dist', 'src', 'bin', 'kes-cold.js'),
  agent: path.join(ROOT, 'dist', 'src', 'bin', 'kes-agent.js'),
  ctl: path.join(ROOT, 'dist', 'src', 'bin', 'kes-ctl.js'),
  node: path.join(ROOT, 'dist', 'src', 'bin', 'kes-node.js'),
} as const;

export type RunResult = RunOutput;

/** A private temp dir (0700); the caller removes it. */
export function tempDir(prefix = 'kes-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Environment for child processes: nothing inherited that configures the agent (scripts/child-env.ts). */
export const cleanEnv = isolatedEnv;

/** How long a child that ran past its bound gets to exit after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 5_000;
/** A test's command that runs longer than this has hung. */
const RUN_TIMEOUT_MS = 20_000;

/** Where and as whom a child runs (default: the checkout's cwd, this process's uid and gid). */
export type SpawnOptions = Pick<ChildSpawnOptions, 'env' | 'cwd' | 'uid' | 'gid'>;

type RunTestOptions = SpawnOptions & { input?: string; timeoutMs?: number };

function runOptions(opts: RunTestOptions): RunOptions {
  return { ...opts, input: opts.input ?? '', timeoutMs: opts.timeoutMs ?? RUN_TIMEOUT_MS, termGraceMs: TERM_GRACE_MS };
}

/**
 * Run `node <bin> <args>` to completion (stopped after `timeoutMs`, a safety bound: SIGTERM first,
 * so a script that started an agent stops it and cleans up). Its stdin is a pipe holding `input`.
 * Its output comes as text and, for a test that inspects every byte, as `bytes`.
 */
export function run(bin: string, args: string[], opts: RunTestOptions = {}): Promise<RunResult & { bytes: OutputBytes }> {
  return runNode([bin, ...args], runOptions(opts));
}

/** Run `file <args>` as `run` does, for an executable that is not a node script (the sh launcher bin/kes-agent). */
export function runExecutable(file: string, args: string[], opts: RunTestOptions = {}): Promise<RunResult> {
  return runNode(args, { ...runOptions(opts), executable: file });
}

/** A long-running `node <bin> <args>` whose output is collected and can be awaited line by line. */
export class Proc extends NodeChild {
  constructor(bin: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv(), opts: Omit<SpawnOptions, 'env'> = {}) {
    super([bin, ...args], { ...opts, env });
  }
}
