/**
 * What every kes-node command shares: which agent socket, which chain clock, which cold key.
 *
 * kes-node holds a KES key while it runs (watch, sign), so it refuses the same debugging flags
 * the agent does.
 */
import { Option } from 'clipanion';
import { readColdVerificationKeyFile } from '../../cardano/cold-key';
import { loadSodium } from '../../crypto/sodium';
import { AGENT_UID_ENV, AGENT_UID_FLAG, agentTrustFrom } from '../../client/agent-identity';
import { KesNodeClient } from '../../client/node-client';
import { HASKELL_SERVICE_PATH_ENV, SERVICE_SOCKET_ENV, SERVICE_SOCKET_ENVS, SERVICE_SOCKET_NAME, clientDefaultSocket, resolveSocketPath } from '../../platform/socket-paths';
import { hardenProcess } from '../../platform/hardening';
import { refuseDebuggingFlags } from '../agent/process-guards';
import { KesCommand } from '../common/base-command';
import { resolveTiming } from '../common/timing';

export abstract class NodeCommand extends KesCommand {
  socket = Option.String('--socket', { description: `The agent's service socket (default: env ${SERVICE_SOCKET_ENV} or the Haskell agent's ${HASKELL_SERVICE_PATH_ENV}, else the agent's default)` });
  coldVkey = Option.String('--cold-vkey', { description: 'The pool\'s cold verification key: refuse keys whose opcert it did not sign' });
  network = Option.String('--network', { description: 'mainnet (default), preprod or preview' });
  genesis = Option.String('--genesis', { description: 'Shelley genesis file (a private testnet\'s, or the mainnet or preprod one, recognised by networkMagic)' });
  agentUid = Option.String(AGENT_UID_FLAG, {
    description: `The uid or user the agent runs as, if neither root, you, nor the owner of /run/kes-agent (default: env ${AGENT_UID_ENV}); a socket served by any other uid is refused (exit 12)`,
  });

  protected socketPath(): string {
    const env = this.context.env;
    return resolveSocketPath(this.socket, SERVICE_SOCKET_ENVS, () => clientDefaultSocket(SERVICE_SOCKET_NAME, env), env);
  }

  /** Check every flag and file first, then build the (not yet started) client. */
  protected async makeClient(): Promise<KesNodeClient> {
    refuseDebuggingFlags(process.execArgv, this.context.env['NODE_OPTIONS']);
    const timing = resolveTiming(this.network, this.genesis);
    const socketPath = this.socketPath();
    const trust = agentTrustFrom(this.agentUid, this.context.env);
    await loadSodium();
    // The key this process receives goes into locked, no-dump memory when the host allows it;
    // kes-node is a tool, so a gap is a warning here, not a refusal as in the agent.
    for (const warning of hardenProcess({ allowUnlockedMemory: true }).warnings) this.context.stderr.write(`kes-node: warning: ${warning}\n`);
    const coldVk = this.coldVkey === undefined ? undefined : readColdVerificationKeyFile(this.coldVkey);
    return new KesNodeClient({ socketPath, timing, coldVk, now: this.context.now, trust });
  }
}
