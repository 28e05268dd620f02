/**
 * The control socket for clients speaking the Haskell kes-agent's Control protocol (V0-V3):
 * `kes-agent-control` of either implementation, and cardano-testnet's harness
 * (kes-agent/src/Cardano/KESAgent/Protocols/Control/V3/Driver.hs; the agent's side is
 * Processes/Agent/ControlActions.hs).
 *
 * The client sends its VersionMessage, then commands until it closes. Each is one call into the
 * agent (the single writer of key state) and one answer; this module only maps between the two.
 * Where we differ from the Haskell agent, on purpose (spec/protocol.md §12):
 * - InstallKey is one machine event (Agent.install), and a refused install keeps the staged key;
 * - the KES period in AgentInfo is the ledger's (the Haskell agent's is off on mainnet);
 * - GenStagedKey replaces a staged key as Haskell's does (our own keygen needs --force for that).
 * The protocol has no error message: a malformed request ends the connection, with the reason in
 * our log.
 */
import { KES_VK_BYTES } from '../cardano/opcert';
import type { Agent, AgentErrorCode, AgentResult } from '../machine/agent';
import type { PeerLinkStatus } from '../bootstrap/peer-link';
import { clampUtf8 } from '../bootstrap/peer-report';
import { MAX_BOOTSTRAP_ENTRIES, MAX_TEXT_BYTES } from '../protocol/haskell';
import {
  HaskellProtocolError,
  PeerClosedError,
  ReadTimeoutError,
  encodeAgentInfo,
  encodeControlRecvResult,
  encodePublicKeyMessage,
  readControlRequest,
  readControlVersionMessage,
  writeBytes,
  type AgentInfo,
  type ByteReader,
  type ControlRequest,
  type ControlVersion,
  type RecvResult,
} from '../protocol/haskell';
import { toHex } from '../crypto/bytes';
import type { ChainTiming } from '../time';
import { CONTROL_IDLE_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS } from './limits';
import type { Logger } from '../platform/logger';
import type { ServiceHub } from './service-hub';
import { commandRefusalText } from '../protocol/refusal-text';

export interface HaskellControlHandlerInit {
  agent: Agent;
  hub: ServiceHub;
  logger: Logger;
  agentVersion: string;
  /** The pool's cold vk: the Haskell OCert on the wire does not carry it. */
  coldVk: Uint8Array;
  timing: ChainTiming;
  now: () => number;
  /** The bootstrap peer links, for AgentInfo's bootstrap list. @default () => [] */
  peers?: () => PeerLinkStatus[];
}

/** How each refusal of ours reads as a RecvResult. */
const RECV_RESULT_OF: Readonly<Partial<Record<AgentErrorCode, RecvResult>>> = Object.freeze({
  NO_STAGED_KEY: 'RecvErrorNoKey',
  NO_OPCERT: 'RecvErrorInvalidOpCert',
  OPCERT_WRONG_COLD_KEY: 'RecvErrorInvalidOpCert',
  OPCERT_BAD_SIGNATURE: 'RecvErrorInvalidOpCert',
  OPCERT_WRONG_KES_KEY: 'RecvErrorInvalidOpCert',
  OPCERT_EXPIRED: 'RecvErrorInvalidOpCert',
  OPCERT_COUNTER_TOO_LOW: 'RecvErrorKeyOutdated',
  // The opcert is not valid at the current KES period, and the key it would replace is.
  OPCERT_NOT_YET_VALID: 'RecvErrorInvalidOpCert',
});

export class HaskellControlHandler {
  readonly #init: HaskellControlHandlerInit;
  #nextId = 1;

  constructor(init: HaskellControlHandlerInit) {
    this.#init = init;
  }

