/** What every kes-ctl command shares: the control socket and one connection per step. */
import { Option } from 'clipanion';
import { AGENT_UID_ENV, AGENT_UID_FLAG, agentTrustFrom, type AgentTrust } from '../../client/agent-identity';
import { ControlClient } from '../../client/control-client';
import { toHex } from '../../crypto/bytes';
import type { Opcert } from '../../protocol';
import { CONTROL_SOCKET_ENV, CONTROL_SOCKET_ENVS, CONTROL_SOCKET_NAME, HASKELL_CONTROL_PATH_ENV, clientDefaultSocket, resolveSocketPath } from '../../platform/socket-paths';
import { KesCommand } from '../common/base-command';

export abstract class CtlCommand extends KesCommand {
  socket = Option.String('--socket', { description: `Control socket (default: env ${CONTROL_SOCKET_ENV} or the Haskell agent's ${HASKELL_CONTROL_PATH_ENV}, else the agent's default)` });
  agentUid = Option.String(AGENT_UID_FLAG, {
    description: `The uid or user the agent runs as, if neither root, you, nor the owner of /run/kes-agent (default: env ${AGENT_UID_ENV}); a socket served by any other uid is refused (exit 12)`,
  });

  protected socketPath(): string {
    const env = this.context.env;
    return resolveSocketPath(this.socket, CONTROL_SOCKET_ENVS, clientDefaultSocket(CONTROL_SOCKET_NAME, env), env);
  }

  /** Whom to believe on the socket: --agent-uid, KES_AGENT_UID, else the owner of /run/kes-agent. */
  protected agentTrust(): AgentTrust {
    return agentTrustFrom(this.agentUid, this.context.env);
  }

  /** One connection for one step: scripts run each step as its own command. */
  protected async withAgent<T>(fn: (ctl: ControlClient) => Promise<T>): Promise<T> {
    const ctl = await ControlClient.connect({ socketPath: this.socketPath(), trust: this.agentTrust() });
    try {
      return await fn(ctl);
    } finally {
      ctl.close();
    }
  }
}

/** An opcert as JSON: public fields only, bytes as lowercase hex. */
export function opcertJson(o: Opcert): Record<string, string | number> {
  return { counter: o.counter, kesPeriod: o.kesPeriod, hotVkey: toHex(o.hotVk), coldVkey: toHex(o.coldVk), sigma: toHex(o.sigma) };
}
