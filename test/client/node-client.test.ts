/**
 * KesNodeClient against a scripted agent on a real Unix socket, with real keys, real opcerts and
 * the real codec. What a node must get right (the dingo node's agent client; cardano-node's,
 * docs/haskell-protocol.md §9): validate before install, keep the key across agent restarts, evolve on time,
 * expire, back off.
 */
import * as secretMemory from '../../src/crypto/secret-memory';
import { KesNodeClient, type KesNodeClientEvents } from '../../src/client';
import { toHex } from '../../src/crypto/bytes';
import { KES_SIGN_KEY_BYTES, kesVkFromRaw, verifyKes } from '../../src/crypto/kes';
import { loadSodium, sodium } from '../../src/crypto/sodium';
import type { ErrorCode } from '../../src/errors';
import { WIRE_ERROR_CODES, type ConfirmMessage } from '../../src/protocol';
import { type ChainTiming } from '../../src/time';
import {
  FakeAgent,
  coldVkOf,
  currentPeriod,
  makeBundle,
  timingAtPeriod,
  type FakeConnection,
  type TestBundle,
} from '../helpers/fake-agent';
import { thrownBy } from '../helpers/thrown';

const MSG = new TextEncoder().encode('block header body');
const COLD = 9;
const OTHER_COLD = 10;
/** Long (1 h) periods, mid-period: no boundary is crossed during a test. */
const KP = 100;

let agent: FakeAgent;
const clients: KesNodeClient[] = [];
const bundles: TestBundle[] = [];

beforeAll(async () => {
  await loadSodium();
});

beforeEach(async () => {
  agent = await FakeAgent.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  for (const b of bundles.splice(0)) b.key.destroy();
  await agent.dispose();
  jest.restoreAllMocks();
});

function bundle(args: { kesFill: number; counter: number; kesPeriod: number; coldFill?: number }): TestBundle {
  const b = makeBundle({ coldFill: COLD, ...args });
  bundles.push(b);
  return b;
}

function client(timing: ChainTiming, extra: Partial<ConstructorParameters<typeof KesNodeClient>[0]> = {}): KesNodeClient {
  const c = new KesNodeClient({ socketPath: agent.socketPath, timing, backoff: { initialMs: 10, maxMs: 40 }, ...extra });
  clients.push(c);
  return c;
}

type Recorded = { [E in keyof KesNodeClientEvents]: { event: E; payload: KesNodeClientEvents[E] } }[keyof KesNodeClientEvents];

/** Every event the client emits, in order. */
function record(c: KesNodeClient): Recorded[] {
  const log: Recorded[] = [];
  const names: (keyof KesNodeClientEvents)[] = ['connected', 'disconnected', 'key', 'dropped', 'rejected', 'evolved', 'noKey'];
  for (const event of names) c.on(event, (payload: KesNodeClientEvents[typeof event]) => void log.push({ event, payload } as Recorded));
  return log;
}

function nextEvent<E extends keyof KesNodeClientEvents>(
  c: KesNodeClient,
  event: E,
  pred: (p: KesNodeClientEvents[E]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<KesNodeClientEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${String(event)}' event within ${timeoutMs} ms`)), timeoutMs);
    const listener = (p: KesNodeClientEvents[E]): void => {
      if (!pred(p)) return;
      clearTimeout(timer);
      c.off(event, listener);
      resolve(p);
    };
    c.on(event, listener);
  });
}

/** A promise plus its resolve, for scripts to report what the client sent. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Script: handshake, then each push in turn, collecting the CONFIRMs; then wait for the close. */
function pushes(...steps: ((c: FakeConnection) => Promise<number>)[]): { confirms: Promise<ConfirmMessage[]> } {
  const done = deferred<ConfirmMessage[]>();
  agent.script = async (c) => {
    await c.handshake();
    const confirms: ConfirmMessage[] = [];
    for (const step of steps) confirms.push(await c.expectConfirm(await step(c)));
    done.resolve(confirms);
    await c.closed();
  };
  return { confirms: done.promise };
}

