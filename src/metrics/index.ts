/**
 * Metrics for Prometheus (`kes-agent run --metrics ADDRESS`): the agent's public state in the
 * text exposition format on GET /metrics. Off unless configured: without the setting no listener
 * exists. Metrics only read: the key-state machine stays the one writer.
 */
import type { Agent } from '../machine';
import type { Logger } from '../platform/logger';
import type { PeerSet } from '../bootstrap/peer-set';
import type { ServiceHub } from '../server/service-hub';
import { collectMetrics } from './collector';
import { startMetricsServer, type MetricsServer } from './http-server';
import { RefusalCounter } from './refusals';
import { renderTextFormat } from './text-format';
import type { MetricsAddress } from './address';

export { METRICS_ADDRESS_KIND, parseMetricsAddress, describeAddress, type MetricsAddress } from './address';
export type { MetricsServer } from './http-server';

export interface AgentMetricsInit {
  address: MetricsAddress;
  agent: Agent;
  hub: ServiceHub;
  peers: PeerSet;
  agentVersion: string;
  log: Logger;
}

/**
 * Count refusals from now on and serve the metrics. The refusal counter is subscribed before
 * the listener binds, so nothing refused after start-up is missed.
 */
export async function startAgentMetrics(init: AgentMetricsInit): Promise<MetricsServer> {
  const refusals = new RefusalCounter();
  const unsubscribe = init.agent.onRefusal((r) => refusals.count(r));
  const render = (): string =>
    renderTextFormat(
      collectMetrics({
        version: init.agentVersion,
        status: init.agent.status(),
        nodeProtocols: init.hub.nodeProtocols(),
        lastPush: init.hub.lastPushTally,
        peerStates: init.peers.status().map((p) => p.state),
        refusals: refusals.counts(),
      }),
    );
  let server: MetricsServer;
  try {
    server = await startMetricsServer({ address: init.address, render, log: init.log });
  } catch (e) {
    unsubscribe();
    throw e;
  }
  return {
    address: server.address,
    close: async () => {
      unsubscribe();
      await server.close();
    },
  };
}
