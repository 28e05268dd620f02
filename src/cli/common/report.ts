/**
 * Turning any failure into ONE line on stderr and an exit code. Never a stack trace: expected
 * failures (KesError, usage mistakes) print their message; anything else is a bug and prints
 * "internal error" with the exception's first line so it can be reported.
 */
import { UsageError } from 'clipanion';
import { AgentRefusedError } from '../../client/control-client';
import { KesError, oneLine } from '../../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { exitCodeFor, exitCodeForRefusal } from './exit-map';

/** The code of a command-line mistake that has no more specific KesError code (exit 2). */
export const USAGE_CODE = 'USAGE';
/** The code of a bug (exit 1): an exception that is neither a KesError nor a usage mistake. */
export const INTERNAL_CODE = 'INTERNAL';

export interface Reported {
  line: string;
  exitCode: ExitCode;
  /** The stable code a script branches on (also `code` in --json output). */
  code: string;
  /** The one-line message, without the `<bin>: error:` prefix and the code. */
  message: string;
}

/** `<bin>: error: <message> [<CODE>]`: the one shape of every error line. */
export function errorLine(bin: string, message: string, code: string): string {
  return `${bin}: error: ${message} [${code}]\n`;
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
    const message = oneLine(error.message);
    return { line: errorLine(bin, message, code), exitCode, code, message };
  }
  if (error instanceof UsageError) {
    const message = oneLine(`${error.message} (see '${helpFor} --help')`);
    return { line: errorLine(bin, message, USAGE_CODE), exitCode: EXIT.USAGE, code: USAGE_CODE, message };
  }
  const msg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const message = oneLine(msg);
  return { line: `${bin}: internal error: ${message}\n`, exitCode: EXIT.INTERNAL, code: INTERNAL_CODE, message };
}
