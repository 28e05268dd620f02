/**
 * A scripted kes-agent for client tests: a real net.Server on a temp Unix socket speaking the
 * real protocol (FramedSocket, encodeMessage). Each test sets `agent.script`, which runs once
 * per accepted connection and decides what the "agent" does on it: handshake or not, send a
 * real KEY, NO_KEY, KEY_DROPPED, garbage, ERROR, stay silent, close.
 *
 * Key material is real: Sum6KES keys from fixed seeds, opcerts signed by a cold key made from a
 * fixed seed (these are test seeds, never real keys).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { negotiate } from '../../src/server/version-negotiation';
import * as os from 'node:os';
import * as path from 'node:path';
import { ColdSigningKey, issueOpcert, type Opcert } from '../../src/cardano';
import { KesSignKey } from '../../src/crypto/kes';
import {
  ConnectionClosedError,
  FramedSocket,
  SERVICE_PROTOCOL,
  welcome,
  errorReply,
  wipeMessage,
  type ConfirmMessage,
  type Message,
} from '../../src/protocol';
import type { ChainTiming } from '../../src/time';
import { kesTimeAt, parseGenesis } from '../../src/time';
import { makeTestGenesis } from './test-genesis';

export const FAKE_AGENT_VERSION = 'fake-agent 0.0.0';

/** A 32-byte test seed whose bytes are all `fill` (distinct fills → distinct keys). */
export function testSeed(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

export interface TestBundle {
  key: KesSignKey;
  opcert: Opcert;
}

/** A real KES key (from seed fill `kesFill`) with an opcert issued by the cold key from `coldFill`. */
export function makeBundle(args: { kesFill: number; coldFill: number; counter: number; kesPeriod: number }): TestBundle {
  const key = KesSignKey.fromSeed(testSeed(args.kesFill));
  const cold = ColdSigningKey.fromSeed(testSeed(args.coldFill));
  try {
    const opcert = issueOpcert({ hotVk: key.verificationKey(), counter: args.counter, kesPeriod: args.kesPeriod, coldSeed: cold.seed });
    return { key, opcert };
  } finally {
    cold.destroy();
  }
}

export function coldVkOf(coldFill: number): Uint8Array {
  const cold = ColdSigningKey.fromSeed(testSeed(coldFill));
  try {
    return cold.verificationKey.slice();
  } finally {
    cold.destroy();
  }
}

/**
 * Chain timing from a test genesis whose current KES period is `kesPeriod`, `fraction` of the
 * way into it (0.5: mid-period, far from both boundaries when periods are long). For in-memory
 * timing with long periods, or with a clock the test injects. A test whose outcome depends on
 * when a real boundary passes plans against test/helpers/test-chain.ts instead (a period begins
 * as the chain is made, and its waits are computed from that clock).
 */
export function timingAtPeriod(args: {
  kesPeriod: number;
  slotLength?: number;
  slotsPerKESPeriod?: number;
  maxKESEvolutions?: number;
  fraction?: number;
}): ChainTiming {
  const slotLength = args.slotLength ?? 1;
  const slotsPerKESPeriod = args.slotsPerKESPeriod ?? 3600;
  const periodMs = Math.round(slotLength * 1000) * slotsPerKESPeriod;
  const into = Math.floor(periodMs * (args.fraction ?? 0.5));
  const systemStart = new Date(Date.now() - args.kesPeriod * periodMs - into);
  const timing = parseGenesis(
    makeTestGenesis({ systemStart, slotLength, slotsPerKESPeriod, maxKESEvolutions: args.maxKESEvolutions ?? 62 }),
    'test-genesis.json',
  );
  return timing;
}

export function currentPeriod(timing: ChainTiming): number {
  const t = kesTimeAt(timing, Date.now());
  if (!t.started) throw new Error('test timing has not started');
  return t.kesPeriod;
}

export class FakeConnection {
  readonly framed: FramedSocket;
  readonly index: number;
  /** Every message the client sent after the handshake, in order. */
  readonly received: Message[] = [];

  constructor(socket: net.Socket, index: number) {
    this.framed = new FramedSocket(socket, { receivesSecrets: false });
    this.index = index;
  }

  /** Send WELCOME, as the agent does right after the client picked our protocol. */
  async handshake(): Promise<void> {
    await this.framed.send(welcome('service', FAKE_AGENT_VERSION));
  }

  /** Answer the client's pick with an ERROR of our choosing instead of WELCOME. */
  async refuseHandshake(code: Parameters<typeof errorReply>[0], message: string): Promise<void> {
    await this.framed.send(errorReply(code, message));
    this.framed.close();
  }

  /** Send a real KEY: the bundle's key (evolved on a copy to `evolution`, default 0) and opcert. */
  async sendKey(seq: number, bundle: TestBundle, opts: { evolution?: number; opcert?: Opcert } = {}): Promise<void> {
    const copy = bundle.key.clone();
    try {
      copy.evolveTo(opts.evolution ?? bundle.key.evolution);
      await this.framed.send({ type: 'key', seq, opcert: opts.opcert ?? bundle.opcert, evolution: copy.evolution, secret: copy });
    } finally {
      copy.destroy();
    }
  }

  /** Send KEY with arbitrary secret bytes (forged keys). The frame is wiped after the write. */
  async sendRawKey(seq: number, opcert: Opcert, evolution: number, secret: Uint8Array): Promise<void> {
    await this.framed.send({ type: 'key', seq, opcert, evolution, secret });
  }

  async sendNoKey(seq: number): Promise<void> {
    await this.framed.send({ type: 'no_key', seq });
  }

  async sendKeyDropped(seq: number): Promise<void> {
    await this.framed.send({ type: 'key_dropped', seq });
  }

  writeRaw(bytes: Uint8Array): void {
    this.framed.socket.write(bytes);
  }

  /** The client's next message (a CONFIRM, normally). */
  async next(timeoutMs = 10_000): Promise<Message> {
    const m = await this.framed.receive(timeoutMs);
    this.received.push(m);
    return m;
  }

  async expectConfirm(seq: number, timeoutMs = 10_000): Promise<ConfirmMessage> {
    const m = await this.next(timeoutMs);
    if (m.type !== 'confirm') throw new Error(`expected CONFIRM, got ${m.type}`);
    if (m.seq !== seq) throw new Error(`expected CONFIRM for seq ${seq}, got seq ${m.seq}`);
    return m;
  }

  /** Resolve when the client closes the connection (or it fails). */
  async closed(timeoutMs = 10_000): Promise<void> {
    for (;;) {
      try {
        const m = await this.framed.receive(timeoutMs);
        wipeMessage(m);
        this.received.push(m);
      } catch {
        return;
      }
    }
  }

  close(): void {
    this.framed.close();
  }

  destroy(): void {
    this.framed.destroy();
  }
}

export type Script = (conn: FakeConnection) => Promise<void>;

export class FakeAgent {
  readonly dir: string;
  readonly socketPath: string;
  /** What the agent does on each new connection. Default: handshake, NO_KEY, wait for the close. */
  script: Script = async (c) => {
    await c.handshake();
    await c.sendNoKey(1);
    await c.closed();
  };
  /** Every connection accepted so far. */
  readonly connections: FakeConnection[] = [];
  /** Exceptions thrown by scripts (a test asserts this stays empty when it matters). */
  readonly scriptErrors: Error[] = [];
  readonly #server: net.Server;
  #connectionWaiters: ((c: FakeConnection) => void)[] = [];
  #handed = 0;

  private constructor(dir: string, socketPath: string) {
    this.dir = dir;
    this.socketPath = socketPath;
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  /** Listen on `<fresh temp dir>/service.sock` (or on `socketPath` when given). */
  static async start(socketPath?: string): Promise<FakeAgent> {
    const dir = socketPath === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'kes-fake-agent-')) : path.dirname(socketPath);
    const agent = new FakeAgent(dir, socketPath ?? path.join(dir, 'service.sock'));
    await agent.listen();
    return agent;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.socketPath, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  /** The next connection not yet handed out by this method (waits for it). */
  nextConnection(timeoutMs = 10_000): Promise<FakeConnection> {
    const handed = this.#handed;
    if (handed < this.connections.length) {
      this.#handed++;
      return Promise.resolve(this.connections[handed]!);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fake agent: no connection in time')), timeoutMs);
      this.#connectionWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  /** Stop listening and drop every connection (the agent "dies"; Node removes the socket file). */
  async stop(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** stop() and remove the temp dir. */
  async dispose(): Promise<void> {
    if (this.#server.listening) await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  #accept(socket: net.Socket): void {
    // Every connection opens with the real agent's version handshake (spec/protocol.md §4);
    // the script starts once the client has picked our protocol.
    socket.on('error', () => undefined);
    void negotiate(socket, 'service', 5_000).then((n) => {
      if (n.kind === 'native') this.#serve(socket);
      else {
        if (n.kind !== 'failed') n.reader.destroy();
        socket.destroy();
      }
    });
  }

  #serve(socket: net.Socket): void {
    const conn = new FakeConnection(socket, this.connections.length);
    this.connections.push(conn);
    const waiter = this.#connectionWaiters.shift();
    if (waiter !== undefined) {
      this.#handed++;
      waiter(conn);
    }
    this.script(conn).catch((e: unknown) => {
      // The client hanging up is part of most scripts, not a script failure.
      if (!(e instanceof ConnectionClosedError)) this.scriptErrors.push(e instanceof Error ? e : new Error(String(e)));
      conn.destroy();
    });
  }
}

/** The protocol name a service client must send (for assertions). */
export const SERVICE = SERVICE_PROTOCOL;
