/**
 * Child processes for the agent benchmarks: the built binaries, run the way an operator runs
 * them, plus the bench's own helper processes (node swarm, bare server).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isolatedEnv } from '../scripts/child-env';
import { NodeChild } from '../scripts/child-process';

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
/** How long a long-running child may take to print what we wait for. @default 20000 */
const WAIT_TIMEOUT_MS = 20_000;

/** A long-running bench child (`node <args>`), its output's tail kept for error reports. */
export class Child extends NodeChild {
  /** `env`: variables set on top of the isolated environment (the unit's, for the agent). */
  constructor(name: string, args: string[], opts: { fds?: number; ipc?: boolean; env?: Record<string, string> } = {}) {
    super(args, { ...opts, name, env: isolatedEnv(opts.env), keepChars: OUTPUT_TAIL_CHARS, waitTimeoutMs: WAIT_TIMEOUT_MS });
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
