/**
 * Process-level protections of the daemon that do not need native code.
 *
 * Any of these flags would let someone with access to the process (or its files) read the key:
 * an inspector reads all memory, a heap snapshot or diagnostic report writes it to disk.
 */
import { UsageError } from 'clipanion';

const DANGEROUS_FLAGS = [/^--inspect/, /^--debug/, /^--heapsnapshot/, /^--heap-prof/, /^--cpu-prof/, /^--report/, /^--prof/];

export function refuseDebuggingFlags(execArgv: readonly string[], nodeOptions: string | undefined): void {
  const flags = [...execArgv, ...(nodeOptions ?? '').split(/\s+/).filter((s) => s !== '')];
  const bad = flags.find((f) => DANGEROUS_FLAGS.some((re) => re.test(f)));
  if (bad !== undefined) {
    throw new UsageError(`refusing to run with ${bad.split('=')[0]}: it would expose key memory (remove it from the command line and NODE_OPTIONS)`);
  }
}

/**
 * On Node 20 `kill -USR1 <pid>` opens the inspector on 127.0.0.1:9229, which can read all
 * memory (stack.md §3). Having our own SIGUSR1 handler disables that.
 */
export function ignoreInspectorSignal(): void {
  process.on('SIGUSR1', () => undefined);
}
