/**
 * Building and running a CLI so that every bin behaves the same:
 * - `--help`/`-h` (also after a command) prints usage to stdout, exit 0;
 * - `--version`/`-v` prints `<bin> <package version>`, exit 0;
 * - command-line mistakes print one line to stderr, exit EXIT.USAGE (2);
 * - command failures print one line to stderr with their code (KesCommand).
 */
import { Builtins, Cli, Command, type BaseContext, type CommandClass } from 'clipanion';
import { EXIT } from '../exit-codes';
import type { KesCliContext } from './base-command';
import { oneLine } from './report';
import { usageErrorMessage } from './usage-errors';
import { packageVersion } from './version';

/** `<bin> --version` → `<bin> <version>` (clipanion's builtin prints the version alone). */
export class VersionCommand extends Command<BaseContext> {
  static override paths = [['-v'], ['--version']];
  async execute(): Promise<number> {
    this.context.stdout.write(`${this.cli.binaryName} ${this.cli.binaryVersion ?? packageVersion()}\n`);
    return EXIT.OK;
  }
}

export interface CliSpec<C extends KesCliContext> {
  binaryName: string;
  /** One line shown above the command list in `--help`. */
  binaryLabel: string;
  commands: readonly CommandClass<C>[];
}

export function createCli<C extends KesCliContext>(spec: CliSpec<C>): Cli<C> {
  // Plain text always: help is read in terminals, logs and pagers alike, and clipanion's
  // HelpCommand ignores the context's colorDepth (it would colour output piped to a file).
  const cli = new Cli<C>({
    binaryName: spec.binaryName,
    binaryLabel: spec.binaryLabel,
    binaryVersion: packageVersion(),
    enableColors: false,
  });
  for (const c of spec.commands) cli.register(c);
  cli.register(Builtins.HelpCommand as unknown as CommandClass<C>);
  cli.register(VersionCommand as unknown as CommandClass<C>);
  return cli;
}

type ContextOverrides<C extends KesCliContext> = Partial<C>;


/**
 * Parse and run `argv`; resolve to the exit code (never rejects for user errors).
 * `context` overrides stdio, env, clock and any CLI-specific members (tests pass PassThroughs).
 */
export async function runCli<C extends KesCliContext>(cli: Cli<C>, argv: readonly string[], context: ContextOverrides<C> = {}): Promise<number> {
  const ctx = { ...Cli.defaultContext, colorDepth: 1, now: Date.now, ...context } as unknown as C;
  let command: Command<C>;
  try {
    command = cli.process([...argv], ctx);
  } catch (error) {
    ctx.stderr.write(`${cli.binaryName}: error: ${oneLine(usageErrorMessage(cli.binaryName, argv, error))}\n`);
    return EXIT.USAGE;
  }
  return cli.run(command, ctx);
}

/**
 * When the reader of our stdout or stderr has gone (`kes-ctl status | head -1`, `| true`), the
 * next write fails with EPIPE as an 'error' event; unhandled, Node prints a stack trace and
 * exits 1 whatever the command did. A C tool would die of SIGPIPE, which Node ignores. The
 * nearest quiet equivalent: drop the output nobody reads and let the command finish, so its
 * exit code still says how it went (an upload that reached the agent is not reported as failed).
 * Any other write error stays unhandled, as before.
 */
function ignoreClosedReader(stream: NodeJS.WritableStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

/** The whole body of a bin file: run with process.argv and set process.exitCode. */
export function runMain<C extends KesCliContext>(cli: Cli<C>): void {
  ignoreClosedReader(process.stdout);
  ignoreClosedReader(process.stderr);
  runCli(cli, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // Only reachable through a bug in the plumbing itself.
      const msg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      process.stderr.write(`${cli.binaryName}: internal error: ${oneLine(msg)}\n`);
      process.exitCode = EXIT.INTERNAL;
    },
  );
}
