/**
 * Process-level protections of the daemon that do not need native code.
 *
 * Any of these flags would let someone with access to the process (or its files) read the key:
 * an inspector reads all memory, a heap snapshot or diagnostic report writes it to disk.
 */
import * as inspector from 'node:inspector';
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
 * memory (verified on Node 20, which has no --disable-sigusr1). Having our own SIGUSR1 handler disables that.
 */
export function ignoreInspectorSignal(): void {
  process.on('SIGUSR1', () => undefined);
}

/**
 * Started without the launcher (bin/kes-agent refuses inspector flags in NODE_OPTIONS before Node
 * starts): `node dist/src/bin/kes-agent.js` or an old link to it, with --inspect in NODE_OPTIONS,
 * finds the inspector Node opened before any of our code ran. Close it at once, before any
 * setting or file is read, and say so; the caller then refuses to go on. (An --inspect-brk or
 * --inspect-wait start never gets here until a debugger attaches: only the launcher stops those.)
 * @returns the refusal line, or undefined when no inspector is open.
 */
export function closeOpenInspector(): string | undefined {
  if (inspector.url() === undefined) return undefined;
  inspector.close();
  return 'refusing to run with an inspector open (an --inspect flag in NODE_OPTIONS or on the command line): it would expose key memory; it is closed now. Start kes-agent through its launcher (bin/kes-agent), which refuses such flags before Node starts';
}
