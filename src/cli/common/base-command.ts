/**
 * The base of every command of every kes-agent CLI (kes-cold, kes-agent, kes-ctl, kes-node).
 *
 * Commands implement clipanion's `execute()` and either return an exit code or throw:
 * KesError for expected failures (mapped to an exit code by its error code), UsageError for
 * command-line mistakes (EXIT.USAGE), anything else is a bug (EXIT.INTERNAL). Whatever is
 * thrown becomes exactly one line on stderr: `<bin>: error: <message> [<CODE>]`, never a stack
 * trace, and never clipanion's own report (which 3.2.1 writes to stdout with exit code 1).
 */
import { Command, type BaseContext } from 'clipanion';
import type { ExitCode } from '../exit-codes';
import { describeFailure } from './report';
import { toJsonLine } from './json-output';

export interface KesCliContext extends BaseContext {
  /** Wall clock in unix ms (tests inject a fixed clock). */
  now: () => number;
}

export abstract class KesCommand<C extends KesCliContext = KesCliContext> extends Command<C> {
  /** Schema checks and execute() both run inside this: nothing escapes to clipanion's printer. */
  override async validateAndExecute(): Promise<number> {
    try {
      return await super.validateAndExecute();
    } catch (error) {
      return this.fail(error);
    }
  }

  /**
   * Report `error` as one stderr line and return its exit code. Commands call it directly when
   * they have printed a result and still need to fail (e.g. a signature that does not verify).
   */
  protected fail(error: unknown): ExitCode {
    const bin = this.cli.binaryName;
    const helpFor = [bin, ...(this.path ?? [])].join(' ');
    const { line, exitCode } = describeFailure(bin, error, helpFor);
    this.context.stderr.write(line);
    return exitCode;
  }

  protected print(text: string): void {
    this.context.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** One JSON document on one stdout line (see json-output.ts for what is refused). */
  protected printJson(value: unknown): void {
    this.context.stdout.write(toJsonLine(value));
  }
}
