/**
 * The leak test: the whole flow, twice (an agent with text logs and one with JSON
 * logs, side by side), with the agents at --log-level debug and every command in its text and
 * --json forms. Everything every process wrote to stdout/stderr is kept byte for byte, and so is
 * every file in the temp dir; then each is searched for any 16 contiguous secret bytes
 * (test/helpers/leak-scan.ts: a window counts only if all its bytes are secret), raw or turned
 * into a string. Controls prove the scanner finds a planted real secret in every form, and does
 * not flag public vk bytes with one secret byte beside them.
 *
 * Timing: a test chain (test/helpers/test-chain.ts) with 1.2-s periods, planned from its clock
 * with the shared 4x margin over a loaded machine's spawn time: each opcert starts far enough
 * ahead that the node receives the key at evolution 0 (EVOLUTION_0_WINDOW_MS), and the periods
 * are long enough that the keys stay valid for the rest of the flow (SPAWNS_AFTER_START). The
 * evolutions are waited for by sequence: the agent's second "key evolved" after the upload.
 *
 * The secrets come out of band, as only a test may take them: the KES key as a node receives it
 * (over the service socket, into this process), carried forward through every evolution 0..63
 * the same way the agent and the node evolve it; and the cold key's seed from the file kes-cold
 * wrote. The cold skey file itself is the one place its seed may be, so it is not scanned.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KesNodeClient } from '../../src/client';
import { readColdSigningKeyFile, readColdVerificationKeyFile } from '../../src/cardano';
import { bytesEqual } from '../../src/crypto/bytes';
import { KesSignKey } from '../../src/crypto/kes';
import { KES_MAX_EVOLUTION, KES_SEED_BYTES, KES_SIGN_KEY_BYTES, r1Offset, vk0Offset, vk1Offset } from '../../src/crypto/kes/params';
import { loadSodium } from '../../src/crypto/sodium';
import type { KeyMessage } from '../../src/protocol';
import { Recorder, type CapturedProc, type CapturedStream } from '../helpers/capture';
import { BIN, cleanEnv, tempDir, type OutputMark } from '../helpers/processes';
import { handshakeRaw } from '../helpers/raw-client';
import { LEAK_WINDOW_BYTES, plant, SecretWindows, type LeakForm } from '../helpers/leak-scan';
import { periodForSpawns, testChain, type TestChain } from '../helpers/test-chain';

/**
 * The opcert's start is chosen so that the agent holds the key at evolution 0 for at least this
 * long after the choice: long enough for issue-opcert, import-opcert and upload (three spawns;
 * the node taking the key is a socket exchange in this process), so the node receives evolution
 * 0, the very bytes the agent generated and held staged.
 */
const EVOLUTION_0_WINDOW_MS = periodForSpawns(3);
/** Evolutions to watch happen in each round. */
const EVOLUTIONS = 2;
const MAX_KES_EVOLUTIONS = 62;
/**
 * Spawns that may come after the first opcert's start, while its key must still be valid: the
 * second round's period (2), issue, import and upload (3), the inspects (8), and per round status
 * twice, sign, two drops and status twice (14).
 */
const SPAWNS_AFTER_START = 27;
/**
 * Short, so that the evolutions follow soon after the window; long enough that the keys stay
 * valid (MAX_KES_EVOLUTIONS periods from the opcert's start) for the rest of the flow:
 * periodForSpawns(SPAWNS_AFTER_START) = 64.8 s < (62 - 2 evolutions) × 1.2 s = 72 s.
 */
const PERIOD_MS = 1_200;
/** Beyond when an event is due (a period boundary passed): a safety bound, never a wait. */
const OVERDUE_MS = 30_000;

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

