/**
 * The node's connection loop: connect to the agent, run a session, back off, again, until
 * stopped. The backoff resets only after a session delivered a valid state message, never after
 * a bare handshake (backoff.ts says why). Every failure becomes a `disconnected` report that
 * names the socket; nothing here throws at the host.
 */
import { KesError, type ErrorCode } from '../errors';
import { loadSodium } from '../crypto/sodium';
import { type FramedSocket } from '../protocol';
import { Backoff, type BackoffOptions } from './backoff';
import { connectToAgent, type AgentConnection } from './connect';
import { type AgentTrust } from './agent-identity';

export type SessionEnd = { productive: boolean; reason: string; code: ErrorCode };

export interface ReconnectLoopInit {
  socketPath: string;
  trust: AgentTrust;
  backoff?: BackoffOptions;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** False once the client was stopped. */
  isRunning: () => boolean;
  /** The handshake completed; the session starts next. */
  onConnected: (conn: AgentConnection) => void;
  /** Handle the session until the connection ends; returns why it ended. */
  session: (framed: FramedSocket, session: { productive: boolean }) => Promise<string>;
  /** An attempt or a session ended; the next attempt is in `willRetryInMs`. */
  onDisconnected: (end: SessionEnd, willRetryInMs: number) => void;
}

export class ReconnectLoop {
  readonly #init: ReconnectLoopInit;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  #framed: FramedSocket | undefined;
  #retry: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(init: ReconnectLoopInit) {
    this.#init = init;
    this.#backoff = new Backoff(init.backoff);
  }

  /** True while a session is open (after the handshake). */
  get connected(): boolean {
    return this.#framed !== undefined;
  }

  /** Run until isRunning() turns false and interrupt() was called. */
  async run(): Promise<void> {
    // Key validation needs libsodium; a host that forgot loadSodium() must not see every key refused.
    await loadSodium();
    while (this.#init.isRunning()) {
      const end = await this.#attempt();
      if (!this.#init.isRunning()) return;
      if (end.productive) this.#backoff.reset();
      const delay = this.#backoff.next();
      this.#init.onDisconnected(end, delay);
      await this.#sleep(delay);
    }
  }

  /** Cancel a connect in progress, close the open session, and cut a backoff wait short. */
  interrupt(): void {
    this.#abort.abort();
    this.#framed?.destroy();
    if (this.#retry !== undefined) {
      clearTimeout(this.#retry.timer);
      this.#retry.wake();
    }
  }

  async #attempt(): Promise<SessionEnd> {
    const init = this.#init;
    let framed: FramedSocket;
    try {
      const conn = await connectToAgent({
        socketPath: init.socketPath,
        role: 'service',
        connectTimeoutMs: init.connectTimeoutMs,
        handshakeTimeoutMs: init.handshakeTimeoutMs,
        signal: this.#abort.signal,
        trust: init.trust,
      });
      framed = conn.framed;
      if (!init.isRunning()) {
        framed.destroy();
        return { productive: false, reason: 'stopped', code: 'CLIENT_STOPPED' };
      }
      framed.socket.unref();
      this.#framed = framed;
      init.onConnected(conn);
    } catch (e) {
      if (e instanceof KesError) return { productive: false, reason: e.message, code: e.code };
      const what = e instanceof Error ? e.name : 'unknown error';
      return { productive: false, reason: `${init.socketPath}: connecting failed (${what})`, code: 'AGENT_UNREACHABLE' };
    }
    const session = { productive: false };
    try {
      const reason = await init.session(framed, session);
      return { productive: session.productive, reason: `${init.socketPath}: ${reason}`, code: 'AGENT_CONNECTION_LOST' };
    } finally {
      this.#framed = undefined;
      framed.destroy();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#retry = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.#retry = { timer, wake: resolve };
    });
  }
}
