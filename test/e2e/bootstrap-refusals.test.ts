/**
 * A built agent following a crafted peer: a Unix socket in the test's temp dir that speaks the
 * Haskell Service V2 protocol as a peer agent would (offer, VersionMessage, KeyMessage /
 * DropKeyMessage, then reads our RecvResult) and serves bundles made here. Each bad bundle is
 * refused with its reason in `kes-ctl status`, the RecvResult the agent answers, and the active
 * key stays. A peer that hangs mid-message, floods or goes away never stops the agent serving its
 * own nodes or answering status. A SIGHUP reload adds and removes peers without touching the key.
 *
 * Sequence, never sleeps: the peer waits for the agent's RecvResult to a bundle before the test
 * reads status, so the agent has decided by then.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { issueOpcert } from '../../src/cardano/opcert';
import { readColdSigningKeyFile } from '../../src/cardano/cold-key';
import { KesSignKey } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import {
  ByteReader,
  encodeServiceDropMessage,
  encodeServiceKeyMessage,
  encodeServiceOffer,
  encodeServiceVersionMessage,
  HS_SIGN_KEY_BYTES,
} from '../../src/protocol/haskell';
import { MAX_PEER_CLOCK_AHEAD_MS } from '../../src/machine/agent';
import { type AgentEnv, ctlJson, currentPeriod, makeAgentEnv, stageAndCertify, startAgent, stopAgentEnv, ctl } from '../helpers/agent-env';

jest.setTimeout(60_000);

interface PeerJson {
  path: string;
  state: string;
  lastKey: null | { kesVkey: string; counter: number; evolution: number };
  lastDrop: null | { timestampUs: number };
  lastRefusal: null | { code: string; message: string };
  received: number;
  accepted: number;
}
interface StatusJson {
  active: null | { kesVkey: string; counter: number; evolution: number };
  peers?: PeerJson[];
  warnings: string[];
}

/** A fake peer agent: accepts one follower at a time and lets the test script what it sends. */
class CraftedPeer {
  readonly server: net.Server;
  #conn: { socket: net.Socket; reader: ByteReader } | undefined;
  #waiting: ((c: { socket: net.Socket; reader: ByteReader }) => void)[] = [];

