/**
 * One-line messages for command-line mistakes that clipanion detects while parsing argv.
 *
 * clipanion 3.2.1 throws UnknownSyntaxError (not exported) with multi-line messages and, for a
 * missing required option, only "Command not found; did you mean: …". We rebuild a short reason
 * from the error's candidates and the argv, and always show the matching usage line.
 */

import { placeholderFor } from './option-placeholders';

/** An unknown command word is echoed at most this long. */
const MAX_ECHOED_WORD_CHARS = 40;

interface Candidate {
  usage: string;
  reason: string | null;
}

function candidatesOf(error: unknown): Candidate[] | undefined {
  if (!(error instanceof Error) || error.name !== 'UnknownSyntaxError') return undefined;
  const c = (error as { candidates?: unknown }).candidates;
  return Array.isArray(c) ? (c as Candidate[]) : undefined;
}

/** `<--kes-period #0>` in a usage line marks a required option. */
function requiredOptions(usage: string): string[] {
  return [...usage.matchAll(/<(--[A-Za-z0-9-]+)[ >]/g)].map((m) => m[1]!);
}

function given(argv: readonly string[], option: string): boolean {
  return argv.some((a) => a === option || a.startsWith(`${option}=`));
}

/** clipanion's reason, in the usage-error rule's words where it has one (`--x: expected N, got nothing`). */
function reasonText(reason: string, usage: string): string {
  const r = reason.replace(/\.$/, '');
  if (r === 'Not enough positional arguments') {
    const operands = [...usage.matchAll(/<([a-z][a-z0-9-]*)>/g)].map((m) => m[1]!.toUpperCase());
    return `expected ${operands.length > 0 ? operands.join(' ') : 'more arguments'}, got nothing`;
  }
  const extra = /^Extraneous positional argument \((.*)\)$/.exec(r);
  if (extra !== null) return `unexpected argument ${extra[1]!}`;
  const noValue = /^Not enough arguments to option (\S+)$/.exec(r);
  if (noValue !== null) return `${noValue[1]!}: expected ${placeholderFor([noValue[1]!])}, got nothing`;
  const unknown = /^Unsupported option name \("(.*)"\)$/.exec(r);
  if (unknown !== null) return `unknown option ${JSON.stringify(unknown[1]!)}`;
  return r;
}

/**
 * The message for a parse-time error, without the "<bin>: error: " prefix. `bin` is used for the
 * help hint. Unknown error kinds fall back to their first line.
 */
export function usageErrorMessage(bin: string, argv: readonly string[], error: unknown): string {
  const candidates = candidatesOf(error);
  const hint = `run '${bin} --help'`;
  if (candidates !== undefined) {
    // Every command of ours starts with its command word. Options first (`kes-agent --cold-vkey
    // x`, `run` forgotten) make clipanion match some unrelated command; say what is missing.
    if (argv[0]?.startsWith('-') === true) return `no command given; ${hint}`;
    const real = candidates.filter((c) => !/ -h$/.test(c.usage));
    const first = real[0];
    if (first !== undefined && real.every((c) => c.reason !== null && c.reason === first.reason)) {
      return `${reasonText(first.reason!, first.usage)} (usage: ${first.usage})`;
    }
    if (real.length === 1 && first !== undefined) {
      const missing = requiredOptions(first.usage).filter((o) => !given(argv, o));
      const what = missing.length > 0 ? `missing required option${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` : 'incomplete command';
      return `${what} (usage: ${first.usage})`;
    }
    const word = argv.find((a) => !a.startsWith('-'));
    return word === undefined ? `no command given; ${hint}` : `unknown command ${JSON.stringify(word.slice(0, MAX_ECHOED_WORD_CHARS))}; ${hint}`;
  }
  if (error instanceof Error && error.name === 'AmbiguousSyntaxError') return `ambiguous command line; ${hint}`;
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
