/**
 * The entry of kes-ctl's status bundle (dist/bundle/kes-ctl-status.js): the plain
 * `kes-ctl status` line (plain-status.ts) in a bundle of its own, without clipanion, the other
 * commands and node:net, so that a start reads and compiles only what a status needs. Loading
 * it runs nothing; the bin calls `answer` and starts the full CLI (main.ts) when it declines.
 */
import { ignoreClosedReader } from '../common/closed-reader';
import { plainStdout } from '../common/plain-stdout';
import { plainStatusLine, runPlainStatus } from './plain-status';

/** What the status bundle exports to the bin (src/bin/kes-ctl.ts). */
export interface PlainStatusEntry {
  /**
   * Answer `argv` (the words after `kes-ctl`) if it is a plain status line, setting the exit
   * code; blocks until it is done. False, having printed nothing, when the full CLI must take
   * the line: another line, or any failure, which the full CLI then reports in its own words.
   */
  answer(argv: readonly string[]): boolean;
}

function answer(argv: readonly string[]): boolean {
  const plain = plainStatusLine(argv);
  if (plain === undefined) return false;
  const code = runPlainStatus(plain, { stdout: plainStdout() ?? terminalStdout(), env: process.env, now: Date.now });
  if (code === undefined) return false;
  process.exitCode = code;
  return true;
}

/** process.stdout, made only when fd 1 is a terminal or something else plainStdout leaves alone. */
function terminalStdout(): NodeJS.WriteStream {
  ignoreClosedReader(process.stdout);
  return process.stdout;
}

export const plainStatusEntry: PlainStatusEntry = { answer };
