/**
 * The control handler's mapping of the counter floor to the wire (spec/protocol.md §4, §5): a
 * control connection (protocol version 2) gets STATUS_OK_V3 and IMPORT_OK_V2 with the floor; a
 * counter below the floor is OPCERT_COUNTER_TOO_LOW with both numbers. A real agent behind a
 * real control socket, spoken to frame by frame (the handler is given the connection after the
 * version handshake, as the daemon does).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { issueOpcert } from '../../src/cardano/opcert';
import { KesSignKey } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { Agent } from '../../src/machine/agent';
import {
  FramedSocket,
  nativeAccept,
  importReport,
  statusReport,
  WIRE_ERROR_CODES,
  type Message,
  type OutgoingMessage,
} from '../../src/protocol';
import { ControlHandler } from '../../src/server/control-handler';
import type { Logger } from '../../src/platform/logger';
import { ServiceHub } from '../../src/server/service-hub';
import { periodStartMs } from '../../src/time';
import { tempDir } from '../helpers/processes';
import { COLD_SEED, coldVkOf, testTiming } from '../machine/harness';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const timing = testTiming({ maxKESEvolutions: 62, slotsPerKESPeriod: 3600 });
const KP = 100;
/** A fixed instant inside period KP: nothing evolves or expires while the test runs. */
const NOW = periodStartMs(timing, KP) + 1_000;

let dir: string;
let socketPath: string;
let agent: Agent;
let server: net.Server;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  await loadSodium();
  dir = tempDir('kes-status-floor-');
  socketPath = path.join(dir, 'control.sock');
  agent = new Agent({ timing, coldVk: coldVkOf(COLD_SEED), now: () => NOW, generateKey: () => KesSignKey.generate() });
  agent.start();
  const hub = new ServiceHub({ agent, logger: quiet, agentVersion: '0.1.0' });
  const handler = new ControlHandler({ agent, hub, logger: quiet, agentVersion: '0.1.0' });
  server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    void handler.serve(s);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  agent.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A control connection; resolves with the version the agent's WELCOME names. */
async function connect(): Promise<{ conn: FramedSocket; version: number; ask: (m: OutgoingMessage) => Promise<Message> }> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socketPath, () => resolve(s));
    s.once('error', reject);
  });
  expect(nativeAccept('control')).toHaveLength(33); // what the daemon read before handing over
  const conn = new FramedSocket(socket, { receivesSecrets: false });
  const welcome = await conn.receive(5_000);
  if (welcome.type !== 'welcome') throw new Error(`expected WELCOME, got ${welcome.type}`);
  const ask = async (m: OutgoingMessage): Promise<Message> => {
    await conn.send(m);
    return conn.receive(5_000);
  };
  return { conn, version: welcome.version, ask };
}

/** keygen, then the opcert with `counter` for the new staged key, as an IMPORT_OPCERT. */
async function stage(ask: (m: OutgoingMessage) => Promise<Message>, counter: number): Promise<OutgoingMessage> {
  const k = await ask({ type: 'keygen', force: true });
  if (k.type !== 'keygen_ok') throw new Error(`keygen: ${k.type}`);
  return { type: 'import_opcert', opcert: issueOpcert({ hotVk: k.kesVk, counter, kesPeriod: KP, coldSeed: COLD_SEED }) };
}

test('the floor: none on a fresh agent, then the uploaded counter, kept after drop-active', async () => {
  const v2 = await connect();
  try {
    expect(v2.version).toBe(2);

    // Fresh agent: no floor, said as None in both replies.
    const s0 = await v2.ask({ type: 'status' });
    expect(s0).toMatchObject({ type: 'status_ok_v3', counterFloor: null, status: { protocolVersion: 2 }, peers: [] });
    const imported = await v2.ask(await stage(v2.ask, 26));
    expect(imported).toMatchObject({ type: 'import_ok_v2', counter: 26, startKesPeriod: KP, currentKesPeriod: KP, startsInFuture: false, counterFloor: null });
    expect(await v2.ask({ type: 'upload', confirmTimeoutMs: 0 })).toMatchObject({ type: 'upload_ok', counter: 26 });
    expect(await v2.ask({ type: 'drop_active', confirmTimeoutMs: 0 })).toMatchObject({ type: 'dropped', hadKey: true });

    // No key any more, but the floor stays.
    const s1 = await v2.ask({ type: 'status' });
    if (s1.type !== 'status_ok_v3') throw new Error(s1.type);
    expect(s1.counterFloor).toBe(26);
    expect(s1.status.active).toBeNull();
    expect(statusReport(s1)).toMatchObject({ counterFloor: 26, active: null, protocolVersion: 2 });

    // The issue's case: counter 5 after 26 was active, refused, both numbers named.
    const low = await stage(v2.ask, 5);
    for (const c of [v2]) {
      const r = await c.ask(low);
      expect(r).toMatchObject({ type: 'error', code: WIRE_ERROR_CODES.OPCERT_COUNTER_TOO_LOW });
      if (r.type === 'error') expect(r.message).toMatch(/^opcert counter 5 is lower than 26, /);
    }
    const ok = await v2.ask(await stage(v2.ask, 27));
    if (ok.type !== 'import_ok_v2') throw new Error(ok.type);
    expect(ok.counterFloor).toBe(26);
    expect(importReport(ok)).toEqual({ kesVk: ok.kesVk, counter: 27, startKesPeriod: KP, currentKesPeriod: KP, startsInFuture: false, counterFloor: 26 });

  } finally {
    v2.conn.destroy();
  }
});
