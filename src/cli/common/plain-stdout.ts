/**
 * Standard output as a plain descriptor, for the plain `kes-ctl status` line.
 *
 * When fd 1 is a pipe, Node's process.stdout is a net.Socket: creating it loads node:net and
 * the stream machinery, which the blocking status exchange exists to avoid
 * (client/status-once.ts). So when fd 1 is a pipe, a socket or a regular file, the text is
 * written with write(2) through node:fs instead. A terminal (or anything else, /dev/null
 * included) gets process.stdout as usual: it decides colour by isTTY, and an interactive
 * `kes-ctl status` need not save a millisecond.
 *
 * The same care as ignoreClosedReader: a reader that has gone (EPIPE) loses the output and the
 * command still ends with its own exit code. A descriptor some parent left non-blocking (EAGAIN)
 * gets the rest through process.stdout, which waits for it.
 */
import * as fs from 'node:fs';
import { errnoOf } from '../../platform/errno';

const STDOUT_FD = 1;

export interface PlainStdout {
  readonly isTTY: false;
  write(text: string): void;
}

/** fd 1 as a PlainStdout, or undefined when it is not a pipe, socket or regular file. */
export function plainStdout(): PlainStdout | undefined {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(STDOUT_FD);
  } catch {
    return undefined;
  }
  if (!st.isFIFO() && !st.isSocket() && !st.isFile()) return undefined;
  return { isTTY: false, write: writeAll };
}

function writeAll(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  try {
    while (at < bytes.length) at += fs.writeSync(STDOUT_FD, bytes, at);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'EPIPE') return;
    if (errno !== 'EAGAIN') throw e;
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
    process.stdout.write(bytes.subarray(at));
  }
}
