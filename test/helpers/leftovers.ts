/**
 * What a run of the demo or the fuzzer may leave behind: files in its temp dir, and processes.
 * A test gives the script its own TMPDIR (a fresh dir the test removes, so the machine's temp dir
 * stays clean even if the script does not), then checks that dir is empty and that no process
 * still names it (an agent the script started has its socket paths on its command line).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanEnv, tempDir } from './processes';

/** A fresh dir to be a child's TMPDIR, and the child environment that points there. */
export function privateTmp(prefix: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir(prefix);
  return { dir, env: cleanEnv({ TMPDIR: dir }) };
}

/** Pids (other than this process) whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // Gone between readdir and now.
    }
  }
  return pids;
}

/** `dir`/<any subdir>/`name` exists: a script's temp dir (made inside `dir`) holds `name`. */
export function existsOneLevelDown(dir: string, name: string): boolean {
  return fs.readdirSync(dir).some((sub) => fs.existsSync(path.join(dir, sub, name)));
}
