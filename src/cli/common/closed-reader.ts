/** Output nobody reads any more: no clipanion here, so a bin may set it up before loading it. */

/**
 * When the reader of our stdout or stderr has gone (`kes-ctl status | head -1`, `| true`), the
 * next write fails with EPIPE as an 'error' event; unhandled, Node prints a stack trace and
 * exits 1 whatever the command did. A C tool would die of SIGPIPE, which Node ignores. The
 * nearest quiet equivalent: drop the output nobody reads and let the command finish, so its
 * exit code still says how it went (an upload that reached the agent is not reported as failed).
 * Any other write error stays unhandled, as before.
 */
export function ignoreClosedReader(stream: NodeJS.WritableStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
