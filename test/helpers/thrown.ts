/**
 * The error a call throws, for tests that check its code and message: a KesError unless another
 * class is named. Anything else thrown is rethrown as it is, so an unexpected failure shows its
 * own stack; no throw at all fails the test.
 */
import { KesError } from '../../src/errors';

export function thrownBy(f: () => unknown): KesError;
export function thrownBy<E extends Error>(f: () => unknown, type: abstract new (...args: never[]) => E): E;
export function thrownBy(f: () => unknown, type: abstract new (...args: never[]) => Error = KesError): Error {
  try {
    f();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`expected a ${type.name} to be thrown`);
}
