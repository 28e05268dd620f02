/**
 * What Linux's /proc says about a running child: its memory (VmRSS, VmLck) and the CPU time it has
 * used, for the benchmarks, the fuzzer and the tests that watch the agent from outside.
 */
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). @default 100 */
const USER_HZ = 100;

/**
 * A `Vm*: N kB` line of /proc/<pid>/status, in KiB.
 * @throws Error when the process is gone or the line is missing.
 */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmLck'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`/proc/${pid}/status: no ${field} line`);
  return Number(m[1]);
}

/** Resident set size of a process in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  return statusKiB(pid, 'VmRSS');
}

/** CPU time (user + system) a process has used so far, in ms (10 ms resolution), from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime, stime are 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}
