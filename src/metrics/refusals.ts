/**
 * Refusals counted by code since the agent started: commands refused by the key-state machine
 * (from kes-ctl or a Haskell control client) and bundles refused from bootstrap peers. The codes
 * are the machine's fixed lists, so the number of series is bounded; every one starts at 0, so a
 * rate() or increase() over it works from the first scrape.
 */
import { AGENT_ERROR_CODES, PEER_REFUSAL_CODES, type Refusal } from '../machine';

/** Where a refused request came from, as the metric's `origin` label says it. */
export type RefusalOrigin = 'control' | 'bootstrap';

const ORIGIN: Readonly<Record<Refusal['from'], RefusalOrigin>> = { command: 'control', peer: 'bootstrap' };

export interface RefusalCount {
  readonly origin: RefusalOrigin;
  readonly code: string;
  readonly count: number;
}

export class RefusalCounter {
  readonly #counts = new Map<string, { origin: RefusalOrigin; code: string; count: number }>();

  constructor() {
    for (const code of AGENT_ERROR_CODES) this.#entry('control', code);
    for (const code of PEER_REFUSAL_CODES) this.#entry('bootstrap', code);
  }

  count(r: Refusal): void {
    this.#entry(ORIGIN[r.from], r.code).count++;
  }

  counts(): RefusalCount[] {
    return [...this.#counts.values()].map((c) => ({ ...c }));
  }

  #entry(origin: RefusalOrigin, code: string): { origin: RefusalOrigin; code: string; count: number } {
    const key = `${origin} ${code}`;
    let e = this.#counts.get(key);
    if (e === undefined) {
      e = { origin, code, count: 0 };
      this.#counts.set(key, e);
    }
    return e;
  }
}