const key = (seq: number, b: TestBundle, opts?: Parameters<FakeConnection['sendKey']>[2]) => async (c: FakeConnection): Promise<number> => {
  await c.sendKey(seq, b, opts);
  return seq;
};
const noKey = (seq: number) => async (c: FakeConnection): Promise<number> => {
  await c.sendNoKey(seq);
  return seq;
};
const dropped = (seq: number) => async (c: FakeConnection): Promise<number> => {
  await c.sendKeyDropped(seq);
  return seq;
};

function expectCode(f: () => unknown, code: ErrorCode, mentions?: RegExp): void {
  const e = thrownBy(f);
  expect(e.code).toBe(code);
  if (mentions) expect(e.message).toMatch(mentions);
}

/** spec/protocol.md §7.18: a KEY payload is always 765 bytes, its last 608 the secret segment. */
const KEY_PAYLOAD_BYTES = 765;

/**
 * Record every allocSecret() buffer. The decoder assembles a KEY payload in secret memory and
 * wipes only its secret segment (the opcert before it is public); everything else must be zero
 * once released.
 */
function trackSecrets(): { holdingSecrets: () => Uint8Array[] } {
  const allocated: Uint8Array[] = [];
  const real = secretMemory.allocSecret;
  jest.spyOn(secretMemory, 'allocSecret').mockImplementation((n: number) => {
    const buf = real(n);
    allocated.push(buf);
    return buf;
  });
  const secretPart = (b: Uint8Array): Uint8Array => (b.length === KEY_PAYLOAD_BYTES ? b.subarray(KEY_PAYLOAD_BYTES - KES_SIGN_KEY_BYTES) : b);
  return { holdingSecrets: () => allocated.filter((b) => secretPart(b).some((byte) => byte !== 0)) };
}

