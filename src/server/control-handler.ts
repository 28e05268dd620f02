/**
 * The control socket: one request, one reply, in order, for as long as the client stays.
 *
 * This module only decodes requests, hands them to the agent (the single writer of key state)
 * and encodes what it answers. Refusals travel as ERROR with a stable code and a fixed message;
 * internal exception text never reaches a client.
 */
import type * as net from 'node:net';
import type { Agent } from '../machine/agent';
import type { AgentErrorCode, AgentResult, RefusalDetail } from '../machine/types';
import { commandRefusalText } from '../protocol/refusal-text';
import {
  welcome,
  CONTROL_PROTOCOL_VERSION_COUNTER_FLOOR,
  isProtocolError,
  NO_PROTECTION,
  MAX_CONFIRM_TIMEOUT_MS,
  WIRE_ERROR_CODES,
  type Message,
  type OutgoingMessage,
  type Protection,
  type Status,
} from '../protocol';
import { ConnectionClosedError, FramedSocket, ReceiveTimeoutError, wipeMessage } from '../protocol/framed-socket';
import { toHex } from '../crypto/bytes';
import type { Logger } from '../platform/logger';
import { CONTROL_IDLE_TIMEOUT_MS } from './limits';
import { toWireStatus } from './wire-status';
import type { BroadcastOutcome, Push, ServiceHub } from './service-hub';
import type { PeerLinkStatus } from '../bootstrap/peer-link';
import { peerWarnings, wirePeers } from '../bootstrap/peer-report';

/**
 * Each refusal's wire error code (spec/protocol.md "Wire error codes"). The wire also has
 * NO_ACTIVE_KEY, CHAIN_NOT_STARTED and KEY_EXHAUSTED, which this agent never sends: drop-active
 * without a key answers hadKey=false, a chain that has not started accepts imports and uploads
 * (the key waits at evolution 0), and an opcert that would need an evolution past the last one
 * is refused earlier as OPCERT_EXPIRED (maxKESEvolutions ≤ 64).
 */
const WIRE_CODE_OF: Readonly<Record<AgentErrorCode, number>> = Object.freeze({
  NO_STAGED_KEY: WIRE_ERROR_CODES.NO_STAGED_KEY,
  STAGED_KEY_EXISTS: WIRE_ERROR_CODES.STAGED_KEY_EXISTS,
  NO_OPCERT: WIRE_ERROR_CODES.NO_OPCERT,
  OPCERT_WRONG_COLD_KEY: WIRE_ERROR_CODES.OPCERT_WRONG_COLD_KEY,
  OPCERT_BAD_SIGNATURE: WIRE_ERROR_CODES.OPCERT_BAD_SIGNATURE,
  OPCERT_WRONG_KES_KEY: WIRE_ERROR_CODES.OPCERT_WRONG_KES_KEY,
  OPCERT_EXPIRED: WIRE_ERROR_CODES.OPCERT_EXPIRED,
  OPCERT_COUNTER_TOO_LOW: WIRE_ERROR_CODES.OPCERT_COUNTER_TOO_LOW,
  OPCERT_NOT_YET_VALID: WIRE_ERROR_CODES.OPCERT_NOT_YET_VALID,
});

export interface ControlHandlerInit {
  agent: Agent;
  hub: ServiceHub;
  logger: Logger;
  agentVersion: string;
  /**
   * The protections in force, asked at every STATUS (they can change, e.g. the sodium heap grows
   * and is re-locked). @default () => NO_PROTECTION
   */
  protection?: () => Protection;
  /** The bootstrap peer links, asked at every STATUS. @default () => [] */
  peers?: () => PeerLinkStatus[];
}

export class ControlHandler {
  readonly #agent: Agent;
  readonly #hub: ServiceHub;
  readonly #log: Logger;
  readonly #agentVersion: string;
  readonly #protection: () => Protection;
  readonly #peers: () => PeerLinkStatus[];
  #nextId = 1;

  constructor(init: ControlHandlerInit) {
    this.#agent = init.agent;
    this.#hub = init.hub;
    this.#log = init.logger;
    this.#agentVersion = init.agentVersion;
    this.#protection = init.protection ?? (() => NO_PROTECTION);
    this.#peers = init.peers ?? (() => []);
  }

