/**
 * Telling a network mismatch from a period problem, from what a node receives.
 *
 * The service protocol does not carry the agent's network (WELCOME has none, spec/protocol.md
 * §7.3), but a KEY does carry the agent's KES period: the agent evolves the key to its current
 * period before it sends it, so a key at evolution e > 0 under an opcert starting at c0 says
 * "the agent's period is c0 + e". When that is not this node's period but is, give or take the
 * boundary, the current period of another public network, the two run different networks.
 */
import { kesTimeAt, NETWORK_NAMES, networkTiming, type ChainTiming, type NetworkName } from '../time';

/**
 * Periods by which the agent's and the node's reading of "now" may differ on the same network
 * without meaning anything: a push that crosses a period boundary. @default 1
 */
export const BOUNDARY_SKEW_PERIODS = 1;

export interface NetworkMismatch {
  /** The public network whose current period the agent's key is at. */
  readonly agentNetwork: NetworkName;
  readonly agentKesPeriod: number;
  /** This node's network name (ChainTiming.name) and current period. */
  readonly nodeNetwork: string;
  readonly nodeKesPeriod: number;
}

/**
 * The mismatch a key shows, or undefined when it shows none (evolution 0 tells only an upper
 * bound of the agent's period; a period of no public network may be a clock problem instead).
 */
export function networkMismatchOf(timing: ChainTiming, startKesPeriod: number, evolution: number, nowMs: number): NetworkMismatch | undefined {
  if (evolution === 0) return undefined;
  const node = kesTimeAt(timing, nowMs);
  const agentKesPeriod = startKesPeriod + evolution;
  if (node.started && Math.abs(node.kesPeriod - agentKesPeriod) <= BOUNDARY_SKEW_PERIODS) return undefined;
  for (const name of NETWORK_NAMES) {
    const t = kesTimeAt(networkTiming(name), nowMs);
    if (!t.started || Math.abs(t.kesPeriod - agentKesPeriod) > BOUNDARY_SKEW_PERIODS) continue;
    return { agentNetwork: name, agentKesPeriod, nodeNetwork: timing.name, nodeKesPeriod: node.started ? node.kesPeriod : 0 };
  }
  return undefined;
}

/** One line: "network mismatch: the agent runs mainnet ..., this node preview ...". */
export function describeNetworkMismatch(m: NetworkMismatch): string {
  return (
    `network mismatch: the agent runs ${m.agentNetwork} (its key is at KES period ${m.agentKesPeriod}, the current period of ${m.agentNetwork}), ` +
    `this node ${m.nodeNetwork} (current KES period ${m.nodeKesPeriod}): use the agent's network on the node, or point the node at its own network's agent`
  );
}
