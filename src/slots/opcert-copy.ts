/**
 * Opcerts are public, but a slot must not share byte arrays with its caller: a caller that later
 * reuses or wipes its buffer would silently change what the slot (and every node it serves)
 * believes. Slots keep their own copies and hand out copies.
 */
import type { Opcert } from '../cardano/opcert';

export function copyOpcert(o: Opcert): Opcert {
  return {
    hotVk: o.hotVk.slice(),
    counter: o.counter,
    kesPeriod: o.kesPeriod,
    sigma: o.sigma.slice(),
    coldVk: o.coldVk.slice(),
  };
}