  constructor(readonly socketPath: string) {
    this.server = net.createServer((socket) => void this.#accept(socket));
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.socketPath, resolve));
  }

  async #accept(socket: net.Socket): Promise<void> {
    socket.on('error', () => undefined);
    const reader = new ByteReader(socket);
    socket.write(encodeServiceOffer([2]));
    await reader.readExact(33); // Just Service:2.0
    socket.write(encodeServiceVersionMessage(2));
    this.#conn = { socket, reader };
    for (const w of this.#waiting.splice(0)) w(this.#conn);
  }

  /** The current follower connection (waits for the agent to connect). */
  connection(): Promise<{ socket: net.Socket; reader: ByteReader }> {
    if (this.#conn !== undefined && !this.#conn.socket.destroyed) return Promise.resolve(this.#conn);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Send one message and read the agent's RecvResult (Word32 BE). */
  async send(message: Uint8Array): Promise<number> {
    const c = await this.connection();
    c.socket.write(message);
    const r = await c.reader.readExact(4, { timeoutMs: 20_000 });
    return new DataView(r.buffer, r.byteOffset, 4).getUint32(0, false);
  }

  dropConnection(): void {
    this.#conn?.socket.destroy();
    this.#conn = undefined;
  }

  close(): Promise<void> {
    this.dropConnection();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let e: AgentEnv;
let peer: CraftedPeer;
let coldSeed: Uint8Array;
let period: number;
let activeVk: string;
let cfg: string;

beforeAll(async () => {
  await loadSodium();
  e = await makeAgentEnv();
  const sk = readColdSigningKeyFile(e.coldSkey);
  coldSeed = sk.seed.slice();
  sk.destroy();
  peer = new CraftedPeer(path.join(e.dir, 'peer.sock'));
  await peer.listen();
  // The peer comes from a config file, so that a SIGHUP reload can remove it (flags stay as given).
  cfg = path.join(e.dir, 'agent.toml');
  fs.writeFileSync(cfg, `bootstrap = [${JSON.stringify(peer.socketPath)}]\n`);
  await startAgent(e, ['--config', cfg]);
  period = await currentPeriod(e);
  // Two rotations: the active key has opcert counter 1, so counter 0 is below the floor.
  for (const name of ['k0', 'k1']) {
    const { opcert } = await stageAndCertify(e, { name, force: true });
    await ctlJson(e, 'import-opcert', opcert);
    activeVk = (await ctlJson<{ kesVkey: string }>(e, 'upload')).kesVkey;
  }
});
afterAll(async () => {
  await peer.close();
  await stopAgentEnv(e);
});

const status = (): Promise<StatusJson> => ctlJson<StatusJson>(e, 'status');

/** A Service V2 KeyMessage with a fresh key at `evolution` under an opcert (c0, counter) from `seed`. */
function keyMessage(o: { c0?: number; counter?: number; evolution?: number; seed?: Uint8Array; timestampUs?: bigint }): Uint8Array {
  const key = KesSignKey.generate();
  try {
    if ((o.evolution ?? 0) > 0) key.evolveTo(o.evolution!);
    const opcert = issueOpcert({ hotVk: key.verificationKey(), counter: o.counter ?? 1, kesPeriod: o.c0 ?? period, coldSeed: o.seed ?? coldSeed });
    const raw = new Uint8Array(HS_SIGN_KEY_BYTES);
    key.writeRaw(raw);
    return encodeServiceKeyMessage(2, { signKey: raw, evolution: key.evolution, ocert: opcert, timestampUs: o.timestampUs ?? BigInt(Date.now()) * 1000n });
  } finally {
    key.destroy();
  }
}

const OTHER_COLD_SEED = Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 5) & 0xff);
const RECV_OK = 0;
const RECV_OUTDATED = 1;
const RECV_INVALID_OPCERT = 2;

test.each([
  ['OPCERT_BAD_SIGNATURE', () => keyMessage({ seed: OTHER_COLD_SEED }), RECV_INVALID_OPCERT],
  ['KEY_OVER_EVOLVED', () => keyMessage({ evolution: 1 }), RECV_INVALID_OPCERT],
  ['OPCERT_EXPIRED', () => keyMessage({ c0: period - 62 }), RECV_OUTDATED],
  ['OPCERT_COUNTER_TOO_LOW', () => keyMessage({ counter: 0 }), RECV_OUTDATED],
  ['TIMESTAMP_IN_FUTURE', () => keyMessage({ timestampUs: BigInt(Date.now() + MAX_PEER_CLOCK_AHEAD_MS + 3_600_000) * 1000n }), RECV_INVALID_OPCERT],
] as const)('%s: refused with its reason in status; the active key stays', async (code, make, recv) => {
  expect(await peer.send(make())).toBe(recv);
  const s = await status();
  expect(s.active).toMatchObject({ kesVkey: activeVk, counter: 1 });
  expect(s.peers).toHaveLength(1);
  expect(s.peers![0]).toMatchObject({ path: peer.socketPath, state: 'up', lastRefusal: { code } });
  expect(s.warnings.some((w) => w.includes(`(${code})`))).toBe(true);
});

test('a tombstone from the future is refused and the key stays; a valid newer bundle is then installed and clears the refusal', async () => {
  expect(await peer.send(encodeServiceDropMessage(BigInt(Date.now() + 3_600_000) * 1000n))).toBe(RECV_INVALID_OPCERT);
  expect((await status()).active).toMatchObject({ kesVkey: activeVk });
  expect(await peer.send(keyMessage({ counter: 1 }))).toBe(RECV_OK);
  const s = await status();
  expect(s.active!.kesVkey).not.toBe(activeVk);
  expect(s.peers![0]).toMatchObject({ lastRefusal: null, lastKey: { counter: 1, evolution: 0 } });
  activeVk = s.active!.kesVkey;
});

test('a peer that hangs mid-message: status answers at once; the link is dropped after the read timeout and comes back', async () => {
  const c = await peer.connection();
  const mark = e.agent!.mark();
  c.socket.write(keyMessage({}).subarray(0, 100));
  expect((await status()).active).toMatchObject({ kesVkey: activeVk });
  await e.agent!.waitFor('code=PEER_TIMEOUT', { after: mark });
  await e.agent!.waitFor('bootstrap: connected to peer', { after: mark });
  expect((await status()).active).toMatchObject({ kesVkey: activeVk });
});

test('a peer that floods is disconnected; the agent keeps answering', async () => {
  const c = await peer.connection();
  const mark = e.agent!.mark();
  // Old tombstones (not newer: refused harmlessly), far more than the flood limit, unread answers.
  const old = encodeServiceDropMessage(1n);
  const burst = new Uint8Array(old.length * 200);
  for (let i = 0; i < 200; i++) burst.set(old, i * old.length);
  c.socket.write(burst);
  await e.agent!.waitFor('code=PEER_FLOODING', { after: mark });
  expect((await status()).active).toMatchObject({ kesVkey: activeVk });
});

test('a peer that goes away: the link goes down, the key stays, status answers; SIGHUP removes the peer without touching the key', async () => {
  const mark = e.agent!.mark();
  await peer.close();
  await e.agent!.waitFor('bootstrap: peer link down', { after: mark });
  const s = await status();
  expect(s.active).toMatchObject({ kesVkey: activeVk });
  expect(['connecting', 'down']).toContain(s.peers![0]!.state);
  // check --peer-down-after 0: the key is fine, the peer is down: exit 13.
  const check = await ctl(e, 'status', '--check', '--peer-down-after', '0');
  expect(check.code).toBe(13);
  expect(check.stdout).toMatch(/^warning: 1 bootstrap peer\(s\) down/);

  fs.writeFileSync(cfg, 'bootstrap = []\n');
  const p = e.agent!;
  const m2 = p.mark();
  p.child.kill('SIGHUP');
  await p.waitFor('bootstrap: peer removed', { after: m2 });
  await p.waitFor('config: reloaded', { after: m2 });
  const after = await status();
  expect(after.peers).toEqual([]);
  expect(after.active).toMatchObject({ kesVkey: activeVk });
});

test('SIGHUP adds a peer; one that does not offer Service:2.0 is named in the log and in status, and retried', async () => {
  const p = e.agent!;
  const onlyV1 = path.join(e.dir, 'only-v1.sock');
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let secondAttempt!: () => void;
  const retried = new Promise<void>((resolve) => (secondAttempt = resolve));
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (++connections === 2) secondAttempt();
    socket.end(encodeServiceOffer([1]));
  });
  await new Promise<void>((resolve) => server.listen(onlyV1, resolve));
  try {
    fs.writeFileSync(cfg, `bootstrap = [${JSON.stringify(onlyV1)}]\n`);
    const mark = p.mark();
    p.child.kill('SIGHUP');
    await p.waitFor('bootstrap: peer added', { after: mark });
    await p.waitFor('code=PEER_NO_SERVICE_V2', { after: mark });
    const s = await status();
    expect(s.peers).toHaveLength(1);
    expect(s.peers![0]).toMatchObject({ path: onlyV1, lastRefusal: { code: 'PEER_NO_SERVICE_V2' } });
    expect(s.peers![0]!.lastRefusal!.message).toMatch(/does not offer Service:2\.0 \(it offers Service:1\.0\)/);
    expect(s.warnings.some((w) => w.includes('PEER_NO_SERVICE_V2'))).toBe(true);
    expect(s.active).toMatchObject({ kesVkey: activeVk });
    // Retried with backoff (later identical failures are logged at debug only).
    await retried;
  } finally {
    fs.writeFileSync(cfg, 'bootstrap = []\n');
    const m = p.mark();
    p.child.kill('SIGHUP');
    await p.waitFor('bootstrap: peer removed', { after: m });
    for (const so of sockets) so.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
