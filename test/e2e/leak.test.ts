/**
 * The leak test (issue 4 §4): the whole flow, twice (text logs, then JSON logs), with the agent
 * at --log-level debug and every command in its text and --json forms. Everything every process
 * wrote to stdout/stderr is kept byte for byte, and so is every file in the temp dir; then each
 * is searched for any 16-byte window of any secret, raw or turned into a string.
 *
 * The secrets come out of band, as only a test may take them: the KES key as a node receives it
 * (over the service socket, into this process), carried forward through every evolution 0..63
 * the same way the agent and the node evolve it; and the cold key's seed from the file kes-cold
 * wrote. The cold skey file itself is the one place its seed may be, so it is not scanned.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KesNodeClient } from '../../src/client';
import { readColdSigningKeyFile, readColdVerificationKeyFile } from '../../src/cardano';
import { bytesEqual } from '../../src/crypto/bytes';
import { KesSignKey } from '../../src/crypto/kes';
import { KES_MAX_EVOLUTION, KES_SIGN_KEY_BYTES, r1Offset } from '../../src/crypto/kes/params';
import { loadSodium } from '../../src/crypto/sodium';
import type { KeyMessage } from '../../src/protocol';
import { readGenesisFile } from '../../src/time';
import { shortPeriodGenesis } from '../helpers/agent-env';
import { Recorder, type CapturedStream } from '../helpers/capture';
import { BIN, cleanEnv, tempDir } from '../helpers/processes';
import { handshakeRaw } from '../helpers/raw-client';
import { plant, SecretWindows, type LeakForm } from '../helpers/leak-scan';

/** Long enough for the steps between issuing the opcert and the upload to fit in one period on a loaded machine. */
const PERIOD_MS = 2_000;
/** The opcert starts this many periods ahead, so the node receives the key at evolution 0 (the staged key's bytes). */
const START_AHEAD = 3;
/** Evolutions to watch happen in each round. */
const EVOLUTIONS = 2;

interface Round {
  format: 'text' | 'json';
  /** The KES key the node received, at evolution 0 (TEST-held copy). */
  received: Uint8Array;
  /** What the agent served after EVOLUTIONS periods, and at which evolution. */
  later: { evolution: number; raw: Uint8Array };
}

/** What a node connecting now receives: a test-held copy of the agent's key, confirmed, connection closed. */
async function takeKey(serviceSocket: string): Promise<{ evolution: number; raw: Uint8Array; hotVk: Uint8Array }> {
  const { conn, reply } = await handshakeRaw(serviceSocket, 'service');
  try {
    expect(reply.type).toBe('welcome');
    const m = await conn.receive(10_000);
    expect(m.type).toBe('key');
    const k = m as KeyMessage;
    const raw = Uint8Array.from(k.secret);
    k.secret.fill(0);
    await conn.send({ type: 'confirm', seq: k.seq, result: 0 });
    return { evolution: k.evolution, raw, hotVk: k.opcert.hotVk };
  } finally {
    conn.destroy();
  }
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .map((d) => path.join(d.parentPath ?? d.path, d.name))
    .filter((p) => fs.lstatSync(p).isFile());
}

beforeAll(async () => {
  await loadSodium();
});