  /** Serve one connection that chose Control V`version`, until it closes. Never throws. */
  async serve(reader: ByteReader, version: ControlVersion): Promise<void> {
    const log = this.#init.logger;
    const client = this.#nextId++;
    const protocol = `Haskell Control V${version}`;
    try {
      await readControlVersionMessage(reader, version, { timeoutMs: HANDSHAKE_TIMEOUT_MS });
      for (;;) {
        const request = await readControlRequest(reader, version, { timeoutMs: CONTROL_IDLE_TIMEOUT_MS });
        await writeBytes(reader.socket, this.#answer(client, version, request));
      }
    } catch (e) {
      if (e instanceof PeerClosedError) {
        if (!e.clean && e.reason !== 'detached') log.warn('control: client closed mid-message', { client, protocol });
      } else if (e instanceof ReadTimeoutError) {
        log.warn('control: no request in time; closing', { client, protocol, timeoutMs: e.timeoutMs });
      } else if (e instanceof HaskellProtocolError) {
        log.warn('control: bad message from client; closing', { client, protocol, code: e.code });
      } else {
        log.error('control: connection failed', { client, protocol });
      }
    } finally {
      reader.destroy();
      reader.socket.destroy();
    }
  }

  #answer(client: number, version: ControlVersion, request: ControlRequest): Uint8Array {
    const { agent, logger: log } = this.#init;
    switch (request.cmd) {
      case 'GenStagedKeyCmd': {
        const r = agent.keygen({ force: true });
        this.#logResult(client, 'gen-staged-key', r, (v) => ({ kesVk: toHex(v.kesVk), replaced: v.replacedStaged }));
        return encodePublicKeyMessage(r.ok ? r.value.kesVk : undefined);
      }
      case 'QueryStagedKeyCmd': {
        const r = agent.exportVerkey();
        return encodePublicKeyMessage(r.ok ? r.value.kesVk : undefined);
      }
      case 'DropStagedKeyCmd': {
        const r = agent.dropStaged();
        this.#logResult(client, 'drop-staged-key', r, (v) => ({ hadKey: v.hadKey }));
        return encodePublicKeyMessage(undefined); // the Haskell agent always answers Nothing
      }
      case 'InstallKeyCmd': {
        const o = request.ocert;
        const r = agent.install({
          hotVk: o.hotVk,
          counter: Number(o.counter),
          kesPeriod: Number(o.kesPeriod),
          sigma: o.sigma,
          coldVk: this.#init.coldVk,
        });
        this.#logResult(client, 'install-key', r, (v) => ({ kesVk: toHex(v.kesVk), counter: v.counter, evolution: v.evolution }));
        return encodeControlRecvResult(this.#recvResult(r));
      }
      case 'DropKeyCmd': {
        const had = agent.status().active !== null;
        const r = agent.dropActive();
        this.#logResult(client, 'drop-key', r, (v) => ({ hadKey: v.hadKey }));
        return encodeControlRecvResult(r.ok ? (had ? 'RecvOK' : 'RecvErrorNoKey') : this.#recvResult(r));
      }
      case 'RequestInfoCmd':
        return encodeAgentInfo(version, this.#info());
    }
    // Exhaustive: readControlRequest returns nothing else.
    log.error('control: unknown request', { client });
    return encodeControlRecvResult('RecvErrorUnsupportedOperation');
  }

  #recvResult(r: AgentResult<unknown>): RecvResult {
    if (r.ok) return 'RecvOK';
    return RECV_RESULT_OF[r.code] ?? 'RecvErrorUnknown';
  }

  #logResult<T>(client: number, what: string, r: AgentResult<T>, fields: (v: T) => Record<string, string | number | boolean | null>): void {
    if (r.ok) this.#init.logger.info(`control: ${what}`, { client, ...fields(r.value) });
    // The wire answer is a bare RecvResult, so the log is the only place the reason is told.
    else this.#init.logger.warn(`control: ${what} refused`, { client, code: r.code, reason: commandRefusalText(r) });
  }

  /** AgentInfo from the agent's status: the ledger's KES period, the hub's timestamps. */
  #info(): AgentInfo {
    const { agent, hub, agentVersion } = this.#init;
    const s = agent.status();
    const last = hub.lastChange;
    const seconds = (ms: number): number => Math.floor(ms / 1000);
    let installed: AgentInfo['installed'];
    if (s.active !== null) {
      const o = s.active.opcert;
      installed = {
        bundle: { evolution: s.active.evolution, startKesPeriod: o.kesPeriod, ocertCounter: o.counter, vk: o.hotVk, sigma: o.sigma },
        timestampS: last?.kind === 'key' ? last.timestampUs / 1_000_000n : seconds(s.active.installedAtMs),
      };
    } else if (last?.kind === 'drop') {
      installed = { bundle: undefined, timestampS: last.timestampUs / 1_000_000n };
    }
    return {
      programVersion: agentVersion,
      installed,
      stagedVk: s.staged?.kesVk.length === KES_VK_BYTES ? s.staged.kesVk : undefined,
      currentTimeS: seconds(this.#init.now()),
      currentKesPeriod: s.currentKesPeriod,
      periodStartS: seconds(s.periodStartMs),
      periodEndS: seconds(s.nextPeriodMs),
      // Haskell's `show addr` of a Unix address; its statuses map 1:1 (Processes/Agent.hs in github.com/input-output-hk/kes-agent).
      bootstrap: (this.#init.peers?.() ?? []).slice(0, MAX_BOOTSTRAP_ENTRIES).map((p) => ({
        address: clampUtf8(p.path, MAX_TEXT_BYTES),
        status: p.state === 'up' ? 'ConnectionUp' : p.state === 'connecting' ? 'ConnectionConnecting' : 'ConnectionDown',
      })),
    };
  }
}
