/**
 * Building and running a CLI so that every bin behaves the same:
 * - `--help`/`-h` (also after a command) prints usage to stdout, exit 0;
 * - `--version` (anywhere: after a command too) and top-level `-v` print `<bin> <package version>`, exit 0;
 * - no arguments at all prints the usage to stderr, exit EXIT.USAGE (2): nothing was asked for;
 * - command-line mistakes print one line to stderr with code USAGE, exit EXIT.USAGE (2);
 * - command failures print one line to stderr with their code (KesCommand);
 * - with `--json`, every outcome is also one JSON object on stdout (KesCommand, jsonFailure).
 */
import { Builtins, Cli, Command, type BaseContext, type CommandClass } from 'clipanion';
import { oneLine } from '../../errors';
import { EXIT } from '../exit-codes';
import type { KesCliContext } from './base-command';
import { jsonFailure, jsonRequested } from './json-output';
import { OPTION_WITH_ARG, withPlaceholders } from './option-placeholders';
import { errorLine, USAGE_CODE } from './report';
import { usageErrorMessage } from './usage-errors';
import { ignoreClosedReader } from './closed-reader';
import { packageVersion } from './version';

export const VERSION_FLAG = '--version';
/** Everything after it is an operand, never an option (POSIX). */
const END_OF_OPTIONS = '--';

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

/**
 * The commands a run needs: those whose first word is `argv[0]`, or all of them when `argv` is
 * not given or does not start with a command's word (`--help`, a typo, nothing).
 *
 * Why: clipanion compiles one parsing state machine over every registered command before it
 * parses anything, and for a short command like `kes-ctl status` that was the largest part of
 * the work after start-up (measured 18-31 ms for all of kes-ctl's commands against 4 ms for
 * one). A command's own usage, help and errors depend only on that command, and any line
 * clipanion cannot parse is parsed again with every command (runCli), so nothing printed
 * changes.
 */
export function commandsFor<C extends KesCliContext>(commands: readonly CommandClass<C>[], argv?: readonly string[]): readonly CommandClass<C>[] {
  const word = argv?.[0];
  if (word === undefined || word.startsWith('-')) return commands;
  const mine = commands.filter((c) => (c.paths ?? []).some((p) => p[0] === word));
  return mine.length === 0 ? commands : mine;
}

/** The CLI of `spec`: with `argv`, only the commands that line can run (commandsFor). */
export function createCli<C extends KesCliContext>(spec: CliSpec<C>, argv?: readonly string[]): Cli<C> {
  // Plain text always: help is read in terminals, logs and pagers alike, and clipanion's
  // HelpCommand ignores the context's colorDepth (it would colour output piped to a file).
  const cli = new Cli<C>({
    binaryName: spec.binaryName,
    binaryLabel: spec.binaryLabel,
    binaryVersion: packageVersion(),
    enableColors: false,
  });
  for (const c of commandsFor(spec.commands, argv)) cli.register(c);
  cli.register(Builtins.HelpCommand as unknown as CommandClass<C>);
  cli.register(VersionCommand as unknown as CommandClass<C>);
  return nameOptionValues(cli);
}

/** `--help` and usage lines say `--timeout MS`, not clipanion's `--timeout #0`. */
export function nameOptionValues<C extends BaseContext>(cli: Cli<C>): Cli<C> {
  const usage = cli.usage.bind(cli);
  cli.usage = (...args: Parameters<Cli<C>['usage']>): string => withPlaceholders(usage(...args));
  return cli;
}

/** Every option name of `cli` that takes a value (`--timeout`, `-c`, `--control-address`). */
export function valueOptions(cli: Cli<BaseContext> | Cli<KesCliContext>): Set<string> {
  const names = new Set<string>();
  for (const d of (cli as Cli<BaseContext>).definitions()) {
    const texts = [d.usage, ...d.options.map((o) => o.definition)];
    for (const text of texts) {
      for (const m of text.matchAll(OPTION_WITH_ARG)) {
        for (const n of m[1]!.split(',')) names.add(n);
      }
    }
  }
  return names;
}

