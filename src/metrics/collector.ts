/**
 * The agent's state as metrics: a pure mapping from what the key-state machine, the service hub
 * and the bootstrap peers report to metric families. Public values only: periods, counts,
 * timestamps, an opcert counter. No key bytes, not even a verification key: nothing here is a
 * string taken from key material.
 */
import type { AgentStatus } from '../machine';
import type { LinkState } from '../bootstrap/peer-link';
import type { NodeProtocol, PushTally } from '../server/service-hub';
import type { RefusalCount } from './refusals';
import type { MetricFamily, Sample } from './text-format';

/** What the collector reads; each source is read-only. */
export interface MetricsSnapshot {
  readonly version: string;
  readonly status: AgentStatus;
  readonly nodeProtocols: readonly NodeProtocol[];
  readonly lastPush: PushTally;
  readonly peerStates: readonly LinkState[];
  readonly refusals: readonly RefusalCount[];
}

/** The `protocol` label of each service client protocol; all are always reported, 0 when none. */
export const PROTOCOL_LABELS: Readonly<Record<NodeProtocol, string>> = Object.freeze({
  native: 'native',
  0: 'haskell-service-v0',
  1: 'haskell-service-v1',
  2: 'haskell-service-v2',
});

const PROTOCOL_ORDER: readonly NodeProtocol[] = ['native', 0, 1, 2];

const PREFIX = 'kes_agent_';

const one = (value: number): Sample[] => [{ value }];
const flag = (b: boolean): Sample[] => one(b ? 1 : 0);
const seconds = (ms: number): number => Math.floor(ms / 1000);

export function collectMetrics(m: MetricsSnapshot): MetricFamily[] {
  const s = m.status;
  const a = s.active;
  const families: MetricFamily[] = [];
  const gauge = (name: string, help: string, samples: Sample[]): void => {
    families.push({ name: PREFIX + name, help, type: 'gauge', samples });
  };
  const ifActive = (f: (x: NonNullable<AgentStatus['active']>) => number): Sample[] => (a === null ? [] : one(f(a)));

  gauge('info', 'The agent\'s version and network (always 1)', [{ labels: { version: m.version, network: s.network }, value: 1 }]);
  gauge('chain_started', 'Whether the chain has started, so that KES periods are counted (1) or not yet (0)', flag(s.chainStarted));
  gauge('kes_period', 'The current KES period (absent before the chain starts)', s.chainStarted ? one(s.currentKesPeriod) : []);
  gauge('active_key', 'Whether an active key is held and served to nodes (1) or not (0): without one the node cannot forge', flag(a !== null));
  gauge('active_key_evolution', 'The active key\'s evolution (absent without an active key)', ifActive((x) => x.evolution));
  gauge('active_key_periods_remaining', 'KES periods in which the active key can still sign, the current one included (absent without an active key)', ifActive((x) => x.periodsRemaining));
  gauge('active_key_expiry_timestamp_seconds', 'When the active key\'s opcert stops being valid, unix seconds (absent without an active key)', ifActive((x) => seconds(x.expiresAtMs)));
  gauge('active_key_opcert_counter', 'The active key\'s opcert counter (absent without an active key)', ifActive((x) => x.opcert.counter));
  gauge('active_key_opcert_start_kes_period', 'The KES period the active key\'s opcert starts at (absent without an active key)', ifActive((x) => x.opcert.kesPeriod));
  gauge('staged_key', 'Whether a staged key is held (generated, not uploaded yet) (1) or not (0)', flag(s.staged !== null));

  const clients = new Map<string, number>(PROTOCOL_ORDER.map((p) => [PROTOCOL_LABELS[p], 0]));
  for (const p of m.nodeProtocols) {
    const label = PROTOCOL_LABELS[p];
    clients.set(label, (clients.get(label) ?? 0) + 1);
  }
  gauge('service_clients', 'Clients connected to the service socket (block producers, and agents bootstrapping from this one), by protocol', [...clients].map(([protocol, value]) => ({ labels: { protocol }, value })));

  gauge('bootstrap_peers_configured', 'Bootstrap peer agents this agent follows', one(m.peerStates.length));
  gauge('bootstrap_peers_up', 'Bootstrap peer agents with a working connection', one(m.peerStates.filter((st) => st === 'up').length));

  gauge('last_push_nodes', 'Nodes the most recent key install or drop was pushed to', one(m.lastPush.nodes));
  gauge('last_push_confirmed_nodes', 'Nodes that have confirmed the most recent key install or drop', one(m.lastPush.confirmed));

  families.push({
    name: `${PREFIX}refusals_total`,
    help: 'Requests refused since the agent started, by origin (control: a command from kes-ctl or a Haskell control client; bootstrap: a bundle from a peer agent) and refusal code',
    type: 'counter',
    samples: m.refusals.map((r) => ({ labels: { origin: r.origin, code: r.code }, value: r.count })),
  });
  return families.filter((f) => f.samples.length > 0);
}
