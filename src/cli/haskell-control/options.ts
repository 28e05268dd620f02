/**
 * The options every kes-agent-control subcommand takes, as the Haskell tool has them
 * (kes-agent/cli/ControlMain.hs `pCommonOptions`, `optFromEnv`), resolved flag > environment >
 * default:
 *   -c, --control-address PATH   KES_AGENT_CONTROL_PATH (also our KES_AGENT_CONTROL_SOCKET, as kes-ctl)
 *   -v, --verbose INT            default 1: 1 prints retry messages, 2 also traces the session
 *   --retry-interval, --retry-delay MS   KES_AGENT_CONTROL_RETRY_INTERVAL, default 1000
 *   --retry-exponential          double the delay after each attempt, at most 5000 ms
 *   --retry-attempts N           KES_AGENT_CONTROL_RETRY_ATTEMPTS, default 0 (one attempt)
 * plus ours: --agent-uid (agent-identity.ts).
 *
 * Differences, on purpose: the default socket is our agent's (clientDefaultSocket), not
 * /tmp/kes-agent-control.socket, a path any local user can create first; a malformed number in a
 * flag or variable is an error naming it (Haskell ignores a bad variable and would retry forever
 * on a negative attempt count).
 */
import { Command, Option, UsageError } from 'clipanion';
import { AGENT_UID_ENV, AGENT_UID_FLAG, agentTrustFrom, type AgentTrust } from '../../client/agent-identity';
import { CONTROL_SOCKET_ENVS, CONTROL_SOCKET_NAME, HASKELL_CONTROL_PATH_ENV, clientDefaultSocket, resolveSocketPath } from '../../platform/socket-paths';
import type { KesCliContext } from '../common/base-command';
import { oneLine } from '../../errors';
import { describeFailure } from '../common/report';
import { ControlSession, sessionLog } from './connection';
import { HsControlFailure, hsExitFor, type HsExitCode } from './exit-codes';

export const RETRY_INTERVAL_ENV = 'KES_AGENT_CONTROL_RETRY_INTERVAL';
export const RETRY_ATTEMPTS_ENV = 'KES_AGENT_CONTROL_RETRY_ATTEMPTS';
/** The Haskell tool's default: 1 (retry messages). */
export const DEFAULT_VERBOSITY = 1;
export const DEFAULT_RETRY_INTERVAL_MS = 1000;
/** `--retry-exponential` doubles the delay up to this (RetrySocket.hs `min 5000000 . (* 2)`, µs). */
export const MAX_EXPONENTIAL_DELAY_MS = 5000;
/** Bounds of our own: a day between attempts, a million attempts. */
const MAX_RETRY_INTERVAL_MS = 86_400_000;
const MAX_RETRY_ATTEMPTS = 1_000_000;

/** The options that take a value (for finding the subcommand word after options: see reorderArgv). */
export const VALUE_OPTIONS: readonly string[] = ['-c', '--control-address', '-v', '--verbose', '--retry-interval', '--retry-delay', '--retry-attempts', AGENT_UID_FLAG];

export interface Retry {
  /** Connection attempts after the first. */
  attempts: number;
  intervalMs: number;
  exponential: boolean;
}

