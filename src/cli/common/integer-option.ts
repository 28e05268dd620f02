/**
 * Validators for options that take a whole number (`--timeout MS`, `--kes-period N`), with
 * messages that follow the usage-error rule (README "Errors"): name the option, say what was
 * expected, quote what was given. typanion's own say "Invalid value for --x: expected a number
 * (got \"abc\")" and nothing about the range.
 */
import { UsageError } from 'clipanion';
import * as t from 'typanion';

const DIGITS = /^-?\d+$/;

/** `'abc'`: the value as given, cut and quoted so it stays one short line. */
const MAX_SHOWN_VALUE_CHARS = 40;
function shown(value: string): string {
  const v = value.length > MAX_SHOWN_VALUE_CHARS ? `${value.slice(0, MAX_SHOWN_VALUE_CHARS)}…` : value;
  return `'${v}'`;
}

/**
 * An integer in [min, max]. Not a number at all: "--kes-period: expected a non-negative integer,
 * got 'abc'"; a number outside the range: "--timeout: -5 is out of range: expected an integer
 * from 0 to 600000".
 * @throws UsageError from the validator, which clipanion turns into exit 2.
 */
export function integerIn(option: string, min: number, max: number): t.StrictValidator<unknown, number> {
  const what = min === 0 ? 'a non-negative integer' : 'an integer';
  return t.makeValidator<unknown, number>({
    test: (value, state): value is number => {
      const text = String(value);
      if (!DIGITS.test(text)) throw new UsageError(`${option}: expected ${what}, got ${shown(text)}`);
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        throw new UsageError(`${option}: ${shown(text)} is out of range: expected an integer from ${min} to ${max}`);
      }
      if (state?.coercions !== undefined && state.coercion !== undefined) state.coercions.push([state.p ?? '.', state.coercion.bind(null, n)]);
      return true;
    },
  });
}