describe('KesNodeClient: receiving a key', () => {
  it('validates, installs, evolves forward to the current period, confirms 0, and signs verifiably', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 1, counter: 3, kesPeriod: KP - 3 });
    const { confirms } = pushes(key(7, b));
    const c = client(timing, { coldVk: coldVkOf(COLD) });
    const connected = nextEvent(c, 'connected');
    const installed = nextEvent(c, 'key');
    c.start();
    expect(await connected).toEqual({ agentVersion: 'fake-agent 0.0.0', protocolVersion: 2 });
    // The agent sent evolution 0; the current period needs evolution 3.
    expect(await installed).toEqual({ kesVk: toHex(b.opcert.hotVk), counter: 3, startKesPeriod: KP - 3, evolution: 3, replaced: false });
    expect((await confirms).map((m) => m.result)).toEqual([0]);
    expect(c.hasKey()).toBe(true);
    expect(c.connected).toBe(true);

    const info = c.keyInfo()!;
    expect(info).toMatchObject({ kesVk: toHex(b.opcert.hotVk), counter: 3, startKesPeriod: KP - 3, evolution: 3 });
    expect(info.opcert).toEqual(b.opcert);
    info.opcert.hotVk.fill(0); // a copy: the client's opcert is untouched
    expect(c.keyInfo()!.kesVk).toBe(toHex(b.opcert.hotVk));

    const s = c.sign(MSG);
    expect(s.kesPeriod).toBe(KP);
    expect(s.evolution).toBe(3);
    expect(verifyKes(b.opcert.hotVk, 3, MSG, s.signature)).toBe(true);
    expect(verifyKes(b.opcert.hotVk, 2, MSG, s.signature)).toBe(false);
    await expect(c.waitForKey(0)).resolves.toBeUndefined();
  });

  it('accepts a key sent already at the current evolution', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 2, counter: 0, kesPeriod: KP - 5 });
    const { confirms } = pushes(key(1, b, { evolution: 5 }));
    const c = client(timing);
    const installed = nextEvent(c, 'key');
    c.start();
    expect((await installed).evolution).toBe(5);
    expect((await confirms)[0]!.result).toBe(0);
    expect(verifyKes(b.opcert.hotVk, 5, MSG, c.sign(MSG).signature)).toBe(true);
  });

  it('refuses a forged key whose vk bytes are the public root vks (dingo accepted it): NODE_KEY_INVALID', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 3, counter: 1, kesPeriod: KP });
    // Random secret bytes + the last 64 bytes (public: they are in every signature) of the real key.
    const forged = new Uint8Array(KES_SIGN_KEY_BYTES);
    b.key.writeRaw(forged);
    forged.set(sodium().randombytes_buf(KES_SIGN_KEY_BYTES - 64), 0);
    expect(kesVkFromRaw(forged)).toEqual(b.opcert.hotVk); // the derived-vk check alone would pass it
    const { confirms } = pushes(async (conn) => {
      await conn.sendRawKey(4, b.opcert, 0, forged);
      return 4;
    });
    const c = client(timing);
    const rejected = nextEvent(c, 'rejected');
    c.start();
    const r = await rejected;
    expect(r.code).toBe('NODE_KEY_INVALID');
    expect(r.reason).toMatch(/probe signature|structure|KES sign key/);
    expect((await confirms)[0]!.result).toBe(WIRE_ERROR_CODES.NODE_KEY_INVALID);
    expect(c.hasKey()).toBe(false);
    expectCode(() => c.sign(MSG), 'NO_KEY', /refused the agent's key/);
  });

  it('refuses an opcert issued by another cold key than the configured one: NODE_OPCERT_INVALID', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 4, counter: 1, kesPeriod: KP, coldFill: OTHER_COLD });
    const { confirms } = pushes(key(2, b));
    const c = client(timing, { coldVk: coldVkOf(COLD) });
    const rejected = nextEvent(c, 'rejected');
    c.start();
    const r = await rejected;
    expect(r.code).toBe('NODE_OPCERT_INVALID');
    expect(r.reason).toContain(toHex(coldVkOf(OTHER_COLD)));
    expect(r.reason).toContain(toHex(coldVkOf(COLD)));
    expect((await confirms)[0]!.result).toBe(WIRE_ERROR_CODES.NODE_OPCERT_INVALID);
    expect(c.hasKey()).toBe(false);
  });

  it('without a configured cold key, still refuses an opcert whose signature does not verify', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 5, counter: 1, kesPeriod: KP });
    const tampered = { ...b.opcert, counter: 2 }; // sigma was over counter 1
    const { confirms } = pushes(key(3, b, { opcert: tampered }));
    const c = client(timing);
    const rejected = nextEvent(c, 'rejected');
    c.start();
    expect(await rejected).toEqual({ code: 'NODE_OPCERT_INVALID', reason: expect.stringMatching(/signature does not verify/) });
    expect((await confirms)[0]!.result).toBe(WIRE_ERROR_CODES.NODE_OPCERT_INVALID);
  });

  it('refuses an expired opcert (kp ≥ c0 + maxKESEvolutions): NODE_KEY_EXPIRED', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP, maxKESEvolutions: 62 });
    const b = bundle({ kesFill: 6, counter: 1, kesPeriod: KP - 62 });
    const { confirms } = pushes(key(5, b));
    const c = client(timing);
    const rejected = nextEvent(c, 'rejected');
    c.start();
    expect(await rejected).toEqual({ code: 'NODE_KEY_EXPIRED', reason: expect.stringMatching(/periods 38\.\.99\) has ended; the current KES period is 100/) });
    expect((await confirms)[0]!.result).toBe(WIRE_ERROR_CODES.NODE_KEY_EXPIRED);
    expect(c.hasKey()).toBe(false);
  });

  it('refuses a key evolved past the current period (it can never sign it): NODE_KEY_INVALID', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 7, counter: 1, kesPeriod: KP });
    const { confirms } = pushes(key(6, b, { evolution: 2 }));
    const c = client(timing);
    const rejected = nextEvent(c, 'rejected');
    c.start();
    expect(await rejected).toEqual({ code: 'NODE_KEY_INVALID', reason: expect.stringMatching(/evolution 2, past evolution 0/) });
    expect((await confirms)[0]!.result).toBe(WIRE_ERROR_CODES.NODE_KEY_INVALID);
  });

  it('replaces on a higher counter, refuses a lower one, and takes the same key again idempotently', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const first = bundle({ kesFill: 11, counter: 3, kesPeriod: KP });
    const second = bundle({ kesFill: 12, counter: 4, kesPeriod: KP });
    const older = bundle({ kesFill: 13, counter: 2, kesPeriod: KP });
    const { confirms } = pushes(key(1, first), key(2, second), key(3, older), key(4, second));
    const c = client(timing, { coldVk: coldVkOf(COLD) });
    const log = record(c);
    c.start();
    expect((await confirms).map((m) => m.result)).toEqual([0, 0, WIRE_ERROR_CODES.NODE_OPCERT_INVALID, 0]);
    const keys = log.filter((e) => e.event === 'key').map((e) => e.payload);
    expect(keys).toEqual([
      { kesVk: toHex(first.opcert.hotVk), counter: 3, startKesPeriod: KP, evolution: 0, replaced: false },
      { kesVk: toHex(second.opcert.hotVk), counter: 4, startKesPeriod: KP, evolution: 0, replaced: true },
    ]);
    expect(log.filter((e) => e.event === 'rejected').map((e) => e.payload)).toEqual([
      { code: 'NODE_OPCERT_INVALID', reason: 'opcert counter 2 is lower than the held key\'s counter 4' },
    ]);
    // The refused key did not replace the held one.
    expect(c.keyInfo()!.counter).toBe(4);
    expect(verifyKes(second.opcert.hotVk, 0, MSG, c.sign(MSG).signature)).toBe(true);
  });

  it('a refused key never replaces the held one (forged key while holding a good one)', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const good = bundle({ kesFill: 14, counter: 1, kesPeriod: KP });
    const victim = bundle({ kesFill: 15, counter: 2, kesPeriod: KP });
    const forged = new Uint8Array(KES_SIGN_KEY_BYTES);
    victim.key.writeRaw(forged);
    forged.fill(0x5a, 0, 100);
    const { confirms } = pushes(key(1, good), async (conn) => {
      await conn.sendRawKey(2, victim.opcert, 0, forged);
      return 2;
    });
    const c = client(timing);
    c.start();
    expect((await confirms).map((m) => m.result)).toEqual([0, WIRE_ERROR_CODES.NODE_KEY_INVALID]);
    expect(c.keyInfo()!.kesVk).toBe(toHex(good.opcert.hotVk));
    expect(verifyKes(good.opcert.hotVk, 0, MSG, c.sign(MSG).signature)).toBe(true);
  });

  it('KEY_DROPPED wipes the key, emits dropped, and confirms', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 16, counter: 1, kesPeriod: KP });
    const { confirms } = pushes(key(1, b), dropped(2));
    const c = client(timing);
    const drop = nextEvent(c, 'dropped');
    c.start();
    expect(await drop).toEqual({ reason: 'agent-dropped' });
    expect((await confirms).map((m) => m.result)).toEqual([0, 0]);
    expect(c.hasKey()).toBe(false);
    expect(c.keyInfo()).toBeNull();
    expectCode(() => c.sign(MSG), 'NO_KEY', /dropped its key/);
  });

  it('wipes the frame secret and every refused key: after a refusal no secret buffer holds a byte', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 17, counter: 1, kesPeriod: KP - 70 }); // expired: refused after fromBytes
    const secrets = trackSecrets();
    const { confirms } = pushes(key(1, b));
    const c = client(timing);
    c.start();
    expect((await confirms)[0]!.result).toBe(WIRE_ERROR_CODES.NODE_KEY_EXPIRED);
    // The frame payload, the message secret, the candidate key and its workspace, the sender's copies.
    expect(secretMemory.allocSecret).toHaveBeenCalledWith(KES_SIGN_KEY_BYTES);
    expect(secrets.holdingSecrets()).toEqual([]);
  });

  it('holds exactly one copy of an accepted key, and none after stop()', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 18, counter: 1, kesPeriod: KP });
    const secrets = trackSecrets();
    const { confirms } = pushes(key(1, b));
    const c = client(timing);
    c.start();
    expect((await confirms)[0]!.result).toBe(0);
    expect(secrets.holdingSecrets().map((x) => x.length)).toEqual([KES_SIGN_KEY_BYTES]);
    await c.stop();
    expect(secrets.holdingSecrets()).toEqual([]);
  });
});

