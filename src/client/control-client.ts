/**
 * The control client: one method per control step (spec/protocol.md "Control requests").
 * `kes-ctl` is a thin shell over it; scripts in TypeScript can use it directly.
 *
 *     const ctl = await ControlClient.connect({ socketPath });
 *     try {
 *       const { kesVk } = await ctl.keygen({ force: false });
 *       ...
 *     } finally {
 *       ctl.close();
 *     }
 */
import { KesError } from '../errors';
import {
  CONTROL_PROTOCOL_VERSION_COUNTER_FLOOR,
  importReport,
  ReceiveTimeoutError,
  statusReport,
  type ImportReport,
  type StatusReport,
  wireErrorName,
  type Message,
  type Opcert,
  type OutgoingMessage,
  type WireErrorName,
} from '../protocol';
import { ConnectionClosedError, wipeMessage } from '../protocol/framed-socket';
import { connectToAgent, type AgentConnection } from './connect';
import type { AgentTrust } from './agent-identity';

/** How long to wait for the agent's reply beyond any confirmation wait it was asked to do. @default 10000 */
export const REPLY_TIMEOUT_MS = 10_000;

/** The agent answered a request with ERROR. `agentCode` is its stable wire error name. */
export class AgentRefusedError extends KesError {
  readonly agentCode: WireErrorName | `UNKNOWN_${number}`;
  constructor(request: string, code: number, agentMessage: string) {
    const name = wireErrorName(code) ?? (`UNKNOWN_${code}` as const);
    super('AGENT_REFUSED', `the agent refused ${request}: ${agentMessage}`);
    this.agentCode = name;
  }
}

type Reply<T extends Message['type']> = Extract<Message, { type: T }>;

/** Where the agent is and whom to believe there, for ControlClient.connect. */
export interface ControlConnectOptions {
  socketPath: string;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  trust?: AgentTrust;
}

const STATUS_REQUEST: OutgoingMessage = { type: 'status' };

export class ControlClient {
  readonly #conn: AgentConnection;

  private constructor(conn: AgentConnection) {
    this.#conn = conn;
  }

  /** `signal` aborts the connect and handshake (CLIENT_STOPPED). */
  static async connect(opts: ControlConnectOptions): Promise<ControlClient> {
    return new ControlClient(
      await connectToAgent({ socketPath: opts.socketPath, role: 'control', connectTimeoutMs: opts.connectTimeoutMs, signal: opts.signal, trust: opts.trust }),
    );
  }

  get agentVersion(): string {
    return this.#conn.agentVersion;
  }

  get protocolVersion(): number {
    return this.#conn.protocolVersion;
  }

  keygen(opts: { force: boolean }): Promise<Reply<'keygen_ok'>> {
    return this.#request('keygen', { type: 'keygen', force: opts.force }, 'keygen_ok');
  }

  exportVerkey(): Promise<Reply<'verkey'>> {
    return this.#request('export-verkey', { type: 'export_verkey' }, 'verkey');
  }

  /** IMPORT_OK, or IMPORT_OK_V2 with the counter floor on a control version 2 connection. */
  async importOpcert(opcert: Opcert): Promise<ImportReport> {
    const expect = this.protocolVersion >= CONTROL_PROTOCOL_VERSION_COUNTER_FLOOR ? 'import_ok_v2' : 'import_ok';
    return importReport(await this.#request('import-opcert', { type: 'import_opcert', opcert }, expect));
  }

  /**
   * `force`: replace an active key that can sign now even with one whose opcert starts later
   * (sent as UPLOAD_V2; without it, plain UPLOAD, which every agent of this protocol knows).
   */
  async upload(opts: { confirmTimeoutMs: number; force?: boolean }): Promise<Reply<'upload_ok'>> {
    if (opts.force !== true) {
      return this.#request('upload', { type: 'upload', confirmTimeoutMs: opts.confirmTimeoutMs }, 'upload_ok', opts.confirmTimeoutMs);
    }
    try {
      return await this.#request('upload --force', { type: 'upload_v2', confirmTimeoutMs: opts.confirmTimeoutMs, force: true }, 'upload_ok', opts.confirmTimeoutMs);
    } catch (e) {
      // An agent built before UPLOAD_V2 does not know the kind (spec/protocol.md §4); it also
      // never refuses the upload that --force is for.
      if (e instanceof AgentRefusedError && e.agentCode === 'UNKNOWN_KIND') {
        throw new KesError('AGENT_PROTOCOL', `${this.#conn.socketPath}: this agent (${this.agentVersion}) predates upload --force and never refuses an upload for a later opcert start: run upload without --force`);
      }
      throw e;
    }
  }

  /**
   * STATUS_OK_V3 (with the bootstrap peers) from this agent; STATUS_OK_V2 from an agent built
   * before it (no peers reported); STATUS_OK on a version 1 connection.
   */
  async status(): Promise<StatusReport> {
    if (this.protocolVersion < CONTROL_PROTOCOL_VERSION_COUNTER_FLOOR) return statusReport(await this.#request('status', STATUS_REQUEST, 'status_ok'));
    return statusReport(await this.#request('status', STATUS_REQUEST, ['status_ok_v3', 'status_ok_v2']));
  }

  dropStaged(): Promise<Reply<'dropped'>> {
    return this.#request('drop-staged', { type: 'drop_staged' }, 'dropped');
  }

  dropActive(opts: { confirmTimeoutMs: number }): Promise<Reply<'dropped'>> {
    return this.#request('drop-active', { type: 'drop_active', confirmTimeoutMs: opts.confirmTimeoutMs }, 'dropped', opts.confirmTimeoutMs);
  }

  close(): void {
    this.#conn.framed.close();
  }

  async #request<T extends Message['type']>(what: string, msg: OutgoingMessage, expect: T | readonly T[], extraWaitMs = 0): Promise<Reply<T>> {
    const expected: readonly string[] = typeof expect === 'string' ? [expect] : expect;
    const path = this.#conn.socketPath;
    let reply: Message;
    try {
      await this.#conn.framed.send(msg);
      reply = await this.#conn.framed.receive(REPLY_TIMEOUT_MS + extraWaitMs);
    } catch (e) {
      if (e instanceof ReceiveTimeoutError) throw new KesError('AGENT_TIMEOUT', `${path}: no reply to ${what} within ${e.timeoutMs} ms`);
      if (e instanceof ConnectionClosedError) throw new KesError('AGENT_CONNECTION_LOST', `${path}: the agent closed the connection during ${what}`);
      if (e instanceof KesError) throw e;
      throw new KesError('AGENT_PROTOCOL', `${path}: the agent's reply to ${what} could not be decoded`);
    }
    if (reply.type === 'error') throw new AgentRefusedError(what, reply.code, reply.message);
    if (!expected.includes(reply.type)) {
      wipeMessage(reply);
      throw new KesError('AGENT_PROTOCOL', `${path}: the agent answered ${what} with ${reply.type.toUpperCase()}, expected ${expected.map((t) => t.toUpperCase()).join(' or ')}`);
    }
    return reply as Reply<T>;
  }
}