/** A negative number: clipanion would take it for an option (`--timeout -5`: "not enough arguments"). */
const NEGATIVE_NUMBER = /^-\d/;

/**
 * `--timeout -5` → `--timeout=-5`, so the option's own check reports the value as out of range.
 * Only after an option that takes a value, and only before `--`.
 */
export function bindNegativeValues(argv: readonly string[], takesValue: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === END_OF_OPTIONS) return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (takesValue.has(a) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

function optionWords(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf(END_OF_OPTIONS);
  return end === -1 ? argv : argv.slice(0, end);
}

/** What runCli does before a command runs: the parsed command, or the exit code of what it already did. */
export type Parsed<C extends BaseContext> = { command: Command<C>; cli: Cli<C> } | { exitCode: number };

/**
 * The rules every bin shares before a command runs: no arguments, `--version` after a command,
 * negative numbers as option values, and parse errors as one line (plus one JSON object with
 * `--json`). `usageExit` is the bin's exit code for a usage error.
 */
export function parseArgv<C extends KesCliContext>(cli: Cli<C>, argv: readonly string[], ctx: C, usageExit: number, full?: () => Cli<C>): Parsed<C> {
  const bin = cli.binaryName;
  if (argv.length === 0) {
    ctx.stderr.write(cli.usage(null));
    return { exitCode: usageExit };
  }
  if (optionWords(argv).includes(VERSION_FLAG)) {
    ctx.stdout.write(`${bin} ${cli.binaryVersion ?? packageVersion()}\n`);
    return { exitCode: EXIT.OK };
  }
  const args = bindNegativeValues(argv, valueOptions(cli));
  try {
    return { command: cli.process(args, ctx), cli };
  } catch (error) {
    // `cli` may hold only the commands argv names (commandsFor): the error comes from them all.
    if (full !== undefined) return parseArgv(full(), argv, ctx, usageExit);
    const message = oneLine(withPlaceholders(usageErrorMessage(bin, args, error)));
    ctx.stderr.write(errorLine(bin, message, USAGE_CODE));
    if (jsonRequested(optionWords(argv))) ctx.stdout.write(jsonFailure(USAGE_CODE, message, usageExit));
    return { exitCode: usageExit };
  }
}

type ContextOverrides<C extends KesCliContext> = Partial<C>;

/** A bin's CLI builder: with argv, the CLI may hold only the commands that line can run (commandsFor). */
export type CliBuilder<C extends KesCliContext> = (argv?: readonly string[]) => Cli<C>;

/**
 * Parse and run `argv`; resolve to the exit code (never rejects for user errors).
 * `cli` is a CLI, or a builder, which is asked first for the CLI of this argv only and, when that
 * cannot parse it, for the whole CLI (so errors and suggestions are the same).
 * `context` overrides stdio, env, clock and any CLI-specific members (tests pass PassThroughs).
 */
export async function runCli<C extends KesCliContext>(cli: Cli<C> | CliBuilder<C>, argv: readonly string[], context: ContextOverrides<C> = {}): Promise<number> {
  const ctx = { ...Cli.defaultContext, colorDepth: 1, now: Date.now, ...context } as unknown as C;
  const parsed = typeof cli === 'function' ? parseArgv(cli(argv), argv, ctx, EXIT.USAGE, () => cli()) : parseArgv(cli, argv, ctx, EXIT.USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  return parsed.cli.run(parsed.command, ctx);
}

/** The whole body of a bin file: run with process.argv and set process.exitCode. */
export function runMain<C extends KesCliContext>(build: CliBuilder<C>): void {
  ignoreClosedReader(process.stdout);
  ignoreClosedReader(process.stderr);
  runCli(build, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // Only reachable through a bug in the plumbing itself.
      const msg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      process.stderr.write(`${build().binaryName}: internal error: ${oneLine(msg)}\n`);
      process.exitCode = EXIT.INTERNAL;
    },
  );
}