test('no 16-byte window of any secret appears in any output or file of the whole flow', async () => {
  const dir = tempDir('kes-leak-');
  const rec = new Recorder();
  const coldVkey = path.join(dir, 'cold.vkey');
  const coldSkey = path.join(dir, 'cold.skey');
  const counter = path.join(dir, 'cold.counter');
  const controlSocket = path.join(dir, 'control.sock');
  const serviceSocket = path.join(dir, 'service.sock');
  const env = cleanEnv({ KES_AGENT_CONTROL_SOCKET: controlSocket, KES_AGENT_SERVICE_SOCKET: serviceSocket });
  const genesis = shortPeriodGenesis(dir, { periodMs: PERIOD_MS, maxKESEvolutions: 62 });
  const timing = readGenesisFile(genesis[1]!);
  const messageFile = path.join(dir, 'header.bin');
  fs.writeFileSync(messageFile, 'a block header body');
  const rounds: Round[] = [];

  const ok = async (bin: string, ...args: string[]): Promise<string> => {
    const r = await rec.run(bin, args, { env });
    if (r.code !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  /** A read-only command, in both output forms. */
  const both = async (bin: string, ...args: string[]): Promise<string> => {
    await ok(bin, ...args);
    return ok(bin, ...args, '--json');
  };
  const period = async (): Promise<number> => (JSON.parse(await both(BIN.cold, 'period', ...genesis)) as { kesPeriod: number }).kesPeriod;
  const activeEvolution = async (): Promise<number | undefined> =>
    (JSON.parse(await both(BIN.ctl, 'status')) as { active: { evolution: number } | null }).active?.evolution;

  try {
    await ok(BIN.cold, 'keygen', '--cold-vkey', coldVkey, '--cold-skey', coldSkey, '--counter', counter);
    await both(BIN.cold, 'inspect', coldSkey);
    await both(BIN.cold, 'inspect', coldVkey);

    for (const format of ['text', 'json'] as const) {
      const json = format === 'json' ? ['--json'] : [];
      const agent = rec.start(BIN.agent, ['run', '--cold-vkey', coldVkey, ...genesis, '--log-level', 'debug', '--log-format', format], env);
      const watch = rec.start(BIN.node, ['watch', ...json, '--socket', serviceSocket, '--cold-vkey', coldVkey, ...genesis], env);
      const node = new KesNodeClient({ socketPath: serviceSocket, timing, coldVk: readColdVerificationKeyFile(coldVkey), backoff: { initialMs: 50, maxMs: 500 } });
      try {
        await agent.waitFor('agent: started');
        node.start();
        await both(BIN.ctl, 'status');
        const vkey = path.join(dir, `kes-${format}.vkey`);
        const opcert = path.join(dir, `kes-${format}.opcert`);
        await ok(BIN.ctl, 'keygen', '--out', vkey, ...json);
        await ok(BIN.ctl, 'keygen', '--force', '--out', vkey, ...json); // the first staged key is wiped unseen
        await both(BIN.ctl, 'export-verkey');
        await ok(BIN.ctl, 'export-verkey', '--out', path.join(dir, `exported-${format}.vkey`));
        await ok(BIN.cold, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', coldSkey, '--counter', counter, `--kes-period=${(await period()) + START_AHEAD}`, '--out', opcert);
        await ok(BIN.ctl, 'import-opcert', opcert, ...json);
        await ok(BIN.ctl, 'upload', ...json);
        const first = await takeKey(serviceSocket);
        // Evolution 0: the very bytes the agent generated and held staged (the opcert has not started).
        expect(first.evolution).toBe(0);
        await both(BIN.cold, 'inspect', opcert, '--cold-vkey', coldVkey);
        await both(BIN.cold, 'inspect', counter);
        await node.waitForKey(START_AHEAD * PERIOD_MS + 10_000);

        // Let the key evolve at real period boundaries, in the agent, the watcher and the node.
        await agent.waitFor('agent: key evolved', { count: EVOLUTIONS, timeoutMs: (START_AHEAD + EVOLUTIONS + 2) * PERIOD_MS });
        const evolution = (await activeEvolution())!;
        expect(evolution).toBeGreaterThanOrEqual(EVOLUTIONS);
        await ok(BIN.node, 'sign', '--message', messageFile, '--socket', serviceSocket, '--cold-vkey', coldVkey, ...genesis, ...json);
        const later = await takeKey(serviceSocket);
        rounds.push({ format, received: first.raw, later: { evolution: later.evolution, raw: later.raw } });

        await ok(BIN.ctl, 'drop-active', ...json);
        await ok(BIN.ctl, 'drop-staged', ...json);
        await both(BIN.ctl, 'status');
      } finally {
        await node.stop();
        await watch.stop();
        await agent.stop();
      }
      expect(agent.child.exitCode).toBe(0);
      const log = agent.stdout.toString('utf8');
      // The most verbose level really was on: per-node confirmations are debug lines.
      expect(log).toContain('service: node confirmed');
      if (format === 'json') expect(log.trim().split('\n').every((l) => l.startsWith('{'))).toBe(true);
    }

    // ---- the secrets, out of band ----
    const windows = new SecretWindows();
    const sk = new Uint8Array(KES_SIGN_KEY_BYTES);
    try {
      for (const r of rounds) {
        const key = KesSignKey.fromBytes(r.received, 0);
        try {
          for (let t = 0; ; t++) {
            key.writeRaw(sk);
            windows.addKesSignKey(`${r.format} round: KES sk at evolution ${t}`, sk);
            // Our evolution of the received key is the agent's: same bytes at the same evolution.
            if (t === r.later.evolution) expect(bytesEqual(sk, r.later.raw)).toBe(true);
            if (t === KES_MAX_EVOLUTION) break;
            key.evolve();
          }
        } finally {
          key.destroy();
        }
      }
      const cold = readColdSigningKeyFile(coldSkey);
      try {
        windows.addEd25519Seed('cold signing key', cold.seed);
      } finally {
        cold.destroy();
      }
      // 2 rounds × 64 evolutions × (windows touching live seeds + expanded leaf) + the cold key.
      expect(windows.size).toBeGreaterThan(2 * 64 * 100);

      // ---- positive control: the scanner sees a planted window in every form ----
      const agentLog = rec.streams.find((s) => s.name.startsWith('kes-agent run') && s.name.endsWith('stdout'))!;
      const r0 = rounds[0]!;
      const planted: [string, Uint8Array][] = [
        ['leaf seed', r0.received.subarray(0, 16)],
        ['level-4 r1 seed', r0.received.subarray(r1Offset(4) + 8, r1Offset(4) + 24)],
      ];
      const coldForControl = readColdSigningKeyFile(coldSkey);
      try {
        planted.push(['cold seed', Uint8Array.from(coldForControl.seed.subarray(16, 32))]);
      } finally {
        coldForControl.destroy();
      }
      for (const [what, w] of planted) {
        for (const form of ['raw', 'hex', 'hex-upper', 'hex-separated', 'base64', 'base64url', 'decimal'] as const) {
          const hits = windows.scan('control', plant(agentLog.bytes.toString('latin1'), w, form));
          const expected: LeakForm = form === 'hex-upper' ? 'hex' : form === 'base64url' ? 'base64' : form;
          expect({ what, form, found: hits.some((h) => h.form === expected) }).toEqual({ what, form, found: true });
        }
      }
      planted[2]![1].fill(0);
      // And on a real file: the cold skey file is where its seed must be (as cborHex), and the scan finds it.
      expect(windows.scan('cold.skey', fs.readFileSync(coldSkey)).some((h) => h.form === 'hex' && h.secret.startsWith('cold signing key seed'))).toBe(true);

      // ---- the scan ----
      const files: CapturedStream[] = filesUnder(dir)
        .filter((f) => f !== coldSkey)
        .map((f) => ({ name: `file ${path.relative(dir, f)}`, bytes: fs.readFileSync(f) }));
      const everything = [...rec.streams, ...files];
      const hits = everything.flatMap((s) => windows.scan(s.name, s.bytes));
      const bytes = everything.reduce((n, s) => n + s.bytes.length, 0);
      console.log(`leak scan: ${rec.streams.length} streams + ${files.length} files, ${bytes} bytes, ${windows.size} secret windows: ${hits.length} hits`);
      expect(hits).toEqual([]);
      // The scan covered real output: the agent's debug logs, both CLIs' JSON, the watcher's events.
      expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['file cold.vkey', 'file cold.counter', 'file kes-text.opcert', 'file kes-json.vkey']));
      expect(rec.streams.filter((s) => s.bytes.length > 0).length).toBeGreaterThan(40);
    } finally {
      sk.fill(0);
      for (const r of rounds) {
        r.received.fill(0);
        r.later.raw.fill(0);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
