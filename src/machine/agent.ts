/**
 * The Agent: the synchronous API the server calls, in front of the key-state machine.
 *
 * Every method first brings the machine up to the current instant (a SYNC event: evolve or
 * expire the active key as the clock requires), then sends one command event and reads its
 * outcome, which the machine emits while processing it. xstate processes an event sent to an
 * idle actor synchronously, so the result is known when `send` returns.
 *
 * Listeners: ActiveChange listeners are called once the machine is idle again, never from
 * inside a transition: after the command that caused the change (but before that command's
 * method returns, so e.g. the server has pushed the new key before it answers UPLOAD), or right
 * after the timer event that caused it. A listener may call any Agent method, including
 * withActiveKey. The one thing that may not re-enter is the callback of withActiveKey: while it
 * holds the borrowed key, every other method throws.
 *
 * Every method throws a plain Error (a programming error, not a refusal) when the agent is not
 * started, is stopped, has failed closed, or is called from inside a withActiveKey callback.
 *
 * Fail closed: if the machine ever throws (a bug, or a broken libsodium), every key the agent
 * generated is wiped, deps.onFatal is called once, and every later call throws.
 */
import { createActor, type Actor } from 'xstate';
import { KesError } from '../errors';
import { assertBytes, assertInteger } from '../crypto/bytes';
import type { KesSignKey } from '../crypto/kes';
import { KES_VK_BYTES, MAX_OPCERT_INTEGER, copyOpcert, type Opcert } from '../cardano/opcert';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../crypto/ed25519';
import type { ChainTiming } from '../time';
import { type AgentMachine, createAgentMachine, heldBundle } from './agent-machine';
import { buildStatus } from './status';
import type {
  ActiveChange,
  ActiveInfo,
  AgentErrorCode,
  AgentEvent,
  AgentResult,
  AgentStatus,
  CommandName,
  CommandOutcome,
  CommandValues,
  PeerCommandName,
  PeerOutcome,
  PeerRefusalCode,
  PeerResult,
  PeerValues,
} from './types';

export type {
  PeerRefusalCode,
  PeerResult,
  PeerValues,
  ActiveChange,
  ActiveInfo,
  AgentErrorCode,
  AgentResult,
  AgentStatus,
  CommandValues,
} from './types';
export { AGENT_ERROR_CODES, PEER_REFUSAL_CODES } from './types';
export { MAX_PEER_CLOCK_AHEAD_MS } from './agent-machine';

/** xstate's Clock: real timers in production, a SimulatedClock in tests. */
export interface AgentClock {
  setTimeout(fn: (...a: any[]) => void, ms: number): any;
  clearTimeout(id: any): void;
}

export interface AgentDeps {
  timing: ChainTiming;
  /** The pool's cold verification key (32 bytes): the only issuer whose opcerts are accepted. */
  coldVk: Uint8Array;
  /** Unix ms, an integer. In tests it must agree with `clock`. */
  now(): number;
  /** Production: KesSignKey.generate. The agent owns (and eventually wipes) every key it returns. */
  generateKey(): KesSignKey;
  clock?: AgentClock;
  /** Called once if the key state fails closed (all keys wiped); the daemon should log and exit. */
  onFatal?(error: unknown): void;
}

export type ActiveChangeListener = (change: ActiveChange) => void;

/** A command or a bootstrap peer's bundle the machine refused, with the refusal's code. Public data only. */
export type Refusal =
  | { readonly from: 'command'; readonly command: CommandName; readonly code: AgentErrorCode }
  | { readonly from: 'peer'; readonly command: PeerCommandName; readonly code: PeerRefusalCode };
export type RefusalListener = (refusal: Refusal) => void;

/** Real timers, unref'd: a pending evolution alone must not keep the process alive. */
const REAL_CLOCK: AgentClock = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
};

type Phase = 'created' | 'running' | 'stopped' | 'failed';

