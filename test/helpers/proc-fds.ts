/**
 * What a process has open, from /proc (Linux): every fd's target and access mode. Used to show
 * that the agent never holds a regular file open for writing.
 */
import * as fs from 'node:fs';

/** O_ACCMODE bits of fdinfo's octal `flags:` (open(2)). */
const O_ACCMODE = 0o3;
const O_WRONLY = 0o1;
const O_RDWR = 0o2;

export interface OpenFd {
  fd: number;
  /** readlink of /proc/<pid>/fd/<fd>: a path, `socket:[n]`, `pipe:[n]`, `anon_inode:[...]`... */
  target: string;
  /** A regular file on some filesystem (stat through the fd, so a deleted file still counts). */
  regular: boolean;
  /** memfd_create memory: a "regular file" that lives in RAM only. */
  memfd: boolean;
  writable: boolean;
}

/**
 * The process's open fds now; undefined once it has exited. Fds that close mid-read are skipped.
 *
 * Only an fd whose target is a path can be a regular file (readlink gives `/path`,
 * `/path (deleted)` or `/memfd:name (deleted)` for those; `socket:[n]`, `pipe:[n]`,
 * `anon_inode:[...]` otherwise), so only those are stat'ed and have their access mode read; the
 * rest are reported by target alone, not writable. That keeps a sample of the agent at about
 * 0.3 ms instead of 1.0 ms, so a 2-ms sampler does not take a core from the processes it watches.
 */
export function openFds(pid: number): OpenFd[] | undefined {
  const fdDir = `/proc/${pid}/fd/`;
  let names: string[];
  try {
    names = fs.readdirSync(fdDir);
  } catch {
    return undefined;
  }
  const out: OpenFd[] = [];
  for (const name of names) {
    try {
      const target = fs.readlinkSync(fdDir + name);
      if (!target.startsWith('/')) {
        out.push({ fd: Number(name), target, regular: false, memfd: false, writable: false });
        continue;
      }
      const regular = fs.statSync(fdDir + name).isFile();
      const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${name}`, 'utf8'));
      const mode = flags ? parseInt(flags[1]!, 8) & O_ACCMODE : 0;
      out.push({ fd: Number(name), target, regular, memfd: target.startsWith('/memfd:'), writable: mode === O_WRONLY || mode === O_RDWR });
    } catch {
      // The fd was closed between readdir and now.
    }
  }
  return out;
}

/** Sample a process's fds every `intervalMs` until stop(); collects what was seen. */
export class FdSampler {
  readonly seen = new Map<string, { regular: boolean; memfd: boolean; writable: boolean }>();
  /** Regular on-disk files seen open for writing (the finding this exists to catch). */
  readonly violations: OpenFd[] = [];
  samples = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(readonly pid: number, intervalMs = 2) {
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const fds = openFds(this.pid);
    if (fds === undefined) return;
    this.samples++;
    for (const f of fds) {
      // Collapse per-instance numbers (socket:[123]) so the summary lists kinds, not inodes.
      const kind = f.target.replace(/\[\d+\]$/, '[n]');
      const key = f.target.startsWith('/') ? `${kind} ${f.writable ? 'rw' : 'r'}` : kind;
      if (!this.seen.has(key)) this.seen.set(key, { regular: f.regular, memfd: f.memfd, writable: f.writable });
      if (f.regular && !f.memfd && f.writable) this.violations.push(f);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One line per kind of fd seen, for the test log. */
  summary(): string {
    return [...this.seen.entries()].map(([k, v]) => `${k}${v.regular ? (v.memfd ? ' (memfd)' : ' (regular file)') : ''}`).sort().join('\n');
  }
}

/** The inodes of the TCP sockets `pid` listens on (an inspector would be one). */
export function listeningTcpInodes(pid: number): string[] {
  const mine = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) mine.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const listening: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && mine.has(f[9]!)) listening.push(f[9]!);
    }
  }
  return listening;
}
