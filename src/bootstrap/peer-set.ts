/**
 * The configured bootstrap peers: one PeerLink per path, started and stopped as the
 * configuration changes (SIGHUP). Adding or removing a peer never touches the keys: a removed
 * peer's link is closed; what it delivered stays installed.
 */
import * as path from 'node:path';
import type { AgentTrust } from '../client/agent-identity';
import type { Agent } from '../machine/agent';
import type { Logger } from '../platform/logger';
import { PeerLink, type PeerLinkStatus } from './peer-link';

/** Peers one agent may have: a few is redundancy, dozens is a mistake (and a status too large for the wire). @default 16 */
export const MAX_BOOTSTRAP_PEERS = 16;

export interface PeerSetInit {
  agent: Agent;
  coldVk: Uint8Array;
  trust: AgentTrust;
  log: Logger;
  /** Our own service socket: a peer at this path would be ourselves, and is skipped. */
  ownServiceSocket: () => string;
  now?: () => number;
}

export class PeerSet {
  readonly #init: PeerSetInit;
  readonly #links = new Map<string, PeerLink>();
  #stopped = false;

  constructor(init: PeerSetInit) {
    this.#init = init;
  }

  /** Make the running links exactly `paths` (deduplicated, resolved). Returns what changed. */
  update(paths: readonly string[]): { added: string[]; removed: string[] } {
    if (this.#stopped) return { added: [], removed: [] };
    const own = path.resolve(this.#init.ownServiceSocket());
    const wanted = new Set<string>();
    for (const p of paths) {
      const abs = path.resolve(p);
      if (abs === own) {
        this.#init.log.warn('bootstrap: a peer path is this agent\'s own service socket; skipped', { peer: abs });
        continue;
      }
      wanted.add(abs);
    }
    const removed: string[] = [];
    for (const [p, link] of this.#links) {
      if (wanted.has(p)) continue;
      this.#links.delete(p);
      removed.push(p);
      void link.stop();
      this.#init.log.info('bootstrap: peer removed', { peer: p });
    }
    const added: string[] = [];
    for (const p of wanted) {
      if (this.#links.has(p)) continue;
      const link = new PeerLink({ path: p, agent: this.#init.agent, coldVk: this.#init.coldVk, trust: this.#init.trust, log: this.#init.log, ...(this.#init.now ? { now: this.#init.now } : {}) });
      this.#links.set(p, link);
      added.push(p);
      this.#init.log.info('bootstrap: peer added', { peer: p });
      link.start();
    }
    return { added, removed };
  }

  status(): PeerLinkStatus[] {
    return [...this.#links.values()].map((l) => l.status());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const links = [...this.#links.values()];
    this.#links.clear();
    await Promise.all(links.map((l) => l.stop()));
  }
}