describe('KesNodeClient: connections', () => {
  it('keeps its key when the agent disappears, and when a restarted agent says NO_KEY', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 21, counter: 1, kesPeriod: KP });
    const first = pushes(key(1, b));
    const c = client(timing);
    const log = record(c);
    c.start();
    await first.confirms;

    const socketPath = agent.socketPath;
    const lost = nextEvent(c, 'disconnected', (d) => d.code === 'AGENT_CONNECTION_LOST');
    const missing = nextEvent(c, 'disconnected', (d) => d.code === 'AGENT_SOCKET_MISSING');
    await agent.stop(); // the agent dies; its socket file goes away
    expect((await lost).reason).toMatch(/the agent closed the connection/);
    expect((await missing).reason).toContain(`${socketPath}: no such socket file`);
    expect(c.hasKey()).toBe(true);
    expect(verifyKes(b.opcert.hotVk, 0, MSG, c.sign(MSG).signature)).toBe(true);

    // The agent restarts with an empty memory.
    const restarted = await FakeAgent.start(socketPath);
    const done = deferred<number>();
    restarted.script = async (conn) => {
      await conn.handshake();
      await conn.sendNoKey(1);
      done.resolve((await conn.expectConfirm(1)).result);
      await conn.closed();
    };
    try {
      expect(await done.promise).toBe(0);
      expect(c.hasKey()).toBe(true);
      expect(c.keyInfo()!.kesVk).toBe(toHex(b.opcert.hotVk));
      expect(verifyKes(b.opcert.hotVk, 0, MSG, c.sign(MSG).signature)).toBe(true);
      expect(log.filter((e) => e.event === 'connected')).toHaveLength(2);
      expect(log.filter((e) => e.event === 'noKey').map((e) => e.payload)).toEqual([{ keptKey: true }]);
      expect(log.filter((e) => e.event === 'dropped')).toEqual([]);
    } finally {
      await c.stop();
      await restarted.stop();
    }
  });

  it('backs off exponentially up to the cap after sessions that end right after the handshake, and resets only after a state message', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const PRODUCTIVE = 6;
    agent.script = async (conn) => {
      await conn.handshake();
      if (conn.index === PRODUCTIVE) {
        await conn.sendNoKey(1);
        await conn.expectConfirm(1);
      }
      conn.close();
    };
    const c = client(timing, { backoff: { initialMs: 10, maxMs: 80 } });
    const retries: number[] = [];
    const enough = deferred<void>();
    c.on('disconnected', (d) => {
      expect(d.code).toBe('AGENT_CONNECTION_LOST');
      retries.push(d.willRetryInMs);
      if (retries.length === 9) enough.resolve();
    });
    c.start();
    await enough.promise;
    await c.stop();
    // Completing the handshake alone never resets the backoff (dingo's 7,000 reconnects/s).
    expect(retries.slice(0, 9)).toEqual([10, 20, 40, 80, 80, 80, 10, 20, 40]);
  });

  it('an agent that keeps pushing a key the node refuses is not a productive session: the backoff keeps growing', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const foreign = bundle({ kesFill: 22, counter: 1, kesPeriod: KP, coldFill: OTHER_COLD });
    agent.script = async (conn) => {
      await conn.handshake();
      await conn.sendKey(1, foreign);
      await conn.expectConfirm(1);
      conn.close();
    };
    const c = client(timing, { coldVk: coldVkOf(COLD), backoff: { initialMs: 10, maxMs: 40 } });
    const log = record(c);
    const enough = deferred<void>();
    c.on('disconnected', () => {
      if (log.filter((e) => e.event === 'disconnected').length === 4) enough.resolve();
    });
    c.start();
    await enough.promise;
    await c.stop();
    const retries = log.flatMap((e) => (e.event === 'disconnected' ? [e.payload.willRetryInMs] : []));
    expect(retries.slice(0, 4)).toEqual([10, 20, 40, 40]);
    // One refusal per session, never a burst.
    expect(log.filter((e) => e.event === 'rejected').length).toBe(log.filter((e) => e.event === 'connected').length);
  });

  it('backs off while the socket is missing, and says so with the path', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    await agent.stop();
    const c = client(timing, { backoff: { initialMs: 10, maxMs: 40 } });
    const events: KesNodeClientEvents['disconnected'][] = [];
    const enough = deferred<void>();
    c.on('disconnected', (d) => {
      events.push(d);
      if (events.length === 5) enough.resolve();
    });
    c.start();
    await enough.promise;
    await c.stop();
    expect(events.slice(0, 5).map((d) => d.willRetryInMs)).toEqual([10, 20, 40, 40, 40]);
    for (const d of events) {
      expect(d.code).toBe('AGENT_SOCKET_MISSING');
      expect(d.reason).toContain(agent.socketPath);
    }
    expect(c.connected).toBe(false);
  });

  it('an agent that sends no state after the handshake is dropped after handshakeTimeoutMs', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    agent.script = async (conn) => {
      await conn.handshake();
      await conn.closed();
    };
    const c = client(timing, { handshakeTimeoutMs: 100 });
    const d = nextEvent(c, 'disconnected');
    c.start();
    expect(await d).toMatchObject({ code: 'AGENT_CONNECTION_LOST', reason: expect.stringMatching(/no key state within 100 ms/) });
  });

  it('an agent silent during the handshake: AGENT_HANDSHAKE_TIMEOUT', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    agent.script = (conn) => conn.closed();
    const c = client(timing, { handshakeTimeoutMs: 100 });
    const d = nextEvent(c, 'disconnected');
    c.start();
    expect(await d).toMatchObject({ code: 'AGENT_HANDSHAKE_TIMEOUT', reason: expect.stringContaining(agent.socketPath) });
  });

  it('an agent that answers HELLO with VERSION_MISMATCH: AGENT_HANDSHAKE_FAILED naming it', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    agent.script = (conn) => conn.refuseHandshake('VERSION_MISMATCH', 'no common protocol version: the client offered 1; this agent speaks 2');
    const c = client(timing);
    const d = nextEvent(c, 'disconnected');
    c.start();
    const ev = await d;
    expect(ev.code).toBe('AGENT_HANDSHAKE_FAILED');
    expect(ev.reason).toMatch(/VERSION_MISMATCH.*this agent speaks 2/);
  });

  it('garbage after the handshake: the client answers ERROR MALFORMED_FRAME and reconnects later', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const reply = deferred<unknown>();
    agent.script = async (conn) => {
      await conn.handshake();
      conn.writeRaw(new Uint8Array([0, 0, 0, 0])); // a zero frame length
      reply.resolve(await conn.next());
      await conn.closed();
    };
    const c = client(timing);
    const d = nextEvent(c, 'disconnected');
    c.start();
    expect(await reply.promise).toMatchObject({ type: 'error', code: WIRE_ERROR_CODES.MALFORMED_FRAME });
    expect(await d).toMatchObject({ code: 'AGENT_CONNECTION_LOST', reason: expect.stringMatching(/invalid frame.*MALFORMED_FRAME/) });
  });

  it('a message a node does not expect: ERROR UNEXPECTED_MESSAGE, then a reconnect', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const reply = deferred<unknown>();
    agent.script = async (conn) => {
      await conn.handshake();
      if (conn.index > 0) return conn.closed();
      await conn.framed.send({ type: 'status' });
      reply.resolve(await conn.next());
      await conn.closed();
    };
    const c = client(timing);
    const d = nextEvent(c, 'disconnected');
    c.start();
    expect(await reply.promise).toMatchObject({ type: 'error', code: WIRE_ERROR_CODES.UNEXPECTED_MESSAGE });
    expect((await d).reason).toMatch(/does not expect \(status\)/);
    await agent.nextConnection(); // the first
    await agent.nextConnection(); // it came back
  });

  it('an ERROR from the agent after the handshake ends the session with its code and words', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    agent.script = async (conn) => {
      await conn.handshake();
      await conn.framed.send({ type: 'error', code: WIRE_ERROR_CODES.BUSY, message: 'too many service connections (8)' });
      conn.close();
    };
    const c = client(timing);
    const d = nextEvent(c, 'disconnected');
    c.start();
    expect((await d).reason).toContain('ERROR BUSY: too many service connections (8)');
  });
});

