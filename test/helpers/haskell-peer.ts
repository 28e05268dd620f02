/**
 * Test peers that speak the Haskell kes-agent's wire protocols, written from the protocol
 * description (input-output-hk/kes-agent 1.3.0.0: Protocols/VersionHandshake, Service/V0..V2,
 * Control/V0..V3 drivers; ouroboros-consensus Praos/AgentClient.hs for the node's client), NOT
 * from our codec: this file must never import src/protocol/haskell. Every byte is spelt out here,
 * so a test that runs our agent against these peers checks our codec against an independent
 * reading of the reference.
 *
 * - HaskellServiceClient behaves like the node's service client (Processes/ServiceClient.hs
 *   `runServiceClient`): picks the first of its preferences in the agent's offer, checks the
 *   VersionMessage, then answers every key and drop with RecvOK, except RecvErrorKeyOutdated
 *   (1) for a bundle whose timestamp is <= the last one of the same session (V0/V1 bundles are
 *   tagged 0). Events are numbered; `mark()` / `waitFor(pred, { after })` wait for what happens
 *   after an action, like test/helpers/processes.ts.
 * - HaskellControlClient behaves like kes-agent-control: handshake, VersionMessage, commands.
 */
import * as net from 'node:net';

// ---------------------------------------------------------------------------------------------
// Hand-written wire constants

/** ASCII, NUL-padded to 32 bytes (mkVersionIdentifier). */
export function hsVersionId(name: string): Buffer {
  const b = Buffer.alloc(32);
  b.write(name.slice(0, 32), 'latin1');
  return b;
}

export const HS_SERVICE_V0 = 'Service:StandardCrypto:0.4';
export const HS_SERVICE_V1 = 'Service:1.0';
export const HS_SERVICE_V2 = 'Service:2.0';
export const HS_CONTROL_IDS = ['Control:StandardCrypto:0.5', 'Control:1.0', 'Control:2.0', 'Control:3.0'] as const;
/** AgentClient / ServiceClient.hs `availableServiceClientDrivers`: SP2, SP1, SP0. */
export const NODE_SERVICE_PREFERENCES: readonly string[] = [HS_SERVICE_V2, HS_SERVICE_V1, HS_SERVICE_V0];

const SIGN_KEY = 608;
const OCERT = 112;

// ---------------------------------------------------------------------------------------------
// A minimal exact-read queue over a socket (independent of src/)

class Inbox {
  #chunks: Buffer[] = [];
  #have = 0;
  #eof = false;
  #waiter: (() => void) | undefined;

