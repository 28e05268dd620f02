/** What every kes-ctl command shares: the control socket and one connection per step. */
import { Option } from 'clipanion';
import { AGENT_UID_ENV, AGENT_UID_FLAG, type AgentTrust } from '../../client/agent-identity';
import type { ControlClient } from '../../client/control-client';
import { CONTROL_SOCKET_ENV, HASKELL_CONTROL_PATH_ENV } from '../../platform/socket-paths';
import { KesCommand } from '../common/base-command';
import { controlSocketPath, controlTrust, withControlClient } from './control-connection';

export abstract class CtlCommand extends KesCommand {
  socket = Option.String('--socket', { description: `Control socket (default: env ${CONTROL_SOCKET_ENV} or the Haskell agent's ${HASKELL_CONTROL_PATH_ENV}, else the agent's default)` });
  agentUid = Option.String(AGENT_UID_FLAG, {
    description: `The uid or user the agent runs as, if neither root, you, nor the owner of /run/kes-agent (default: env ${AGENT_UID_ENV}); a socket served by any other uid is refused (exit 12)`,
  });

  protected socketPath(): string {
    return controlSocketPath(this.socket, this.context.env);
  }

  protected agentTrust(): AgentTrust {
    return controlTrust(this.agentUid, this.context.env);
  }

  protected withAgent<T>(fn: (ctl: ControlClient) => Promise<T>): Promise<T> {
    return withControlClient(this.socketPath(), this.agentTrust(), fn);
  }
}