describe('KesNodeClient: time', () => {
  // 0.1 s slots × 20 = 2-s KES periods, each test starting at the very beginning of one. What
  // must happen inside a period (connect, handshake, a KEY checked and installed, in-process)
  // measured under 0.2 s with both cores busy: 2 s keeps a margin of more than 4x.
  const FAST = { slotLength: 0.1, slotsPerKESPeriod: 20, fraction: 0 };

  it('evolves the held key at the period boundary, on a timer, without any sign() call', async () => {
    const timing = timingAtPeriod({ kesPeriod: 10, ...FAST });
    const c0 = currentPeriod(timing);
    const b = bundle({ kesFill: 31, counter: 1, kesPeriod: c0 });
    pushes(key(1, b));
    const c = client(timing);
    const installed = nextEvent(c, 'key');
    c.start();
    const start = (await installed).evolution;
    const evolved = await nextEvent(c, 'evolved');
    expect(evolved.evolution).toBe(start + 1);
    expect(evolved.kesPeriod).toBe(c0 + evolved.evolution);
    const s = c.sign(MSG);
    expect(s.evolution).toBe(s.kesPeriod - c0);
    expect(verifyKes(b.opcert.hotVk, s.evolution, MSG, s.signature)).toBe(true);
  });

  it('wipes the key at the end of its window and emits dropped: expired; sign() says KEY_EXPIRED', async () => {
    const timing = timingAtPeriod({ kesPeriod: 10, maxKESEvolutions: 2, ...FAST });
    const kp = currentPeriod(timing);
    const b = bundle({ kesFill: 32, counter: 1, kesPeriod: kp - 1 }); // valid in its last period only
    const { confirms } = pushes(key(1, b));
    const c = client(timing);
    const drop = nextEvent(c, 'dropped');
    c.start();
    expect((await confirms)[0]!.result).toBe(0);
    expect(await drop).toEqual({ reason: 'expired' });
    expect(c.hasKey()).toBe(false);
    expectCode(() => c.sign(MSG), 'KEY_EXPIRED', new RegExp(`expired at KES period ${kp + 1}`));
    await expect(c.waitForKey(10)).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/expired/) });
  });

  it('holds a key whose opcert starts next period: sign() refuses until then, waitForKey() resolves then', async () => {
    const timing = timingAtPeriod({ kesPeriod: 10, ...FAST });
    const c0 = currentPeriod(timing) + 1;
    const b = bundle({ kesFill: 33, counter: 1, kesPeriod: c0 });
    pushes(key(1, b));
    const c = client(timing);
    const installed = nextEvent(c, 'key');
    c.start();
    expect(await installed).toMatchObject({ startKesPeriod: c0, evolution: 0 });
    expect(c.hasKey()).toBe(true);
    expectCode(() => c.sign(MSG), 'KEY_NOT_YET_VALID', new RegExp(`valid from KES period ${c0}`));
    await c.waitForKey(5_000);
    const s = c.sign(MSG);
    expect(s.evolution).toBe(s.kesPeriod - c0);
    expect(verifyKes(b.opcert.hotVk, s.evolution, MSG, s.signature)).toBe(true);
  });

  it('sign() evolves first when the period moved on (injected clock)', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 34, counter: 1, kesPeriod: KP });
    const periodMs = timing.slotLengthMs * timing.slotsPerKESPeriod;
    let offset = 0;
    const { confirms } = pushes(key(1, b));
    const c = client(timing, { now: () => Date.now() + offset });
    const evolved: number[] = [];
    c.on('evolved', (e) => evolved.push(e.evolution));
    c.start();
    await confirms;
    expect(c.sign(MSG).evolution).toBe(0);
    offset = 2 * periodMs; // two periods later, with no timer having fired
    const s = c.sign(MSG);
    expect(s).toMatchObject({ kesPeriod: KP + 2, evolution: 2 });
    expect(verifyKes(b.opcert.hotVk, 2, MSG, s.signature)).toBe(true);
    expect(evolved).toEqual([2]);
    expect(c.keyInfo()!.evolution).toBe(2);
  });
});

