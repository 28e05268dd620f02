/**
 * Where kes-ctl finds the agent and whom it believes there, and one connection per step.
 * No clipanion here: the plain `status` line (plain-status.ts) connects without loading it.
 */
import { agentTrustFrom, type AgentTrust } from '../../client/agent-identity';
import { ControlClient } from '../../client/control-client';
import { CONTROL_SOCKET_ENVS, CONTROL_SOCKET_NAME, clientDefaultSocket, resolveSocketPath } from '../../platform/socket-paths';

/** --socket, else the environment (ours, then the Haskell agent's), else the agent's default. */
export function controlSocketPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolveSocketPath(flag, CONTROL_SOCKET_ENVS, () => clientDefaultSocket(CONTROL_SOCKET_NAME, env), env);
}

/** --agent-uid, KES_AGENT_UID, else the owner of /run/kes-agent. */
export function controlTrust(agentUid: string | undefined, env: NodeJS.ProcessEnv): AgentTrust {
  return agentTrustFrom(agentUid, env);
}

/** One connection for one step: scripts run each step as its own command. */
export async function withControlClient<T>(socketPath: string, trust: AgentTrust, fn: (ctl: ControlClient) => Promise<T>): Promise<T> {
  const ctl = await ControlClient.connect({ socketPath, trust });
  try {
    return await fn(ctl);
  } finally {
    ctl.close();
  }
}
