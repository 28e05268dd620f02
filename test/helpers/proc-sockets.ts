/**
 * The sockets a process holds, from /proc (Linux): its fds' socket inodes matched against the
 * kernel's tables of its network namespace (/proc/<pid>/net/tcp, tcp6, unix). Shows what a
 * process listens on without asking the process.
 */
import * as fs from 'node:fs';
import { openFds } from './proc-fds';

/** TCP state 0A in /proc/net/tcp (include/net/tcp_states.h TCP_LISTEN). */
const TCP_LISTEN = '0A';
/** __SO_ACCEPTCON in /proc/net/unix's Flags column: a listening Unix socket. */
const UNIX_ACCEPTCON = 0x10000;

export interface InetSocket {
  family: 'tcp' | 'tcp6';
  port: number;
  listening: boolean;
}

function socketInodes(pid: number): Set<string> {
  const fds = openFds(pid);
  if (fds === undefined) throw new Error(`process ${pid} is gone`);
  return new Set(fds.map((f) => /^socket:\[(\d+)\]$/.exec(f.target)?.[1]).filter((i): i is string => i !== undefined));
}

/** Every TCP socket (v4 and v6) the process holds. */
export function inetSockets(pid: number): InetSocket[] {
  const mine = socketInodes(pid);
  const out: InetSocket[] = [];
  for (const family of ['tcp', 'tcp6'] as const) {
    const lines = fs.readFileSync(`/proc/${pid}/net/${family}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const inode = f[9];
      if (inode === undefined || !mine.has(inode)) continue;
      out.push({ family, port: parseInt(f[1]!.split(':')[1]!, 16), listening: f[3] === TCP_LISTEN });
    }
  }
  return out;
}

/** The paths of the Unix sockets the process listens on. */
export function listeningUnixPaths(pid: number): string[] {
  const mine = socketInodes(pid);
  const lines = fs.readFileSync(`/proc/${pid}/net/unix`, 'utf8').trim().split('\n').slice(1);
  const out: string[] = [];
  for (const line of lines) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f[6] === undefined || !mine.has(f[6]) || (parseInt(f[3]!, 16) & UNIX_ACCEPTCON) === 0) continue;
    if (f[7] !== undefined) out.push(f[7]);
  }
  return out.sort();
}