describe('KesNodeClient: waiting, stopping, hosts', () => {
  it('waitForKey times out naming the socket when the agent cannot be reached', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    await agent.stop();
    const c = client(timing);
    const d = nextEvent(c, 'disconnected');
    c.start();
    await d;
    await expect(c.waitForKey(50)).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining(`no usable KES key within 50 ms: cannot reach the agent: ${agent.socketPath}: no such socket file`),
    });
  });

  it('waitForKey says the agent has no key', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const { confirms } = pushes(noKey(1));
    const c = client(timing);
    c.start();
    await confirms;
    await expect(c.waitForKey(20)).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/the agent has no active key/) });
    expectCode(() => c.sign(MSG), 'NO_KEY', /no active key/);
  });

  it('waitForKey resolves when a key arrives', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 41, counter: 1, kesPeriod: KP });
    const go = deferred<void>();
    agent.script = async (conn) => {
      await conn.handshake();
      await conn.sendNoKey(1);
      await conn.expectConfirm(1);
      await go.promise;
      await conn.sendKey(2, b);
      await conn.expectConfirm(2);
      await conn.closed();
    };
    const c = client(timing);
    c.start();
    const waiting = c.waitForKey(10_000);
    go.resolve();
    await waiting;
    expect(c.hasKey()).toBe(true);
  });

  it('stop() closes the connection, wipes the key, rejects waiters; the client cannot be restarted', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 42, counter: 1, kesPeriod: KP + 5 }); // held, not usable: waiters stay pending
    const closed = deferred<void>();
    agent.script = async (conn) => {
      await conn.handshake();
      await conn.sendKey(1, b);
      await conn.expectConfirm(1);
      await conn.closed();
      closed.resolve();
    };
    const c = client(timing);
    const installed = nextEvent(c, 'key');
    c.start();
    await installed;
    const waiting = c.waitForKey(60_000).then(() => 'resolved', (e: unknown) => e);
    await c.stop();
    await closed.promise;
    expect(await waiting).toMatchObject({ code: 'CLIENT_STOPPED' });
    expect(c.hasKey()).toBe(false);
    expect(c.connected).toBe(false);
    expectCode(() => c.sign(MSG), 'NO_KEY');
    expectCode(() => c.start(), 'CLIENT_STOPPED');
    await expect(c.waitForKey(10)).rejects.toMatchObject({ code: 'CLIENT_STOPPED' });
    await c.stop(); // idempotent
  });

  it('stop() during a handshake returns promptly without waiting for the timeout', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    agent.script = (conn) => conn.closed();
    const c = client(timing, { handshakeTimeoutMs: 60_000 });
    c.start();
    await agent.nextConnection();
    const events = record(c);
    await c.stop();
    expect(events).toEqual([]);
  });

  it('a host listener that throws does not break key handling (it becomes a process warning)', async () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    const b = bundle({ kesFill: 43, counter: 1, kesPeriod: KP });
    const { confirms } = pushes(key(1, b));
    const c = client(timing);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    c.on('key', () => {
      throw new Error('host bug');
    });
    c.start();
    expect((await confirms)[0]!.result).toBe(0);
    expect(warn).toHaveBeenCalledWith("a 'key' listener threw: Error: host bug", { code: 'KES_AGENT_LISTENER_THREW' });
    expect(c.hasKey()).toBe(true);
  });

  it('refuses bad construction arguments', () => {
    const timing = timingAtPeriod({ kesPeriod: KP });
    expectCode(() => new KesNodeClient({ socketPath: '', timing }), 'INVALID_ARGUMENT');
    expectCode(() => new KesNodeClient({ socketPath: 'x', timing, coldVk: new Uint8Array(31) }), 'INVALID_LENGTH');
    expectCode(() => new KesNodeClient({ socketPath: 'x', timing, backoff: { initialMs: 0 } }), 'OUT_OF_RANGE');
    expectCode(() => new KesNodeClient({ socketPath: 'x', timing, handshakeTimeoutMs: 0 }), 'OUT_OF_RANGE');
  });
});