  /**
   * Serve one connection that chose our protocol in the version handshake, until it closes:
   * WELCOME, then one reply per request. Never throws.
   */
  async serve(socket: net.Socket): Promise<void> {
    const conn = new FramedSocket(socket, { receivesSecrets: false });
    const id = this.#nextId++;
    try {
      const hello = welcome('control', this.#agentVersion);
      await conn.send(hello);
      for (;;) {
        const request = await conn.receive(CONTROL_IDLE_TIMEOUT_MS);
        const reply = await this.#handle(id, hello.version, request);
        if (reply === undefined) {
          await conn.closeWithError(WIRE_ERROR_CODES.UNEXPECTED_MESSAGE, `a control client may not send ${request.type.toUpperCase()}`);
          return;
        }
        await conn.send(reply);
      }
    } catch (e) {
      this.#onConnectionEnd(conn, id, e);
    } finally {
      conn.destroy();
    }
  }

  /**
   * The reply to one request, or undefined when the message is not a control request. `version`
   * is the connection's control protocol version: it picks the reply kinds (spec/protocol.md §4).
   */
  async #handle(client: number, version: number, m: Message): Promise<OutgoingMessage | undefined> {
    const withFloor = version >= CONTROL_PROTOCOL_VERSION_COUNTER_FLOOR;
    switch (m.type) {
      case 'keygen':
        return this.#reply(client, 'keygen', this.#agent.keygen({ force: m.force }), (v) => ({
          type: 'keygen_ok', kesVk: v.kesVk, replacedStaged: v.replacedStaged,
        }), (v) => ({ kesVk: toHex(v.kesVk), replaced: v.replacedStaged }));
      case 'export_verkey':
        return this.#reply(client, 'export-verkey', this.#agent.exportVerkey(), (v) => ({
          type: 'verkey', kesVk: v.kesVk, hasOpcert: v.hasOpcert,
        }));
      case 'import_opcert':
        return this.#reply(client, 'import-opcert', this.#agent.importOpcert(m.opcert), (v) => {
          const fields = {
            kesVk: v.kesVk, counter: v.counter, startKesPeriod: v.startKesPeriod,
            currentKesPeriod: v.currentKesPeriod, startsInFuture: v.startsInFuture,
          };
          return withFloor ? { type: 'import_ok_v2', ...fields, counterFloor: v.counterFloor } : { type: 'import_ok', ...fields };
        }, (v) => ({
          counter: v.counter, startKesPeriod: v.startKesPeriod, startsInFuture: v.startsInFuture,
          // 'none': no key has been active since the agent started, so the counter was not checked.
          counterFloor: v.counterFloor ?? 'none',
        }));
      case 'upload':
      case 'upload_v2': {
        const force = m.type === 'upload_v2' && m.force;
        const { result, push } = this.#hub.pushing(() => this.#agent.upload({ force }));
        if (!result.ok) return this.#refuse(client, 'upload', result);
        const nodes = await this.#outcome(push, m.confirmTimeoutMs);
        const v = result.value;
        this.#log.info('control: upload', { client, kesVk: toHex(v.kesVk), counter: v.counter, evolution: v.evolution, forced: force, ...nodes });
        return {
          type: 'upload_ok', kesVk: v.kesVk, counter: v.counter, startKesPeriod: v.startKesPeriod,
          evolution: v.evolution, replacedActive: v.replacedActive, ...nodes,
        };
      }
      case 'status': {
        const { counterFloor, status } = this.#status(version);
        // STATUS_OK_V3 carries the peers; this agent never sends STATUS_OK_V2 (spec/protocol.md §4).
        return withFloor ? { type: 'status_ok_v3', counterFloor, status, peers: wirePeers(this.#peers()) } : { type: 'status_ok', status };
      }
      case 'drop_staged':
        return this.#reply(client, 'drop-staged', this.#agent.dropStaged(), (v) => ({
          type: 'dropped', hadKey: v.hadKey, nodesConnected: 0, nodesConfirmed: 0,
        }), (v) => ({ hadKey: v.hadKey }));
      case 'drop_active': {
        const { result, push } = this.#hub.pushing(() => this.#agent.dropActive());
        if (!result.ok) return this.#refuse(client, 'drop-active', result);
        const nodes = result.value.hadKey
          ? await this.#outcome(push, m.confirmTimeoutMs)
          : { nodesConnected: this.#hub.connectedNodes, nodesConfirmed: 0 };
        this.#log.info('control: drop-active', { client, hadKey: result.value.hadKey, ...nodes });
        return { type: 'dropped', hadKey: result.value.hadKey, ...nodes };
      }
      default:
        wipeMessage(m);
        return undefined;
    }
  }

  /** How the push a command started ended, waiting at most the client's timeout (capped). */
  async #outcome(push: Push | undefined, confirmTimeoutMs: number): Promise<BroadcastOutcome> {
    if (push === undefined) return { nodesConnected: this.#hub.connectedNodes, nodesConfirmed: 0 }; // the push failed (logged)
    return push.outcome(Math.min(confirmTimeoutMs, MAX_CONFIRM_TIMEOUT_MS));
  }

  #status(version: number): { counterFloor: number | null; status: Status } {
    return toWireStatus(this.#agent.status(), {
      agentVersion: this.#agentVersion,
      protocolVersion: version,
      serviceClients: this.#hub.connectedNodes,
      protection: this.#protection(),
      peerWarnings: peerWarnings(this.#peers()),
    });
  }

  #reply<T>(
    client: number,
    what: string,
    result: AgentResult<T>,
    ok: (v: T) => OutgoingMessage,
    fields?: (v: T) => Record<string, string | number | boolean>,
  ): OutgoingMessage {
    if (!result.ok) return this.#refuse(client, what, result);
    this.#log.info(`control: ${what}`, { client, ...(fields ? fields(result.value) : {}) });
    return ok(result.value);
  }

  #refuse(client: number, what: string, result: { code: AgentErrorCode; detail: RefusalDetail }): OutgoingMessage {
    this.#log.info(`control: ${what} refused`, { client, code: result.code });
    return { type: 'error', code: WIRE_CODE_OF[result.code], message: commandRefusalText(result) };
  }

  #onConnectionEnd(conn: FramedSocket, id: number, e: unknown): void {
    if (e instanceof ConnectionClosedError) {
      if (!e.clean) this.#log.warn('control: client closed mid-frame', { client: id });
      return;
    }
    if (e instanceof ReceiveTimeoutError) {
      this.#log.info('control: idle connection closed', { client: id });
      void conn.closeWithError(WIRE_ERROR_CODES.HANDSHAKE_TIMEOUT, `no request within ${e.timeoutMs} ms`);
      return;
    }
    if (isProtocolError(e)) {
      this.#log.warn('control: bad frame from client', { client: id, code: e.code });
      void conn.closeWithError(e.wireCode, e.message);
      return;
    }
    this.#log.error('control: request failed', { client: id });
    void conn.closeWithError(WIRE_ERROR_CODES.INTERNAL, 'internal error; see the agent log');
  }
}