function parseCount(text: string, where: string, max: number, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new UsageError(`${where}: expected ${what} (0..${max}), got ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * The base of every kes-agent-control subcommand. Like KesCommand (src/cli/common/base-command.ts),
 * whatever is thrown becomes one stderr line, but the exit code comes from this tool's table.
 */
export abstract class HsControlCommand extends Command<KesCliContext> {
  controlAddress = Option.String('-c,--control-address', {
    description: `Control socket of the agent (default: env ${HASKELL_CONTROL_PATH_ENV}, else the agent's default, e.g. /run/kes-agent/control.sock)`,
  });
  verbose = Option.String('-v,--verbose', { description: 'Verbosity: 0 quiet, 1 retry messages (default), 2 also a trace of the session; on stderr' });
  retryInterval = Option.String('--retry-interval,--retry-delay', { description: `Milliseconds between connection attempts (default: env ${RETRY_INTERVAL_ENV}, else 1000)` });
  retryExponential = Option.Boolean('--retry-exponential', false, { description: 'Double the delay after each attempt, up to 5000 ms' });
  retryAttempts = Option.String('--retry-attempts', { description: `Connection attempts after the first (default: env ${RETRY_ATTEMPTS_ENV}, else 0)` });
  agentUid = Option.String(AGENT_UID_FLAG, {
    description: `The uid or user the agent runs as, if neither root, you, nor the owner of /run/kes-agent (default: env ${AGENT_UID_ENV}); a socket served by any other uid is refused (exit 12)`,
  });

  /** -c, else KES_AGENT_CONTROL_SOCKET / KES_AGENT_CONTROL_PATH, else our default. */
  protected socketPath(): string {
    if (this.controlAddress === '') throw new UsageError('-c/--control-address: expected a socket path, got an empty string');
    const env = this.context.env;
    return resolveSocketPath(this.controlAddress, CONTROL_SOCKET_ENVS, () => clientDefaultSocket(CONTROL_SOCKET_NAME, env), env);
  }

  protected verbosity(): number {
    if (this.verbose === undefined) return DEFAULT_VERBOSITY;
    if (!/^-?\d{1,9}$/.test(this.verbose)) throw new UsageError(`-v/--verbose: expected an integer, got ${JSON.stringify(this.verbose)}`);
    return Number(this.verbose);
  }

  protected retry(): Retry {
    const env = this.context.env;
    const fromEnv = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
    const intervalText = this.retryInterval ?? fromEnv(RETRY_INTERVAL_ENV);
    const attemptsText = this.retryAttempts ?? fromEnv(RETRY_ATTEMPTS_ENV);
    const intervalWhere = this.retryInterval !== undefined ? '--retry-interval' : RETRY_INTERVAL_ENV;
    const attemptsWhere = this.retryAttempts !== undefined ? '--retry-attempts' : RETRY_ATTEMPTS_ENV;
    return {
      intervalMs: intervalText === undefined ? DEFAULT_RETRY_INTERVAL_MS : parseCount(intervalText, intervalWhere, MAX_RETRY_INTERVAL_MS, 'milliseconds'),
      attempts: attemptsText === undefined ? 0 : parseCount(attemptsText, attemptsWhere, MAX_RETRY_ATTEMPTS, 'a count'),
      exponential: this.retryExponential,
    };
  }

  protected agentTrust(): AgentTrust {
    return agentTrustFrom(this.agentUid, this.context.env);
  }

  /** Open a session (connect, identity check, handshake), run `fn`, close. */
  protected async withSession<T>(fn: (session: ControlSession) => Promise<T>): Promise<T> {
    const log = sessionLog(this.context.stderr, this.cli.binaryName, this.verbosity());
    const session = await ControlSession.open({ socketPath: this.socketPath(), trust: this.agentTrust(), retry: this.retry(), log });
    try {
      return await fn(session);
    } finally {
      session.close();
    }
  }

  /** Check every option (usage errors first, before anything is printed or any file is touched). */
  protected checkCommonOptions(): void {
    this.socketPath();
    this.verbosity();
    this.retry();
    this.agentTrust();
  }

  override async validateAndExecute(): Promise<number> {
    try {
      return await super.validateAndExecute();
    } catch (error) {
      return this.fail(error);
    }
  }

  protected print(text: string): void {
    this.context.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** One line on stderr, `kes-agent-control: error: <message> [<CODE>]`, and this tool's exit code. */
  protected fail(error: unknown): HsExitCode {
    const bin = this.cli.binaryName;
    if (error instanceof HsControlFailure) {
      this.context.stderr.write(`${bin}: error: ${oneLine(error.message)} [${error.tag}]\n`);
    } else {
      this.context.stderr.write(describeFailure(bin, error, [bin, ...(this.path ?? [])].join(' ')).line);
    }
    return hsExitFor(error);
  }
}

/**
 * The Haskell tool takes its common options before or after the subcommand
 * (optparse-applicative `subparserInline`); clipanion wants the command word first: move the
 * first word that is a subcommand, and not the value of an option, to the front.
 */
export function reorderArgv(argv: readonly string[], commands: readonly string[]): string[] {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (VALUE_OPTIONS.includes(a)) {
      i++;
      continue;
    }
    if (commands.includes(a)) return [a, ...argv.slice(0, i), ...argv.slice(i + 1)];
    if (!a.startsWith('-')) break;
  }
  return [...argv];
}