export class Agent {
  readonly #timing: ChainTiming;
  readonly #deps: AgentDeps;
  readonly #actor: Actor<AgentMachine>;
  readonly #listeners = new Set<ActiveChangeListener>();
  readonly #refusalListeners = new Set<RefusalListener>();
  readonly #pending: ActiveChange[] = [];
  /** Every key generateKey returned that is not yet known to be destroyed: stop() wipes them all. */
  readonly #owned = new Set<KesSignKey>();
  #outcome: CommandOutcome | undefined;
  #peerOutcome: PeerOutcome | undefined;
  #phase: Phase = 'created';
  #busy = false;
  #draining = false;
  #failure: unknown;

  constructor(deps: AgentDeps) {
    assertBytes(deps.coldVk, 'cold verification key', ED25519_PUBLIC_KEY_BYTES);
    if (typeof deps.now !== 'function' || typeof deps.generateKey !== 'function') {
      throw new KesError('INVALID_ARGUMENT', 'AgentDeps: now and generateKey must be functions');
    }
    this.#deps = deps;
    this.#timing = deps.timing;
    const base = deps.clock ?? REAL_CLOCK;
    const machine = createAgentMachine({
      timing: deps.timing,
      coldVk: deps.coldVk,
      now: () => this.#now(),
    });
    this.#actor = createActor(machine, {
      clock: {
        // A timer event is processed synchronously inside fn(); the changes it caused are
        // delivered once the machine is idle again.
        setTimeout: (fn: (...a: any[]) => void, ms: number) =>
          base.setTimeout(() => {
            fn();
            this.#drain();
          }, ms),
        clearTimeout: (id: any) => base.clearTimeout(id),
      },
    });
    this.#actor.on('outcome', (e) => {
      this.#outcome = e.outcome;
    });
    this.#actor.on('peerOutcome', (e) => {
      this.#peerOutcome = e.outcome;
    });
    this.#actor.on('activeChange', (e) => {
      this.#pending.push(e.change);
    });
    this.#actor.subscribe({ error: (err) => this.#failClosed(err) });
  }

  start(): void {
    if (this.#phase !== 'created') throw new Error(`Agent.start(): the agent is ${this.#phase}`);
    this.#actor.start();
    this.#phase = 'running';
  }

  /** Wipe every key (staged, active) and stop the timers. Idempotent. */
  stop(): void {
    // After a failure every key is already wiped; stopping must work even mid-call.
    if (this.#busy && this.#phase !== 'failed') throw new Error('Agent.stop(): called while the active key is borrowed');
    if (this.#phase === 'running') {
      this.#actor.send({ type: 'STOP' });
      this.#actor.stop();
    }
    if (this.#phase !== 'failed') this.#phase = 'stopped';
    this.#wipeOwned();
    this.#pending.length = 0;
  }

  /**
   * Generate a new key in the staging slot. Refused with STAGED_KEY_EXISTS while one is staged,
   * unless `force` (the old staged key is then wiped). The active slot is untouched.
   */
  keygen(opts: { force: boolean }): AgentResult<CommandValues['keygen']> {
    if (typeof opts?.force !== 'boolean') throw new KesError('INVALID_ARGUMENT', 'keygen: force: expected a boolean');
    // Generated outside the machine: if it fails (no locked memory left), the command fails and
    // both slots stay as they were, instead of the machine failing closed and wiping them.
    const key = this.#deps.generateKey();
    this.#owned.add(key);
    try {
      return this.#command('keygen', (nowMs) => ({ type: 'KEYGEN', nowMs, force: opts.force, key }));
    } catch (e) {
      key.destroy(); // never reached a slot (or every key was wiped already)
      throw e;
    }
  }

  /** The staged key's verification key. Read-only. NO_STAGED_KEY. */
  exportVerkey(): AgentResult<CommandValues['exportVerkey']> {
    return this.#command('exportVerkey', (nowMs) => ({ type: 'EXPORT_VERKEY', nowMs }));
  }

  /**
   * Attach an opcert to the staged key (replacing a previous one). Refusals, in order:
   * NO_STAGED_KEY, OPCERT_WRONG_COLD_KEY, OPCERT_BAD_SIGNATURE, OPCERT_WRONG_KES_KEY,
   * OPCERT_EXPIRED, OPCERT_COUNTER_TOO_LOW (below the counter floor: the highest counter of any
   * key made active since the agent started). A future start period (or a chain that has not
   * started) is accepted with startsInFuture = true. The result carries the floor the counter was
   * checked against (null: there was none, so the counter could not be checked).
   * @throws KesError INVALID_ARGUMENT / INVALID_LENGTH / OUT_OF_RANGE for a malformed opcert.
   */
  importOpcert(opcert: Opcert): AgentResult<CommandValues['importOpcert']> {
    const own = checkedOpcertCopy(opcert);
    return this.#command('importOpcert', (nowMs) => ({ type: 'IMPORT_OPCERT', nowMs, opcert: own }));
  }

  /**
   * Install the staged key + opcert as the active bundle, evolved to the current period; the
   * previous active key is wiped; staging becomes empty. Refusals: NO_STAGED_KEY, NO_OPCERT,
   * OPCERT_EXPIRED, OPCERT_COUNTER_TOO_LOW (re-checked now), and OPCERT_NOT_YET_VALID when the
   * active key can sign now and the staged opcert starts later, unless `force`.
   */
  upload(opts: { force: boolean } = { force: false }): AgentResult<CommandValues['upload']> {
    if (typeof opts?.force !== 'boolean') throw new KesError('INVALID_ARGUMENT', 'upload: force: expected a boolean');
    return this.#command('upload', (nowMs) => ({ type: 'UPLOAD', nowMs, force: opts.force }));
  }

  /**
   * importOpcert and upload as one machine event: attach `opcert` to the staged key and install
   * the bundle, with nothing in between. Refusals are importOpcert's, in its order, then
   * OPCERT_NOT_YET_VALID as for an unforced upload; a refusal changes nothing (the staged key stays).
   */
  install(opcert: Opcert): AgentResult<CommandValues['install']> {
    const own = checkedOpcertCopy(opcert);
    return this.#command('install', (nowMs) => ({ type: 'INSTALL', nowMs, opcert: own }));
  }

  dropStaged(): AgentResult<CommandValues['dropStaged']> {
    return this.#command('dropStaged', (nowMs) => ({ type: 'DROP_STAGED', nowMs }));
  }

  /** Wipe the active key (listeners hear 'dropped'/'drop-active') and forget any expiry record. */
  dropActive(): AgentResult<CommandValues['dropActive']> {
    return this.#command('dropActive', (nowMs) => ({ type: 'DROP_ACTIVE', nowMs }));
  }

  /**
   * A bundle from bootstrap peer `source`. The agent owns `key` from the call on: installed
   * (evolved to the current period, pushed to nodes like an upload, with the SENDER's timestamp),
   * or wiped. Refusals, in order: OPCERT_WRONG_COLD_KEY, OPCERT_BAD_SIGNATURE,
   * OPCERT_WRONG_KES_KEY, OPCERT_EXPIRED, OPCERT_COUNTER_TOO_LOW, KEY_OVER_EVOLVED,
   * TIMESTAMP_IN_FUTURE, BUNDLE_NOT_NEWER. The staging slot is never touched.
   */
  receiveBundle(input: { key: KesSignKey; opcert: Opcert; timestampUs: bigint; source: string }): PeerResult<PeerValues['receiveBundle']> {
    const key = input.key;
    this.#owned.add(key);
    try {
      const opcert = checkedOpcertCopy(input.opcert);
      checkTimestamp(input.timestampUs);
      return this.#peerCommand('receiveBundle', (nowMs) => ({ type: 'RECEIVE_BUNDLE', nowMs, key, opcert, timestampUs: input.timestampUs, source: input.source }));
    } catch (e) {
      key.destroy();
      throw e;
    }
  }

  /** A tombstone from bootstrap peer `source`. Refusals: TIMESTAMP_IN_FUTURE, BUNDLE_NOT_NEWER. */
  receiveDrop(input: { timestampUs: bigint; source: string }): PeerResult<PeerValues['receiveDrop']> {
    checkTimestamp(input.timestampUs);
    return this.#peerCommand('receiveDrop', (nowMs) => ({ type: 'RECEIVE_DROP', nowMs, timestampUs: input.timestampUs, source: input.source }));
  }

  /** What a node or peer that connects now is sent: the key or tombstone held, with its timestamp. */
  currentBundle(): { kind: 'key' | 'drop' | 'none'; timestampUs: bigint } {
    this.#enter('currentBundle');
    try {
      this.#send({ type: 'SYNC', nowMs: this.#now() });
      return heldBundle(this.#actor.getSnapshot().context);
    } finally {
      this.#busy = false;
      this.#drain();
    }
  }

  status(): AgentStatus {
    this.#enter('status');
    let status: AgentStatus;
    try {
      const nowMs = this.#now();
      this.#send({ type: 'SYNC', nowMs });
      status = buildStatus(this.#actor.getSnapshot().context, this.#timing, nowMs);
    } finally {
      this.#busy = false;
    }
    this.#drain();
    return status;
  }

  /** Returns an unsubscribe function. */
  onActiveChange(listener: ActiveChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Hear every refusal, after the command that was refused (for counters: a listener only reads).
   * Returns an unsubscribe function.
   */
  onRefusal(listener: RefusalListener): () => void {
    this.#refusalListeners.add(listener);
    return () => {
      this.#refusalListeners.delete(listener);
    };
  }

  /**
   * Lend the active key, at the current evolution, to `fn` (e.g. to writeRaw it into a frame);
   * undefined when there is no active key. `fn` must not keep, evolve or destroy the key, and may
   * not call the agent.
   */
  withActiveKey<T>(fn: (key: KesSignKey, info: ActiveInfo) => T): T | undefined {
    this.#enter('withActiveKey');
    let result: T | undefined;
    try {
      const nowMs = this.#now();
      this.#send({ type: 'SYNC', nowMs });
      const a = this.#actor.getSnapshot().context.active;
      if (a !== null) {
        const info: ActiveInfo = {
          kesVk: a.slot.kesVk,
          opcert: a.slot.opcert,
          counter: a.counter,
          startKesPeriod: a.startKesPeriod,
          evolution: a.evolution,
          installedAtMs: a.installedAtMs,
          expiresAtMs: a.expiresAtMs,
        };
        result = a.slot.borrow((key) => fn(key, info));
      }
    } finally {
      this.#busy = false;
    }
    this.#drain();
    return result;
  }

  // -------------------------------------------------------------------------------------------

  #command<K extends CommandName>(name: K, makeEvent: (nowMs: number) => AgentEvent): AgentResult<CommandValues[K]> {
    this.#enter(name);
    let out: CommandOutcome | undefined;
    try {
      const nowMs = this.#now();
      this.#send({ type: 'SYNC', nowMs });
      this.#outcome = undefined;
      this.#send(makeEvent(nowMs));
      out = this.#takeOutcome();
    } finally {
      this.#busy = false;
      this.#prune();
    }
    // Every command has a fallback transition; no outcome means the event was dropped, a bug.
    if (out === undefined || out.command !== name) throw new Error(`bug: the key-state machine did not answer ${name}`);
    this.#drain();
    if (!out.result.ok) this.#tellRefusal({ from: 'command', command: name, code: out.result.code });
    return out.result as AgentResult<CommandValues[K]>;
  }

  #peerCommand<K extends PeerCommandName>(name: K, makeEvent: (nowMs: number) => AgentEvent): PeerResult<PeerValues[K]> {
    this.#enter(name);
    let out: PeerOutcome | undefined;
    try {
      const nowMs = this.#now();
      this.#send({ type: 'SYNC', nowMs });
      this.#peerOutcome = undefined;
      this.#send(makeEvent(nowMs));
      out = this.#takePeerOutcome();
    } finally {
      this.#busy = false;
      this.#prune();
    }
    if (out === undefined || out.command !== name) throw new Error(`bug: the key-state machine did not answer ${name}`);
    this.#drain();
    if (!out.result.ok) this.#tellRefusal({ from: 'peer', command: name, code: out.result.code });
    return out.result as PeerResult<PeerValues[K]>;
  }

  #takePeerOutcome(): PeerOutcome | undefined {
    const out = this.#peerOutcome;
    this.#peerOutcome = undefined;
    return out;
  }

  #takeOutcome(): CommandOutcome | undefined {
    const out = this.#outcome;
    this.#outcome = undefined;
    return out;
  }

  #enter(what: string): void {
    if (this.#phase === 'failed') {
      throw new Error(`Agent.${what}(): the key state failed and every key was wiped`, { cause: this.#failure });
    }
    if (this.#phase !== 'running') throw new Error(`Agent.${what}(): the agent is ${this.#phase}`);
    if (this.#busy) throw new Error(`Agent.${what}(): called while the active key is borrowed`);
    this.#busy = true;
  }

  #send(event: AgentEvent): void {
    this.#actor.send(event);
    if (this.#phase === 'failed') {
      throw new Error('the key state failed and every key was wiped', { cause: this.#failure });
    }
  }

  #now(): number {
    const n = this.#deps.now();
    if (!Number.isSafeInteger(n) || n < 0) throw new Error('AgentDeps.now(): expected integer unix ms');
    return n;
  }

  /** Deliver queued changes in order; nested calls (a listener calling the agent) join the loop. */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let c = this.#pending.shift(); c !== undefined; c = this.#pending.shift()) {
        for (const listener of [...this.#listeners]) {
          try {
            listener(c);
          } catch (err) {
            // A throwing listener is a bug in the caller: report it loudly, but never let it
            // stop other listeners or touch the key state.
            queueMicrotask(() => {
              throw err;
            });
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #tellRefusal(r: Refusal): void {
    for (const listener of [...this.#refusalListeners]) {
      try {
        listener(r);
      } catch (err) {
        // As for ActiveChange listeners: a bug in the caller, reported, never the command's failure.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  #prune(): void {
    for (const k of this.#owned) if (k.destroyed) this.#owned.delete(k);
  }

  #wipeOwned(): void {
    for (const k of this.#owned) k.destroy();
    this.#owned.clear();
  }

  #failClosed(err: unknown): void {
    if (this.#phase === 'failed') return;
    this.#phase = 'failed';
    this.#failure = err;
    this.#wipeOwned();
    this.#pending.length = 0;
    try {
      this.#deps.onFatal?.(err);
    } catch {
      // The keys are already wiped; a failing reporter changes nothing.
    }
  }
}

/** A Service V2 timestamp is a u64. */
function checkTimestamp(ts: bigint): void {
  if (typeof ts !== 'bigint' || ts < 0n || ts > 0xffff_ffff_ffff_ffffn) throw new KesError('INVALID_ARGUMENT', 'timestamp: expected a u64 bigint (µs)');
}

/** Malformed is not invalid: a wrongly shaped opcert throws here; a well-formed bad one is refused with a code. */
function checkedOpcertCopy(o: Opcert): Opcert {
  if (typeof o !== 'object' || o === null) throw new KesError('INVALID_ARGUMENT', 'opcert: expected an object');
  assertBytes(o.hotVk, 'opcert hot KES verification key', KES_VK_BYTES);
  assertInteger(o.counter, 'opcert counter', 0, MAX_OPCERT_INTEGER);
  assertInteger(o.kesPeriod, 'opcert KES period', 0, MAX_OPCERT_INTEGER);
  assertBytes(o.sigma, 'opcert signature', ED25519_SIGNATURE_BYTES);
  assertBytes(o.coldVk, 'opcert cold verification key', ED25519_PUBLIC_KEY_BYTES);
  return copyOpcert(o);
}
