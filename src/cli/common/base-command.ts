/**
 * The base of every command of every kes-agent CLI (kes-cold, kes-agent, kes-ctl, kes-node).
 *
 * Commands implement clipanion's `execute()` and either return an exit code or throw:
 * KesError for expected failures (mapped to an exit code by its error code), UsageError for
 * command-line mistakes (EXIT.USAGE), anything else is a bug (EXIT.INTERNAL). Whatever is
 * thrown becomes exactly one line on stderr: `<bin>: error: <message> [<CODE>]`, never a stack
 * trace, and never clipanion's own report (which 3.2.1 writes to stdout with exit code 1).
 *
 * With `--json`, stdout carries exactly one JSON object whatever happens: the command's result
 * (printJson) is held until it ends and goes out with `ok: true` on exit 0, or with `ok: false`
 * and the failure's `code`, `message` and `exitCode` otherwise. A command that streams (a
 * watch) prints its events as they come (printJsonEvent) and, if it fails, the failure object.
 */
import { Command, type BaseContext } from 'clipanion';
import type { ExitCode } from '../exit-codes';
import { describeFailure } from './report';
import { jsonFailure, jsonSuccess, toJsonLine } from './json-output';

export interface KesCliContext extends BaseContext {
  /** Wall clock in unix ms (tests inject a fixed clock). */
  now: () => number;
}

export abstract class KesCommand<C extends KesCliContext = KesCliContext> extends Command<C> {
  /** The result printJson was given, printed when the command ends. */
  #jsonResult: Record<string, unknown> | undefined;
  /** The failure fail() reported, for the JSON object. */
  #failure: { code: string; message: string } | undefined;

  /** Schema checks and execute() both run inside this: nothing escapes to clipanion's printer. */
  override async validateAndExecute(): Promise<number> {
    let exitCode: number;
    try {
      exitCode = await super.validateAndExecute();
    } catch (error) {
      exitCode = this.fail(error);
    }
    this.#flushJson(exitCode);
    return exitCode;
  }

  /** Whether this command was given `--json` (every command that has it names the field `json`). */
  protected wantsJson(): boolean {
    return (this as unknown as { json?: unknown }).json === true;
  }

  #flushJson(exitCode: number): void {
    if (!this.wantsJson() && this.#jsonResult === undefined) return;
    const fields = this.#jsonResult;
    if (exitCode === 0) {
      if (fields !== undefined) this.context.stdout.write(jsonSuccess(fields));
      return;
    }
    if (this.#failure !== undefined) {
      this.context.stdout.write(jsonFailure(this.#failure.code, this.#failure.message, exitCode, fields));
    } else if (fields !== undefined) {
      // A verdict rather than an error (status --check: expiring soon, cannot forge): its own fields say why.
      this.context.stdout.write(toJsonLine({ ok: false, ...fields, exitCode }));
    }
  }

  /**
   * Report `error` as one stderr line and return its exit code. Commands call it directly when
   * they have printed a result and still need to fail (e.g. a signature that does not verify).
   */
  protected fail(error: unknown): ExitCode {
    const bin = this.cli.binaryName;
    const helpFor = [bin, ...(this.path ?? [])].join(' ');
    const { line, exitCode, code, message } = describeFailure(bin, error, helpFor);
    this.context.stderr.write(line);
    this.#failure ??= { code, message };
    return exitCode;
  }

  protected print(text: string): void {
    this.context.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The command's --json result, printed as one object when it ends (see the class comment). */
  protected printJson(value: Record<string, unknown>): void {
    // Serialise now: a byte array is refused here, at the command that put it in.
    toJsonLine(value);
    this.#jsonResult = value;
  }

  /** One event of a stream (`--watch`): one JSON document on one stdout line, now. */
  protected printJsonEvent(value: unknown): void {
    this.context.stdout.write(toJsonLine(value));
  }
}