/** One run of the flow: its own agent (logging in `format`), watcher, node and sockets. */
interface Round {
  format: 'text' | 'json';
  /** `--json` in the json round. */
  json: string[];
  env: NodeJS.ProcessEnv;
  serviceSocket: string;
  vkey: string;
  opcert: string;
  agent?: CapturedProc;
  watch?: CapturedProc;
  node?: KesNodeClient;
  /** The opcert's start period. */
  start?: number;
  /** The agent's stdout mark() before the upload. */
  uploadMark?: OutputMark;
  /** The KES key the node received, at evolution 0 (TEST-held copy). */
  received?: Uint8Array;
  /** What the agent served after EVOLUTIONS periods, and at which evolution. */
  later?: { evolution: number; raw: Uint8Array };
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
  const messageFile = path.join(dir, 'header.bin');
  const rounds: Round[] = (['text', 'json'] as const).map((format) => ({
    format,
    json: format === 'json' ? ['--json'] : [],
    env: cleanEnv({ KES_AGENT_CONTROL_SOCKET: path.join(dir, `control-${format}.sock`), KES_AGENT_SERVICE_SOCKET: path.join(dir, `service-${format}.sock`) }),
    serviceSocket: path.join(dir, `service-${format}.sock`),
    vkey: path.join(dir, `kes-${format}.vkey`),
    opcert: path.join(dir, `kes-${format}.opcert`),
  }));

