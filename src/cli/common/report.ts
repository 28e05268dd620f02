/**
 * Turning any failure into ONE line on stderr and an exit code. Never a stack trace: expected
 * failures (KesError, usage mistakes) print their message; anything else is a bug and prints
 * "internal error" with the exception's first line so it can be reported.
 */
import { UsageError } from 'clipanion';
import { AgentRefusedError } from '../../client/control-client';
import { KesError } from '../../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { exitCodeFor, exitCodeForRefusal } from './exit-map';

/** Long messages are cut so a line stays readable; file paths come first, so the cut loses little. */
export const MAX_ERROR_LINE_CHARS = 1000;

/** Collapse a possibly multi-line message into one line. */
export function oneLine(message: string): string {
  const s = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join('; ')
    // Strip terminal control sequences: a message may quote a file name or value.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > MAX_ERROR_LINE_CHARS ? `${s.slice(0, MAX_ERROR_LINE_CHARS - 1)}…` : s;
}

export interface Reported {
  line: string;
  exitCode: ExitCode;
}

/**
 * The stderr line (with trailing newline) and exit code for an error thrown by a command.
 * `helpFor` is the command line whose --help a usage error points to (e.g. "kes-cold period").
 */
export function describeFailure(bin: string, error: unknown, helpFor: string = bin): Reported {
  if (error instanceof KesError) {
    // An agent refusal shows the agent's own stable code (e.g. OPCERT_WRONG_KES_KEY), which is what a script branches on.
    const code = error instanceof AgentRefusedError ? error.agentCode : error.code;
    const exitCode = error instanceof AgentRefusedError ? exitCodeForRefusal(error.agentCode) : exitCodeFor(error.code);
    return { line: `${bin}: error: ${oneLine(error.message)} [${code}]\n`, exitCode };
  }
  if (error instanceof UsageError) {
    return { line: `${bin}: error: ${oneLine(error.message)} (see '${helpFor} --help')\n`, exitCode: EXIT.USAGE };
  }
  const msg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { line: `${bin}: internal error: ${oneLine(msg)}\n`, exitCode: EXIT.INTERNAL };
}
