/**
 * Stopping the daemon: wipe every key, close every connection, remove both sockets, close the
 * metrics listener. Once, whoever asks first: a signal through Daemon.stop(), or the key state
 * failing closed (then the daemon reports 'failed', so systemd's Restart=on-failure applies).
 */
import type { Agent } from '../machine/agent';
import type { Logger } from '../platform/logger';
import type { PeerSet } from '../bootstrap/peer-set';
import type { MetricsServer } from '../metrics';
import type { ServiceHub } from './service-hub';
import { closeServer, type DaemonSockets } from './daemon-sockets';

/** What a stop closes. */
export interface ShutdownParts {
  readonly agent: Agent;
  readonly hub: ServiceHub;
  readonly peers: PeerSet;
  readonly sockets: DaemonSockets;
  /** The metrics listener, once it is up. */
  readonly metrics: () => MetricsServer | undefined;
}

export class DaemonShutdown {
  readonly stopped: Promise<'stopped' | 'failed'>;
  readonly #log: Logger;
  #resolveStopped!: (how: 'stopped' | 'failed') => void;
  #parts: ShutdownParts | undefined;
  #stopping: Promise<void> | undefined;
  #failed = false;

  constructor(log: Logger) {
    this.#log = log;
    this.stopped = new Promise((r) => (this.#resolveStopped = r));
  }

  /** What to close; given once the daemon's parts exist, before anything can ask for a stop. */
  arm(parts: ShutdownParts): void {
    this.#parts = parts;
  }

  get isStopping(): boolean {
    return this.#stopping !== undefined;
  }

  /** The key state failed closed: stop, and report 'failed'. */
  failClosed(): void {
    this.#failed = true;
    // Deferred: this can run inside a command, while the agent is still mid-call.
    setImmediate(() => void this.stop());
  }

  /** Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const parts = this.#parts;
      if (parts === undefined) throw new Error('bug: the daemon was stopped before its parts existed');
      await parts.peers.stop();
      parts.agent.stop();
      parts.hub.closeAll();
      for (const c of [...parts.sockets.control.open, ...parts.sockets.service.open]) c.destroy();
      await Promise.all([closeServer(parts.sockets.control.server), closeServer(parts.sockets.service.server), parts.metrics()?.close()]);
      this.#log.info('agent: stopped; keys wiped, sockets removed');
      this.#resolveStopped(this.#failed ? 'failed' : 'stopped');
    })();
    return this.#stopping;
  }
}