  const ok = async (r: Round | undefined, bin: string, ...args: string[]): Promise<string> => {
    const res = await rec.run(bin, args, { env: r?.env ?? cleanEnv() });
    if (res.code !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
    return res.stdout;
  };
  /** A read-only command, in both output forms. */
  const both = async (r: Round | undefined, bin: string, ...args: string[]): Promise<string> => {
    await ok(r, bin, ...args);
    return ok(r, bin, ...args, '--json');
  };
  const activeEvolution = async (r: Round): Promise<number | undefined> =>
    (JSON.parse(await both(r, BIN.ctl, 'status')) as { active: { evolution: number } | null }).active?.evolution;
  /**
   * Both rounds at once: their agents are independent, and nothing here is bound to a period.
   * Both run to their end before a failure is thrown, so no command is left running at clean-up.
   */
  const eachRound = async (f: (r: Round) => Promise<void>): Promise<void> => {
    const failed = (await Promise.allSettled(rounds.map(f))).find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  };

  try {
    expect(PERIOD_MS * (MAX_KES_EVOLUTIONS - EVOLUTIONS)).toBeGreaterThan(periodForSpawns(SPAWNS_AFTER_START));
    const chain: TestChain = testChain(dir, { periodMs: PERIOD_MS, maxKESEvolutions: MAX_KES_EVOLUTIONS });
    const genesis = chain.args;
    fs.writeFileSync(messageFile, 'a block header body');
    await ok(undefined, BIN.cold, 'keygen', '--cold-vkey', coldVkey, '--cold-skey', coldSkey, '--counter', counter);
    await both(undefined, BIN.cold, 'inspect', coldSkey);
    await both(undefined, BIN.cold, 'inspect', coldVkey);

    try {
      // ---- the agents, each with a watcher and a node, and a staged key ----
      await eachRound(async (r) => {
        r.agent = rec.start(BIN.agent, ['run', '--cold-vkey', coldVkey, ...genesis, '--log-level', 'debug', '--log-format', r.format], r.env);
        r.watch = rec.start(BIN.node, ['watch', ...r.json, '--socket', r.serviceSocket, '--cold-vkey', coldVkey, ...genesis], r.env);
        r.node = new KesNodeClient({ socketPath: r.serviceSocket, timing: chain.timing, coldVk: readColdVerificationKeyFile(coldVkey), backoff: { initialMs: 50, maxMs: 500 } });
        await r.agent.waitFor('agent: started');
        r.node.start();
        await both(r, BIN.ctl, 'status');
        await ok(r, BIN.ctl, 'keygen', '--out', r.vkey, ...r.json);
        await ok(r, BIN.ctl, 'keygen', '--force', '--overwrite', '--out', r.vkey, ...r.json); // the first staged key is wiped unseen
        await both(r, BIN.ctl, 'export-verkey');
        await ok(r, BIN.ctl, 'export-verkey', '--out', path.join(dir, `exported-${r.format}.vkey`));
      });

      // ---- certify and upload: one round at a time, each inside its evolution-0 window ----
      for (const r of rounds) {
        const before = chain.periodAt();
        const reported = (JSON.parse(await both(r, BIN.cold, 'period', ...genesis)) as { kesPeriod: number }).kesPeriod;
        expect(reported).toBeGreaterThanOrEqual(before);
        expect(reported).toBeLessThanOrEqual(chain.periodAt());
        // The agent serves evolution 0 until period start + 1 begins: at least the window from now.
        const chosenAt = Date.now();
        let start = chain.periodAt(chosenAt);
        while (chain.startOf(start + 1) - chosenAt < EVOLUTION_0_WINDOW_MS) start++;
        r.start = start;
        await ok(r, BIN.cold, 'issue-opcert', '--kes-vkey', r.vkey, '--cold-skey', coldSkey, '--counter', counter, `--kes-period=${start}`, '--out', r.opcert);
        await ok(r, BIN.ctl, 'import-opcert', r.opcert, ...r.json);
        r.uploadMark = r.agent!.mark();
        await ok(r, BIN.ctl, 'upload', ...r.json);
        const first = await takeKey(r.serviceSocket);
        r.received = first.raw;
        // Evolution 0: the very bytes the agent generated and held staged (the opcert has not started).
        const used = `${Date.now() - chosenAt} of ${EVOLUTION_0_WINDOW_MS} ms`;
        expect({ format: r.format, evolution: first.evolution, used }).toEqual({ format: r.format, evolution: 0, used });
      }

      // ---- while the opcerts' starts come: read-only commands on what was written ----
      await eachRound(async (r) => {
        await both(r, BIN.cold, 'inspect', r.opcert, '--cold-vkey', coldVkey);
        await both(r, BIN.cold, 'inspect', counter);
      });

      // ---- the key evolves at real period boundaries, in the agent, the watcher and the node ----
      await eachRound(async (r) => {
        await r.node!.waitForKey(chain.startOf(r.start!) - Date.now() + OVERDUE_MS);
        // The EVOLUTIONS-th "key evolved" after the upload; due when period start + EVOLUTIONS begins.
        await r.agent!.waitFor('agent: key evolved', { count: EVOLUTIONS, after: r.uploadMark!, timeoutMs: chain.startOf(r.start! + EVOLUTIONS) - Date.now() + OVERDUE_MS });
        const evolution = (await activeEvolution(r))!;
        expect(evolution).toBeGreaterThanOrEqual(EVOLUTIONS);
        await ok(r, BIN.node, 'sign', '--message', messageFile, '--socket', r.serviceSocket, '--cold-vkey', coldVkey, ...genesis, ...r.json);
        const later = await takeKey(r.serviceSocket);
        r.later = { evolution: later.evolution, raw: later.raw };
        await ok(r, BIN.ctl, 'drop-active', ...r.json);
        await ok(r, BIN.ctl, 'drop-staged', ...r.json);
        await both(r, BIN.ctl, 'status');
      });
    } finally {
      await Promise.all(rounds.map(async (r) => {
        await r.node?.stop();
        await r.watch?.stop();
        await r.agent?.stop();
      }));
    }
    for (const r of rounds) {
      expect({ format: r.format, exitCode: r.agent!.child.exitCode }).toEqual({ format: r.format, exitCode: 0 });
      const log = r.agent!.stdout;
      // The most verbose level really was on: per-node confirmations are debug lines.
      expect(log).toContain('service: node confirmed');
      if (r.format === 'json') expect(log.trim().split('\n').every((l) => l.startsWith('{'))).toBe(true);
    }

    // ---- the secrets, out of band ----
    const windows = new SecretWindows();
    const sk = new Uint8Array(KES_SIGN_KEY_BYTES);
    try {
      for (const r of rounds) {
        const key = KesSignKey.fromBytes(r.received!, 0);
        try {
          for (let t = 0; ; t++) {
            key.writeRaw(sk);
            windows.addKesSignKey(`${r.format} round: KES sk at evolution ${t}`, sk);
            // Our evolution of the received key is the agent's: same bytes at the same evolution.
            if (t === r.later!.evolution) expect(bytesEqual(sk, r.later!.raw)).toBe(true);
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
      // At least, for 2 rounds × 64 evolutions: every window of the leaf seed (17) and of its
      // expanded secret (49), all distinct; more where live r1 seeds add theirs.
      const perSecret = (bytes: number): number => bytes - LEAK_WINDOW_BYTES + 1;
      expect(windows.size).toBeGreaterThanOrEqual(2 * 64 * (perSecret(KES_SEED_BYTES) + perSecret(64)));

      // ---- controls: what the scanner must find, and what it must not ----
      const agentLog = rec.streams.find((s) => s.name.startsWith('kes-agent run') && s.name.endsWith('stdout'))!;
      const host = agentLog.bytes.toString('latin1');
      const forms = ['raw', 'hex', 'hex-upper', 'hex-separated', 'base64', 'base64url', 'decimal'] as const;
      // The KES key at evolution 0, as the text round received it: every r1 is live.
      const k0 = rounds[0]!.received!;
      const expanded = createHash('sha512').update(k0.subarray(0, KES_SEED_BYTES)).digest();
      const coldForControl = readColdSigningKeyFile(coldSkey);
      // Real leaks: 16 bytes from inside live secrets.
      const secret: [string, Uint8Array][] = [
        ['leaf seed', Uint8Array.from(k0.subarray(0, 16))],
        ['leaf seed end + level-1 r1 start (adjacent secrets)', Uint8Array.from(k0.subarray(24, 40))],
        ['level-4 r1 seed', Uint8Array.from(k0.subarray(r1Offset(4) + 8, r1Offset(4) + 24))],
        ['expanded leaf secret', Uint8Array.from(expanded.subarray(20, 36))],
        ['cold seed', Uint8Array.from(coldForControl.seed.subarray(16, 32))],
      ];
      // Public bytes with a secret byte at one end: the false positive `kes-node sign` output hit
      // (a signature carries every vk0/vk1, and the byte before or after may equal a seed's by chance).
      const notSecret: [string, Uint8Array][] = [
        ['last byte of level-3 r1 + 15 bytes of its vk0', Uint8Array.from(k0.subarray(vk0Offset(3) - 1, vk0Offset(3) + 15))],
        ['15 bytes of level-3 vk1 + first byte of level-4 r1', Uint8Array.from(k0.subarray(r1Offset(4) - 15, r1Offset(4) + 1))],
        ['16 bytes of level-2 vk1', Uint8Array.from(k0.subarray(vk1Offset(2), vk1Offset(2) + 16))],
      ];
      expanded.fill(0);
      coldForControl.destroy();
      try {
        for (const [what, w] of secret) {
          for (const form of forms) {
            const hits = windows.scan('control', plant(host, w, form));
            const expected: LeakForm = form === 'hex-upper' ? 'hex' : form === 'base64url' ? 'base64' : form;
            expect({ what, form, found: hits.some((h) => h.form === expected) }).toEqual({ what, form, found: true });
          }
        }
        for (const [what, w] of notSecret) {
          for (const form of forms) {
            const hits = windows.scan('control', plant(host, w, form));
            expect({ what, form, hits }).toEqual({ what, form, hits: [] });
          }
        }
      } finally {
        for (const [, w] of [...secret, ...notSecret]) w.fill(0);
      }
      // And on a real file: the cold skey file is where its seed must be (as cborHex), and the scan finds it.
      expect(windows.scan('cold.skey', fs.readFileSync(coldSkey)).some((h) => h.form === 'hex' && h.secret.startsWith('cold signing key seed'))).toBe(true);

      // ---- the scan ----
      const files: CapturedStream[] = filesUnder(dir)
        .filter((f) => f !== coldSkey)
        .map((f) => ({ name: `file ${path.relative(dir, f)}`, bytes: fs.readFileSync(f) }));
      const everything = [...rec.streams, ...files];
      const hits = everything.flatMap((s) => windows.scan(s.name, s.bytes));
      const scanned = `${rec.streams.length} streams + ${files.length} files, ${everything.reduce((n, s) => n + s.bytes.length, 0)} bytes, ${windows.size} secret windows`;
      expect({ scanned, hits }).toEqual({ scanned, hits: [] });
      // The scan covered real output: the agent's debug logs, both CLIs' JSON, the watcher's events.
      expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['file cold.vkey', 'file cold.counter', 'file kes-text.opcert', 'file kes-json.vkey']));
      expect(rec.streams.filter((s) => s.bytes.length > 0).length).toBeGreaterThan(40);
    } finally {
      sk.fill(0);
    }
  } finally {
    for (const r of rounds) {
      r.received?.fill(0);
      r.later?.raw.fill(0);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