  constructor(socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.#chunks.push(Buffer.from(c));
      this.#have += c.length;
      this.#poke();
    });
    const end = (): void => {
      this.#eof = true;
      this.#poke();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  #poke(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  get buffered(): number {
    return this.#have;
  }

  /** Exactly n bytes, or `{ eof, got }` with how many of them had arrived. */
  async read(n: number): Promise<Buffer | { eof: true; got: number }> {
    while (this.#have < n) {
      if (this.#eof) return { eof: true, got: this.#have };
      await new Promise<void>((r) => (this.#waiter = r));
    }
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [all.subarray(n)];
    this.#have -= n;
    return all.subarray(0, n);
  }
}

class PeerEof extends Error {
  constructor(readonly clean: boolean) {
    super(clean ? 'EOF' : 'short read');
  }
}

async function exact(inbox: Inbox, n: number, atBoundary = false): Promise<Buffer> {
  const b = await inbox.read(n);
  if (Buffer.isBuffer(b)) return b;
  throw new PeerEof(atBoundary && b.got === 0);
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Read `u32be count ‖ 32 × count` (VersionOfferMessage); refuses absurd counts. */
async function readOffer(inbox: Inbox): Promise<string[]> {
  const count = (await exact(inbox, 4, true)).readUInt32BE(0);
  if (count > 64) throw new Error(`offer of ${count} entries`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push((await exact(inbox, 32)).toString('latin1').replace(/\0+$/, ''));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Events

export interface OCertFields {
  hotVk: Uint8Array;
  counter: bigint;
  kesPeriod: bigint;
  sigma: Uint8Array;
}

export type ServicePeerEvent =
  | { seq: number; kind: 'offer'; offer: string[] }
  | { seq: number; kind: 'accepted'; version: string }
  | { seq: number; kind: 'rejected' }
  | { seq: number; kind: 'version'; version: string }
  | { seq: number; kind: 'key'; signKey: Uint8Array; evolution: number; ocert: OCertFields; timestampUs: bigint }
  | { seq: number; kind: 'drop'; timestampUs: bigint }
  | { seq: number; kind: 'answer'; result: number; raw: Uint8Array }
  | { seq: number; kind: 'closed'; clean: boolean }
  | { seq: number; kind: 'error'; message: string };

type EventBody = ServicePeerEvent extends infer E ? (E extends { seq: number } ? Omit<E, 'seq'> : never) : never;

/** Numbered events with sequence waits (mark before an action, waitFor after it). */
class EventLog<E extends { seq: number }> {
  readonly events: E[] = [];
  #next = 1;
  #waiters: (() => void)[] = [];

  push(body: Omit<E, 'seq'>): E {
    const e = { ...body, seq: this.#next++ } as E;
    this.events.push(e);
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
    return e;
  }

  /** The sequence number the next event will have: events with seq >= mark() come after now. */
  mark(): number {
    return this.#next;
  }

  waitFor<T extends E>(pred: (e: E) => e is T, opts?: { after?: number; timeoutMs?: number }): Promise<T>;
  waitFor(pred: (e: E) => boolean, opts?: { after?: number; timeoutMs?: number }): Promise<E>;
  waitFor(pred: (e: E) => boolean, opts: { after?: number; timeoutMs?: number } = {}): Promise<E> {
    const after = opts.after ?? 0;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise<E>((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.events.find((e) => e.seq >= after && pred(e));
        if (hit !== undefined) {
          clearTimeout(timer);
          resolve(hit);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== loop);
        reject(new Error(`no matching peer event after #${after} within ${timeoutMs} ms; events: ${this.events.map((e) => `${e.seq}:${(e as unknown as { kind: string }).kind}`).join(' ')}`));
      }, timeoutMs);
      const loop = (): void => {
        if (!check()) this.#waiters.push(loop);
      };
      loop();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Service client

export interface HaskellServiceClientOptions {
  socketPath: string;
  /** Version ids in order of preference. @default NODE_SERVICE_PREFERENCES */
  preferences?: readonly string[];
  /**
   * Attack/fault knobs. `answer`: replace the RecvResult bytes sent after a key/drop (return the
   * raw bytes to send, or 'close' to close instead of answering). `handshakeAnswer`: raw bytes
   * to send instead of the accept. `afterAccept`: extra bytes written right after the accept.
   */
  answer?: (e: ServicePeerEvent) => Uint8Array | 'close' | undefined;
  handshakeAnswer?: Uint8Array;
  afterAccept?: Uint8Array;
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export class HaskellServiceClient {
  readonly socket: net.Socket;
  readonly #log = new EventLog<ServicePeerEvent>();
  readonly #opts: HaskellServiceClientOptions;
  readonly #inbox: Inbox;
  /** Resolves when the session is over (closed or failed). */
  readonly done: Promise<void>;
  /** The version the session runs, once accepted. */
  version: string | undefined;
  /** Per-session timestamp guard (ServiceClient.hs `latestTimestampVar`). */
  #lastTimestamp: bigint | undefined;

  private constructor(socket: net.Socket, opts: HaskellServiceClientOptions) {
    this.socket = socket;
    this.#opts = opts;
    this.#inbox = new Inbox(socket);
    this.done = this.#run();
  }

  static async connect(opts: HaskellServiceClientOptions): Promise<HaskellServiceClient> {
    return new HaskellServiceClient(await connect(opts.socketPath), opts);
  }

  get events(): readonly ServicePeerEvent[] {
    return this.#log.events;
  }

  mark(): number {
    return this.#log.mark();
  }

  waitFor<K extends ServicePeerEvent['kind']>(kind: K, opts?: { after?: number; timeoutMs?: number; where?: (e: Extract<ServicePeerEvent, { kind: K }>) => boolean }): Promise<Extract<ServicePeerEvent, { kind: K }>> {
    return this.#log.waitFor(
      (e): e is Extract<ServicePeerEvent, { kind: K }> => e.kind === kind && (opts?.where === undefined || opts.where(e as Extract<ServicePeerEvent, { kind: K }>)),
      opts,
    );
  }

  /** Keys received so far (their sign keys are plain copies: test data only). */
  keys(): Extract<ServicePeerEvent, { kind: 'key' }>[] {
    return this.#log.events.filter((e): e is Extract<ServicePeerEvent, { kind: 'key' }> => e.kind === 'key');
  }

  close(): Promise<void> {
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    return this.done.finally(() => clearTimeout(t));
  }

  #emit(body: EventBody): ServicePeerEvent {
    return this.#log.push(body as Omit<ServicePeerEvent, 'seq'>);
  }

  async #run(): Promise<void> {
    const s = this.socket;
    try {
      const offer = await readOffer(this.#inbox);
      this.#emit({ kind: 'offer', offer });
      if (this.#opts.handshakeAnswer !== undefined) {
        s.write(this.#opts.handshakeAnswer);
        this.#emit({ kind: 'rejected' });
        return await this.#drain();
      }
      const prefs = this.#opts.preferences ?? NODE_SERVICE_PREFERENCES;
      const chosen = prefs.find((p) => offer.includes(p));
      if (chosen === undefined) {
        s.write(Buffer.of(0x00)); // VersionRejectedMessage = Nothing
        this.#emit({ kind: 'rejected' });
        return await this.#drain();
      }
      s.write(Buffer.concat([Buffer.of(0x01), hsVersionId(chosen)])); // Just id
      if (this.#opts.afterAccept !== undefined) s.write(this.#opts.afterAccept);
      this.version = chosen;
      this.#emit({ kind: 'accepted', version: chosen });
      const vm = (await exact(this.#inbox, 32)).toString('latin1').replace(/\0+$/, '');
      this.#emit({ kind: 'version', version: vm });
      if (vm !== chosen) throw new Error('VersionMessage mismatch');
      for (;;) {
        const ev = await this.#readMessage(chosen);
        await this.#answer(ev);
      }
    } catch (e) {
      if (e instanceof PeerEof) this.#emit({ kind: 'closed', clean: e.clean });
      else this.#emit({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
    } finally {
      s.destroy();
    }
  }

  async #drain(): Promise<void> {
    const r = await this.#inbox.read(1 << 30);
    this.#emit({ kind: 'closed', clean: !Buffer.isBuffer(r) && r.got === 0 });
  }

  async #readMessage(version: string): Promise<ServicePeerEvent> {
    let timestampUs = 0n;
    if (version === HS_SERVICE_V2) {
      const tag = (await exact(this.#inbox, 1, true))[0]!;
      if (tag > 1) throw new Error(`KeyMessageTypeID ${tag}`);
      timestampUs = (await exact(this.#inbox, 8)).readBigUInt64BE(0);
      if (tag === 1) return this.#emit({ kind: 'drop', timestampUs });
    }
    // Bundle: sign key 608 ‖ evolution u32be ‖ OCert 112 (vk 32 ‖ n u64 ‖ period u64 ‖ sigma 64)
    const signKey = new Uint8Array(await exact(this.#inbox, SIGN_KEY, version !== HS_SERVICE_V2));
    const evolution = (await exact(this.#inbox, 4)).readUInt32BE(0);
    const oc = await exact(this.#inbox, OCERT);
    const ocert: OCertFields = {
      hotVk: new Uint8Array(oc.subarray(0, 32)),
      counter: oc.readBigUInt64BE(32),
      kesPeriod: oc.readBigUInt64BE(40),
      sigma: new Uint8Array(oc.subarray(48, 112)),
    };
    return this.#emit({ kind: 'key', signKey, evolution, ocert, timestampUs });
  }

  async #answer(ev: ServicePeerEvent): Promise<void> {
    const ts = ev.kind === 'key' || ev.kind === 'drop' ? ev.timestampUs : 0n;
    let result = 0; // RecvOK
    if (this.#lastTimestamp !== undefined && ts <= this.#lastTimestamp) result = 1; // RecvErrorKeyOutdated
    else this.#lastTimestamp = ts;
    const override = this.#opts.answer?.(ev);
    if (override === 'close') {
      this.socket.end();
      throw new PeerEof(true);
    }
    const raw = override ?? u32be(result);
    await new Promise<void>((r) => this.socket.write(raw, () => r()));
    this.#emit({ kind: 'answer', result: raw.length === 4 ? Buffer.from(raw).readUInt32BE(0) : -1, raw: new Uint8Array(raw) });
  }
}

// ---------------------------------------------------------------------------------------------
// Control client

export type HsControlVersion = 0 | 1 | 2 | 3;

export interface HsBundleInfo {
  evolution: number;
  startKesPeriod: bigint;
  ocertCounter: bigint;
  vk: Uint8Array;
  sigma: Uint8Array;
}

export interface HsAgentInfo {
  programVersion?: string;
  /** V0/V1: `Maybe BundleInfo` (as { bundle }); V2/V3: `Maybe TaggedBundleInfo`. */
  installed: { bundle: HsBundleInfo | undefined; timestampS: bigint | undefined } | undefined;
  stagedVk: Uint8Array | undefined;
  currentTimeS: bigint;
  currentKesPeriod: bigint;
  periodStartS?: bigint;
  periodEndS?: bigint;
  bootstrap: { address: string; status: number }[];
}

export class HaskellControlClient {
  readonly socket: net.Socket;
  readonly version: HsControlVersion;
  readonly #inbox: Inbox;
  /** The agent's offer, as read. */
  offer: string[] = [];

  private constructor(socket: net.Socket, version: HsControlVersion) {
    this.socket = socket;
    this.version = version;
    this.#inbox = new Inbox(socket);
    socket.on('error', () => undefined);
  }

  /**
   * Connect, read the offer, accept `version` (or reject when it is not offered, then throw),
   * and send the VersionMessage unless `sendVersionMessage: false` (a Haskell V0/V1 drop-key
   * sends the accept and closes: use `{ sendVersionMessage: false }` then close()).
   */
  static async connect(socketPath: string, version: HsControlVersion, opts: { sendVersionMessage?: boolean } = {}): Promise<HaskellControlClient> {
    const c = new HaskellControlClient(await connect(socketPath), version);
    c.offer = await readOffer(c.#inbox);
    const id = HS_CONTROL_IDS[version];
    if (!c.offer.includes(id)) {
      c.socket.write(Buffer.of(0x00));
      c.socket.end();
      throw new Error(`the agent does not offer ${id}`);
    }
    c.socket.write(Buffer.concat([Buffer.of(0x01), hsVersionId(id)]));
    if (opts.sendVersionMessage !== false) c.socket.write(hsVersionId(id));
    return c;
  }

  /** Raw mode: write arbitrary bytes. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    return new Promise((r) => this.socket.write(bytes, () => r()));
  }

  /** Raw mode: read exactly n bytes (throws on EOF). */
  async readRaw(n: number): Promise<Buffer> {
    return exact(this.#inbox, n, true);
  }

  /** Resolves true when the agent closed the connection (EOF) before sending anything more. */
  async closedByAgent(timeoutMs = 5000): Promise<boolean> {
    const t = setTimeout(() => this.socket.destroy(), timeoutMs);
    const r = await this.#inbox.read(1 << 30);
    clearTimeout(t);
    return !Buffer.isBuffer(r) && r.got === 0;
  }

  async #cmd(code: number, extra?: Uint8Array): Promise<void> {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    await this.writeRaw(extra === undefined ? b : Buffer.concat([b, extra]));
  }

  async #publicKey(): Promise<Uint8Array | undefined> {
    const flag = (await exact(this.#inbox, 1, true))[0]!;
    if (flag === 0) return undefined;
    if (flag !== 1) throw new Error(`bad Bool ${flag}`);
    return new Uint8Array(await exact(this.#inbox, 32));
  }

  async #result(): Promise<number> {
    return (await exact(this.#inbox, 2, true)).readUInt16BE(0);
  }

  /** GenStagedKeyCmd (0000) → Maybe VerKeyKES. */
  async genStagedKey(): Promise<Uint8Array | undefined> {
    await this.#cmd(0);
    return this.#publicKey();
  }

  /** QueryStagedKeyCmd (0001). */
  async queryStagedKey(): Promise<Uint8Array | undefined> {
    await this.#cmd(1);
    return this.#publicKey();
  }

  /** DropStagedKeyCmd (0002). */
  async dropStagedKey(): Promise<Uint8Array | undefined> {
    await this.#cmd(2);
    return this.#publicKey();
  }

  /** InstallKeyCmd (0003) ‖ OCert(112) → RecvResult u16 (0 OK, 1 outdated, 2 invalid opcert, 3 no key). */
  async installKey(ocert112: Uint8Array): Promise<number> {
    if (ocert112.length !== OCERT) throw new Error('an OCert is 112 bytes');
    await this.#cmd(3, ocert112);
    return this.#result();
  }

  /** DropKeyCmd (0005) → RecvResult u16 (V2/V3; V0/V1 agents close the connection). */
  async dropKey(): Promise<number> {
    await this.#cmd(5);
    return this.#result();
  }

  /** RequestInfoCmd (0004) → AgentInfo of this version. */
  async requestInfo(): Promise<HsAgentInfo> {
    await this.#cmd(4);
    const r = this.#inbox;
    const bool = async (): Promise<boolean> => {
      const b = (await exact(r, 1))[0]!;
      if (b > 1) throw new Error(`bad Bool ${b}`);
      return b === 1;
    };
    const text = async (): Promise<string> => {
      const n = (await exact(r, 4)).readUInt32BE(0);
      if (n > 65536) throw new Error(`Text of ${n} bytes`);
      return (await exact(r, n)).toString('utf8');
    };
    const bundleInfo = async (): Promise<HsBundleInfo> => {
      const b = await exact(r, 116);
      return { evolution: b.readUInt32BE(0), startKesPeriod: b.readBigUInt64BE(4), ocertCounter: b.readBigUInt64BE(12), vk: new Uint8Array(b.subarray(20, 52)), sigma: new Uint8Array(b.subarray(52, 116)) };
    };
    const i64 = async (): Promise<bigint> => (await exact(r, 8)).readBigInt64BE(0);
    const u64 = async (): Promise<bigint> => (await exact(r, 8)).readBigUInt64BE(0);
    const info: Partial<HsAgentInfo> = {};
    if (this.version === 3) info.programVersion = await text();
    if (this.version <= 1) {
      info.installed = (await bool()) ? { bundle: await bundleInfo(), timestampS: undefined } : undefined;
    } else if (await bool()) {
      const bundle = (await bool()) ? await bundleInfo() : undefined;
      const timestampS = (await bool()) ? await i64() : undefined;
      info.installed = { bundle, timestampS };
    } else {
      info.installed = undefined;
    }
    info.stagedVk = (await bool()) ? new Uint8Array(await exact(r, 32)) : undefined;
    info.currentTimeS = await i64();
    info.currentKesPeriod = await u64();
    if (this.version === 3) {
      info.periodStartS = await i64();
      info.periodEndS = await i64();
    }
    const n = (await exact(r, 4)).readUInt32BE(0);
    if (n > 1024) throw new Error(`${n} bootstrap entries`);
    info.bootstrap = [];
    for (let i = 0; i < n; i++) {
      const address = await text();
      const status = (await exact(r, 1))[0]!;
      info.bootstrap.push({ address, status });
    }
    return info as HsAgentInfo;
  }

  close(): void {
    this.socket.end();
  }
}
