/**
 * `npm run fuzz`: random and mutated frames against a running agent's two sockets.
 *
 *     node dist/scripts/fuzz.js [--frames N] [--seed S] [--concurrency C]
 *
 * Starts the BUILT agent (dist/src/bin/kes-agent.js) on mainnet time in a temp dir with a
 * throwaway cold key, stages, certifies and uploads a KES key, and connects one well-behaved node
 * (KesNodeClient) that holds it. Then sends N frames (default 1,000,000) in batches, one batch per
 * connection, C connections in flight on each socket: valid HELLO then garbage, garbage before
 * HELLO, broken HELLOs, and long runs of frames the agent accepts with broken ones mixed in
 * (bit flips, truncation, length-field corruption, kind swaps, trailing bytes, swapped payloads,
 * random frames, loose bytes).
 *
 * Every connection is checked, not only the agent's survival: a model built from the agent's own
 * decoder and handshake (scripts/fuzz/model.ts) says how many replies the agent owes and which
 * ERROR code it must close with, and the agent's answer must match. A batch's frames count as
 * sent once its write completed, also when the agent closes the connection at the first bad one.
 *
 * Afterwards: the agent is alive, `kes-ctl status` answers with the key active, the node still
 * holds the key and signs, a fresh node gets the key, the agent logged no error and wrote nothing
 * to stderr, its RSS (VmRSS) ended within MAX_RSS_GROWTH_MIB of where it started (and, on long
 * runs, within MAX_RSS_STEADY_GROWTH_MIB of where it stood after the first quarter), and its
 * locked memory (VmLck) within MAX_LOCKED_GROWTH_MIB.
 * Exits 1 naming every failed check. Interrupted (Ctrl-C, SIGTERM, SIGHUP), it stops its agent and
 * any command running, removes its temp dir and exits 128 + the signal's number.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChildFailed, ChildGroup, NodeChild, runOk } from './child-process';
import { readColdVerificationKeyFile, readKesVerificationKeyFile } from '../src/cardano';
import { KesNodeClient } from '../src/client';
import { concatBytes, toHex } from '../src/crypto/bytes';
import { verifyKes } from '../src/crypto/kes';
import { releaseSecret } from '../src/crypto/secret-memory';
import { loadSodium } from '../src/crypto/sodium';
import { FrameDecoder, decodeFrame, nativeAccept, wireErrorName, type SocketRole } from '../src/protocol';
import { offeredIds } from '../src/server/version-negotiation';
import { networkTiming } from '../src/time';
import { buildPlan, harmlessFrame, SCENARIOS, type Scenario } from './fuzz/generate';
import { HANDSHAKE_CASES, handshakePlan, type HandshakeCase } from './fuzz/handshake';
import { expectAgent, type Expectation } from './fuzz/model';
import { deriveSeed, Rng } from './fuzz/rng';
import { cpuMs, statusKiB } from './proc-stat';

/** Frames sent when --frames is not given (at least a million). @default 1000000 */
export const DEFAULT_FRAMES = 1_000_000;
/** Connections in flight on each socket at once. The control socket admits 32. @default 4 */
const DEFAULT_CONCURRENCY = 4;
/** Largest --concurrency: the control socket's connection limit minus room for kes-ctl. @default 24 */
const MAX_CONCURRENCY = 24;
/**
 * How far the agent's RSS may end above where it started (idle, before the first frame). Under
 * this load V8 grows its heap lazily and keeps it: measured, RSS climbs from ~66 MiB to a plateau
 * of 140-155 MiB within the first 10-20% of a million frames and stays there (the young
 * generation alone grows to 32 MiB: README, agent benchmarks). @default 128
 */
export const MAX_RSS_GROWTH_MIB = 128;
/** Where the warm reading is taken: after this fraction of the frames. @default 0.25 */
const WARM_FRACTION = 0.25;
/**
 * How far RSS may grow from the warm reading to the end: the leak check. A leak of 64 bytes per
 * frame, or 5 KiB per connection, passes it over the last 75% of a million frames. @default 48
 */
export const MAX_RSS_STEADY_GROWTH_MIB = 48;
/**
 * How far the agent's locked memory (VmLck: key arenas, libsodium's heap) may grow. Live secret
 * buffers are bounded by the connections: each may hold one partial KEY-kind payload (64 KiB) at
 * a time, and MAX_CONCURRENCY × 2 sockets × 64 KiB is 3 MiB. A payload that is never released
 * (the bug fixed in FramedSocket) passes this within a few thousand KEY-kind frames. @default 4
 */
export const MAX_LOCKED_GROWTH_MIB = 4;
/** Runs shorter than this skip the steady check: the heap is still finding its size. @default 200000 */
const MIN_FRAMES_FOR_STEADY_RSS_CHECK = 200_000;
/** How long the agent has to answer or close one connection. @default 20000 */
const CONNECTION_TIMEOUT_MS = 20_000;
/** Replacements tried for a unit that decodes to a state-changing control request. @default 8 */
const MAX_HAZARD_RETRIES = 8;
/** How often the agent's RSS is sampled. @default 250 */
const RSS_SAMPLE_MS = 250;
/** How often progress is printed. @default 2000 */
const PROGRESS_MS = 2_000;
/**
 * After the last connection, the final RSS and VmLck readings are retaken until both are within
 * their limits, for at most this long (pending GC, sockets still closing). A bound, not a pause: a
 * run within the limits goes on at once. Once the frames stop the readings only fall, so the first
 * one within the limits is no kinder than one taken at the end of the bound. @default 5000
 */
const SETTLE_MS = 5_000;
/** How often the settling readings are retaken. @default 100 */
const SETTLE_POLL_MS = 100;
/** An interrupted fuzz waits this long for its agent and commands to stop before it kills them. @default 5000 */
const INTERRUPT_STOP_MS = 5_000;
/** One setup command may take this long. @default 30000 */
const STEP_TIMEOUT_MS = 30_000;
/** How long the agent may take to start, and nodes to get the key. @default 15000 */
const START_TIMEOUT_MS = 15_000;
/** Findings printed in full (the rest are counted). @default 5 */
const MAX_FINDINGS_SHOWN = 5;
/** Bytes of a failing connection's batch shown in hex (fuzz data, never a key). @default 256 */
const SHOWN_BATCH_BYTES = 256;
/** Agent log lines shown in the failure report. @default 40 */
const LOG_TAIL_LINES = 40;
/** Characters of the agent's output kept (its stdout for the failure report's last lines, its stderr for the check). @default 65536 */
const AGENT_OUTPUT_KEPT_CHARS = 65_536;
/** Bytes of the message a node signs in the checks. @default 64 */
const CHECK_MESSAGE_BYTES = 64;

const ROOT = fs.existsSync(path.join(__dirname, '..', 'package.json')) ? path.join(__dirname, '..') : path.join(__dirname, '..', '..');
const BIN = {
  cold: path.join(ROOT, 'dist', 'src', 'bin', 'kes-cold.js'),
  agent: path.join(ROOT, 'dist', 'src', 'bin', 'kes-agent.js'),
  ctl: path.join(ROOT, 'dist', 'src', 'bin', 'kes-ctl.js'),
} as const;

class Failure extends Error {}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  frames: number;
  seed: number;
  concurrency: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { frames: DEFAULT_FRAMES, seed: crypto.randomBytes(4).readUInt32BE(0), concurrency: DEFAULT_CONCURRENCY };
  const integer = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (v === undefined || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new Failure(`${flag}: expected an integer ${fmt(min)}..${fmt(max)}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '--frames') o.frames = integer(flag, value(), 1, Number.MAX_SAFE_INTEGER);
    else if (flag === '--seed') o.seed = integer(flag, value(), 0, 0xffffffff);
    else if (flag === '--concurrency') o.concurrency = integer(flag, value(), 1, MAX_CONCURRENCY);
    else if (flag === '--help' || flag === '-h') {
      say('usage: node dist/scripts/fuzz.js [--frames N] [--seed S] [--concurrency C]');
      process.exit(0);
    } else throw new Failure(`unknown option ${JSON.stringify(flag)}; expected --frames, --seed or --concurrency`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Processes


/** The agent and the command running: an interrupted fuzz stops them before it removes the temp dir. */
const children = new ChildGroup();

/** Run a built binary to completion; its stdout, or ChildFailed naming the command. */
async function run(bin: string, args: string[]): Promise<string> {
  return (await runOk(`${path.basename(bin)} ${args[0] ?? ''}`, [bin, ...args], { cwd: ROOT, timeoutMs: STEP_TIMEOUT_MS, group: children })).stdout;
}

/** The agent's log lines counted by level, the first error lines kept for the report. */
class LogLevels {
  readonly counts = new Map<string, number>();
  readonly errorLines: string[] = [];

  add(line: string): void {
    const level = /"level":"(\w+)"/.exec(line)?.[1] ?? /^\S+\s+(debug|info|warn|error)\b/.exec(line)?.[1] ?? 'other';
    this.counts.set(level, (this.counts.get(level) ?? 0) + 1);
    if (level === 'error' && this.errorLines.length < MAX_FINDINGS_SHOWN) this.errorLines.push(line);
  }
}

/** A reading of a process that is gone is undefined. */
function whileAlive(read: () => number): number | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds `pid` has used, or undefined when the process is gone. */
const cpuSeconds = (pid: number): number | undefined => whileAlive(() => cpuMs(pid) / 1000);
const rssKib = (pid: number): number | undefined => whileAlive(() => statusKiB(pid, 'VmRSS'));
const lockedKib = (pid: number): number | undefined => whileAlive(() => statusKiB(pid, 'VmLck'));

// ---------------------------------------------------------------------------------------------
// One connection

interface Finding {
  what: string;
  role: SocketRole;
  connection: number;
  scenario: Scenario | 'handshake';
  batch: Uint8Array;
}

interface Observed {
  /** Whole frames the agent sent back. */
  frames: number;
  /** The code of the agent's last frame when it was ERROR. */
  lastErrorCode: number | undefined;
  closedByAgent: boolean;
  written: boolean;
  timedOut: boolean;
  /** The agent sent bytes this client could not decode. */
  undecodable: boolean;
}

/**
 * Send one answer to the version offer, half-close, and count (then wipe: a Haskell service
 * client is sent the key) the bytes the agent sends until it closes.
 */
function handshakeExchange(socketPath: string, answer: Uint8Array): Promise<{ bytes: number; timedOut: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let timedOut = false;
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, CONNECTION_TIMEOUT_MS);
    socket.on('connect', () => socket.end(answer));
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      chunk.fill(0);
    });
    socket.on('error', () => undefined); // a reset after the agent's close is a close too
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ bytes, timedOut });
    });
  });
}

/**
 * Send one batch, read what the agent answers until it closes or has sent all it owes. The
 * batch follows the version handshake's answer that picks our protocol (spec/protocol.md §4), and
 * the agent's offer is skipped: the fuzzed bytes are what reaches our protocol's decoder.
 */
function exchange(socketPath: string, role: SocketRole, batch: Uint8Array, expected: Expectation): Promise<Observed> {
  return new Promise((resolve) => {
    const o: Observed = { frames: 0, lastErrorCode: undefined, closedByAgent: false, written: false, timedOut: false, undecodable: false };
    const decoder = new FrameDecoder();
    const socket = net.connect(socketPath);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      decoder.destroy();
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => {
      o.timedOut = true;
      finish();
    }, CONNECTION_TIMEOUT_MS);
    // A connection the agent keeps open is done once the batch is written and everything owed is back.
    const answered = (): void => {
      if (expected.closeCode === undefined && o.frames >= expected.replies && o.written) finish();
    };
    let offerLeft = 4 + 32 * offeredIds(role).length;
    socket.on('connect', () =>
      socket.write(Buffer.concat([nativeAccept(role), batch]), (err) => {
        o.written = err === undefined || err === null;
        answered();
      }),
    );
    socket.on('data', (whole: Buffer) => {
      const skip = Math.min(offerLeft, whole.length);
      offerLeft -= skip;
      const chunk = whole.subarray(skip);
      if (chunk.length === 0) return;
      decoder.push(chunk); // copies, then wipes the chunk: the service socket's KEY push is in it
      try {
        for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
          let m;
          try {
            m = decodeFrame(f);
          } finally {
            releaseSecret(f.payload);
          }
          o.frames++;
          o.lastErrorCode = m.type === 'error' ? m.code : undefined;
          if (m.type === 'key') releaseSecret(m.secret);
        }
      } catch {
        o.undecodable = true;
        finish();
        return;
      }
      answered();
    });
    socket.on('end', () => {
      o.closedByAgent = true;
      finish();
    });
    // The agent closing while our batch is still unread on its side resets the connection
    // instead of ending it (the kernel's choice, not the agent's): that is its close too. Found
    // by this fuzzer once in ~10,000 connections, with a 52 KB batch cut at its first frame.
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') o.closedByAgent = true;
    }); // 'close' follows
    socket.on('close', finish);
  });
}

/**
 * The agent closed at the right frame, after every reply it owed, but its ERROR never arrived.
 * Found by this fuzzer (2–4 per million frames): the handlers destroyed the socket right after
 * starting closeWithError(), discarding an ERROR the client had not read yet. FramedSocket now
 * lingers ERROR_LINGER_MS after a closing ERROR; this stays a failure so it cannot come back.
 */
const ERROR_DROPPED = 'closed at the expected frame without sending its ERROR';

/** What is wrong with the agent's answer, or undefined when it is what the model says. */
function verdict(expected: Expectation, o: Observed): string | undefined {
  const name = (code: number | undefined): string => (code === undefined ? 'none' : `${wireErrorName(code) ?? 'unknown'} (${code})`);
  if (o.undecodable) return 'the agent sent a frame this client cannot decode';
  if (o.timedOut) return `no answer within ${CONNECTION_TIMEOUT_MS} ms (got ${o.frames} frames, expected ${expected.replies}${expected.closeCode === undefined ? '' : ' + ERROR'})`;
  if (!o.written) return 'the batch could not be written';
  if (expected.closeCode === undefined) {
    // A refused request (EXPORT_VERKEY with nothing staged) is answered with ERROR too, and the
    // connection stays open: only the count and the close tell.
    if (o.closedByAgent) return `the agent closed (last frame ERROR ${name(o.lastErrorCode)}) where the model expects the connection kept open`;
    if (o.frames !== expected.replies) return `${o.frames} frames back where ${expected.replies} were expected`;
    return undefined;
  }
  if (!o.closedByAgent) return `the agent did not close; expected ERROR ${name(expected.closeCode)}`;
  if (o.lastErrorCode === undefined && o.frames === expected.replies) return ERROR_DROPPED;
  if (o.lastErrorCode !== expected.closeCode) return `closed with ERROR ${name(o.lastErrorCode)}; expected ${name(expected.closeCode)}`;
  if (o.frames !== expected.replies + 1) return `${o.frames} frames back where ${expected.replies} + ERROR were expected`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The run

/** Every this-many-th connection fuzzes the version handshake and the Haskell protocols behind it. @default 10 */
const HANDSHAKE_EVERY = 10;

interface Stats {
  handshakes: Record<HandshakeCase, number>;
  framesSent: number;
  framesReserved: number;
  framesDecoded: number;
  connections: Record<SocketRole, number>;
  scenarios: Record<Scenario, number>;
  outcomes: Map<string, number>;
  hazardsReplaced: number;
  findings: Finding[];
  findingCount: number;
}

async function worker(role: SocketRole, socketPath: string, o: Options, stats: Stats, next: () => number, agentRunning: () => boolean): Promise<void> {
  // A dead agent ends the run (reported by the checks after it), rather than a loop of refused connects.
  while (stats.framesReserved < o.frames && agentRunning()) {
    const index = next();
    const rng = new Rng(deriveSeed(o.seed, role === 'control' ? 1 : 2, index));
    if (index % HANDSHAKE_EVERY === HANDSHAKE_EVERY - 1) {
      const h = handshakePlan(rng, role, true);
      const got = await handshakeExchange(socketPath, h.bytes);
      stats.handshakes[h.kind]++;
      const what = got.timedOut
        ? `handshake ${h.kind}: the agent did not close within ${CONNECTION_TIMEOUT_MS} ms (got ${got.bytes} bytes, expected ${h.expectBytes})`
        : got.bytes !== h.expectBytes
          ? `handshake ${h.kind}: ${got.bytes} bytes back where ${h.expectBytes} were expected`
          : undefined;
      if (what !== undefined) {
        stats.findingCount++;
        if (stats.findings.length < MAX_FINDINGS_SHOWN) stats.findings.push({ what, role, connection: index, scenario: 'handshake', batch: h.bytes });
      }
      continue;
    }
    const plan = buildPlan(rng, role, o.frames - stats.framesReserved);
    let expected = expectAgent(role, plan.units);
    for (let attempt = 0; expected.hazardUnit !== undefined; attempt++) {
      stats.hazardsReplaced++;
      if (attempt < MAX_HAZARD_RETRIES) plan.units[expected.hazardUnit] = harmlessFrame(rng, role);
      else plan.units.length = expected.hazardUnit;
      expected = expectAgent(role, plan.units);
    }
    if (plan.units.length === 0) continue;
    stats.framesReserved += plan.units.length;
    const batch = concatBytes(...plan.units);
    const observed = await exchange(socketPath, role, batch, expected);
    if (observed.written) {
      stats.framesSent += plan.units.length;
      stats.framesDecoded += expected.decodedFrames;
    } else stats.framesReserved -= plan.units.length;
    stats.connections[role]++;
    stats.scenarios[plan.scenario]++;
    const outcome = expected.closeCode === undefined ? 'kept open' : `ERROR ${wireErrorName(expected.closeCode) ?? expected.closeCode}`;
    stats.outcomes.set(outcome, (stats.outcomes.get(outcome) ?? 0) + 1);
    const problems = [expected.escaped && `the decoder threw ${expected.escaped} (not a ProtocolError)`, verdict(expected, observed)].filter(
      (p): p is string => typeof p === 'string' && p !== '',
    );
    for (const what of problems) {
      stats.findingCount++;
      if (stats.findings.length < MAX_FINDINGS_SHOWN) stats.findings.push({ what, role, connection: index, scenario: plan.scenario, batch });
    }
  }
}

async function main(): Promise<void> {
  process.stdout.on('error', () => process.exit(1));
  const o = parseOptions(process.argv.slice(2));
  for (const bin of Object.values(BIN)) {
    if (!fs.existsSync(bin)) throw new Failure(`${path.relative(ROOT, bin)} is missing: run npm run build first`);
  }
  await loadSodium();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-fuzz-'));
  const f = (name: string): string => path.join(dir, name);
  const control = f('control.sock');
  const service = f('service.sock');
  let agent: NodeChild | undefined;
  const log = new LogLevels();
  const nodes: KesNodeClient[] = [];
  const failures: string[] = [];
  // However the fuzz ends (done, failed, Ctrl-C, kill, a closed pipe), its agent does not outlive
  // it and the temp dir (a throwaway cold key until set-up ends) does not stay behind.
  children.stopOnExit('fuzz', { cleanup: () => fs.rmSync(dir, { recursive: true, force: true }), stopMs: INTERRUPT_STOP_MS });

  try {
    say(`fuzz: ${fmt(o.frames)} frames, seed ${o.seed}, ${o.concurrency} connections in flight per socket, temp dir ${dir}`);

    // Set-up: a throwaway cold key, the agent, a certified key uploaded, one node holding it.
    await run(BIN.cold, ['keygen', '--cold-vkey', f('cold.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('cold.counter')]);
    agent = new NodeChild([BIN.agent, 'run', '--cold-vkey', f('cold.vkey'), '--network', 'mainnet', '--control-socket', control, '--service-socket', service], {
      name: 'the agent',
      cwd: ROOT,
      group: children,
      keepChars: AGENT_OUTPUT_KEPT_CHARS,
      onLine: (line) => log.add(line),
    });
    await agent.waitFor('agent: started', { timeoutMs: START_TIMEOUT_MS });
    await run(BIN.ctl, ['keygen', '--out', f('kes.vkey'), '--socket', control]);
    const period = (JSON.parse(await run(BIN.cold, ['period', '--network', 'mainnet', '--json'])) as { kesPeriod: number }).kesPeriod;
    await run(BIN.cold, ['issue-opcert', '--kes-vkey', f('kes.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('cold.counter'), '--kes-period', String(period), '--out', f('opcert.cert')]);
    fs.rmSync(f('cold.skey')); // not needed any more: the throwaway cold secret does not outlive set-up
    await run(BIN.ctl, ['import-opcert', f('opcert.cert'), '--socket', control]);
    await run(BIN.ctl, ['upload', '--socket', control]);
    const kesVk = readKesVerificationKeyFile(f('kes.vkey'));
    const coldVk = readColdVerificationKeyFile(f('cold.vkey'));
    const newNode = async (): Promise<KesNodeClient> => {
      const node = new KesNodeClient({ socketPath: service, timing: networkTiming('mainnet'), coldVk });
      nodes.push(node);
      node.start();
      await node.waitForKey(START_TIMEOUT_MS);
      return node;
    };
    const firstNode = await newNode();
    say(`set-up: agent pid ${agent.pid}, key ${toHex(kesVk).slice(0, 16)}… active, one node holds it`);

    // The fuzz itself, with the agent's RSS sampled throughout.
    const pid = agent.pid;
    const rss = { start: rssKib(pid) ?? 0, warm: 0, peak: 0, end: 0 };
    const locked = { start: lockedKib(pid) ?? 0, end: 0 };
    rss.peak = rss.start;
    const stats: Stats = {
      handshakes: Object.fromEntries(HANDSHAKE_CASES.map((c) => [c, 0])) as Record<HandshakeCase, number>,
      framesSent: 0,
      framesReserved: 0,
      framesDecoded: 0,
      connections: { control: 0, service: 0 },
      scenarios: Object.fromEntries(SCENARIOS.map((s) => [s, 0])) as Record<Scenario, number>,
      outcomes: new Map(),
      hazardsReplaced: 0,
      findings: [],
      findingCount: 0,
    };
    const sampler = setInterval(() => {
      const v = rssKib(pid);
      if (v === undefined) return;
      rss.peak = Math.max(rss.peak, v);
      if (rss.warm === 0 && stats.framesSent >= o.frames * WARM_FRACTION) rss.warm = v;
    }, RSS_SAMPLE_MS);
    const t0 = Date.now();
    const cpu0 = { agent: cpuSeconds(pid) ?? 0, fuzzer: process.cpuUsage() };
    const progress = setInterval(() => {
      const s = (Date.now() - t0) / 1000;
      say(
        `  ${fmt(stats.framesSent)} / ${fmt(o.frames)} frames · ${fmt(stats.connections.control + stats.connections.service)} connections · ` +
          `${fmt(Math.round(stats.framesSent / s))} frames/s · agent RSS ${mib(rssKib(pid) ?? 0)}${stats.findingCount > 0 ? ` · ${stats.findingCount} findings` : ''}`,
      );
    }, PROGRESS_MS);
    let index = 0;
    const next = (): number => index++;
    await Promise.all(
      (['control', 'service'] as const).flatMap((role) =>
        Array.from({ length: o.concurrency }, () => worker(role, role === 'control' ? control : service, o, stats, next, () => agent!.running)),
      ),
    );
    clearInterval(progress);
    const seconds = (Date.now() - t0) / 1000;
    const agentCpu = (cpuSeconds(pid) ?? 0) - cpu0.agent;
    const fuzzerCpuUs = process.cpuUsage(cpu0.fuzzer);
    const fuzzerCpu = (fuzzerCpuUs.user + fuzzerCpuUs.system) / 1e6;
    const steadyChecked = o.frames >= MIN_FRAMES_FOR_STEADY_RSS_CHECK && rss.warm > 0;
    const settleBy = Date.now() + SETTLE_MS;
    for (;;) {
      rss.end = rssKib(pid) ?? 0;
      locked.end = lockedKib(pid) ?? 0;
      const within =
        rss.end <= rss.start + MAX_RSS_GROWTH_MIB * 1024 &&
        locked.end <= locked.start + MAX_LOCKED_GROWTH_MIB * 1024 &&
        (!steadyChecked || rss.end <= rss.warm + MAX_RSS_STEADY_GROWTH_MIB * 1024);
      if (within || Date.now() >= settleBy) break;
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
    clearInterval(sampler);
    rss.peak = Math.max(rss.peak, rss.end);

    say(
      `fuzz: sent ${fmt(stats.framesSent)} frames over ${fmt(stats.connections.control + stats.connections.service)} connections ` +
        `(control ${fmt(stats.connections.control)}, service ${fmt(stats.connections.service)}) in ${seconds.toFixed(1)} s ` +
        `(${fmt(Math.round(stats.framesSent / seconds))} frames/s)`,
    );
    say(`fuzz: CPU used during the fuzz: agent ${agentCpu.toFixed(1)} s, fuzzer ${fuzzerCpu.toFixed(1)} s`);
    say(`fuzz: the agent decoded and acted on at least ${fmt(stats.framesDecoded)} of them; the rest followed a frame it closed on`);
    say(`fuzz: connections by scenario: ${SCENARIOS.map((s) => `${s} ${fmt(stats.scenarios[s])}`).join(', ')}`);
    say(`fuzz: version-handshake connections (every ${HANDSHAKE_EVERY}th): ${HANDSHAKE_CASES.map((c) => `${c} ${fmt(stats.handshakes[c])}`).join(', ')}`);
    say(`fuzz: connections by outcome: ${[...stats.outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
    say(`fuzz: state-changing control requests replaced before sending: ${fmt(stats.hazardsReplaced)}`);
    say(
      `fuzz: agent RSS start ${mib(rss.start)}, after ${WARM_FRACTION * 100}% of the frames ${rss.warm > 0 ? mib(rss.warm) : 'n/a'}, ` +
        `peak ${mib(rss.peak)}, end ${mib(rss.end)} (limits: start + ${MAX_RSS_GROWTH_MIB} MiB` +
        `${steadyChecked ? `; after ${WARM_FRACTION * 100}% + ${MAX_RSS_STEADY_GROWTH_MIB} MiB` : ''})`,
    );
    say(`fuzz: agent locked memory (VmLck) start ${mib(locked.start)}, end ${mib(locked.end)} (limit: start + ${MAX_LOCKED_GROWTH_MIB} MiB)`);
    say(`fuzz: agent log lines by level: ${[...log.counts].map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);

    if (stats.framesSent < o.frames) failures.push(`only ${fmt(stats.framesSent)} of ${fmt(o.frames)} frames were sent`);
    if (stats.findingCount > 0) {
      failures.push(`${stats.findingCount} connection(s) where the agent's answer differs from the model`);
      for (const x of stats.findings) {
        say(`finding: ${x.role} connection #${x.connection} (${x.scenario}, seed ${o.seed}): ${x.what}`);
        say(`  batch (${x.batch.length} bytes, first ${Math.min(SHOWN_BATCH_BYTES, x.batch.length)}): ${toHex(x.batch.subarray(0, SHOWN_BATCH_BYTES))}`);
      }
    }
    if (rss.end > rss.start + MAX_RSS_GROWTH_MIB * 1024) failures.push(`agent RSS grew from ${mib(rss.start)} to ${mib(rss.end)}, more than ${MAX_RSS_GROWTH_MIB} MiB`);
    if (locked.end > locked.start + MAX_LOCKED_GROWTH_MIB * 1024) {
      failures.push(`agent locked memory grew from ${mib(locked.start)} to ${mib(locked.end)}, more than ${MAX_LOCKED_GROWTH_MIB} MiB: secret buffers are not released`);
    }
    if (steadyChecked && rss.end > rss.warm + MAX_RSS_STEADY_GROWTH_MIB * 1024) {
      failures.push(`agent RSS kept growing: ${mib(rss.warm)} after ${WARM_FRACTION * 100}% of the frames, ${mib(rss.end)} at the end (limit + ${MAX_RSS_STEADY_GROWTH_MIB} MiB)`);
    }

    // After: the agent, kes-ctl, the node that held the key, and a fresh node.
    await check(failures, `agent alive (pid ${pid})`, async () => {
      if (!agent!.running) throw new Failure(`the agent exited (${agent!.child.exitCode ?? agent!.child.signalCode})`);
      process.kill(pid, 0);
    });
    await check(failures, 'kes-ctl status answers, with the uploaded key active', async () => {
      const s = JSON.parse(await run(BIN.ctl, ['status', '--json', '--socket', control])) as { active: { kesVkey: string } | null };
      if (s.active?.kesVkey !== toHex(kesVk)) throw new Failure(`active key is ${s.active?.kesVkey ?? 'none'}, expected ${toHex(kesVk)}`);
    });
    await check(failures, 'the first node is still connected, holds the key and signs', async () => {
      if (!firstNode.connected) throw new Failure('the node is not connected');
      signAndVerify(firstNode, kesVk);
    });
    await check(failures, 'a fresh node gets the key and signs', async () => {
      signAndVerify(await newNode(), kesVk);
    });
    await check(failures, 'the agent logged no error and wrote nothing to stderr', async () => {
      const errors = log.counts.get('error') ?? 0;
      if (errors > 0) throw new Failure(`${errors} error line(s), e.g.\n    ${log.errorLines.join('\n    ')}`);
      if (agent!.stderr !== '') throw new Failure(`stderr: ${agent!.stderr.trim().slice(0, 2000)}`);
    });
    for (const n of nodes.splice(0)) await n.stop();
    await check(failures, 'the agent stops cleanly on SIGTERM (exit 0)', async () => {
      const { code } = await agent!.stop();
      if (code !== 0) throw new Failure(`exit code ${code}`);
    });
  } catch (e) {
    failures.push(e instanceof Failure || e instanceof ChildFailed ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e));
  } finally {
    for (const n of nodes) await n.stop();
    if (agent?.running) await agent.stop();
    if (failures.length > 0 && agent !== undefined && children.interrupted === undefined) {
      say('agent log (last lines):');
      for (const line of agent.stdout.replace(/\n$/, '').split('\n').slice(-LOG_TAIL_LINES)) say(`  ${line}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Interrupted, what failed is the interruption's doing: the signal handler reports it.
  if (children.interrupted !== undefined) return;
  if (failures.length > 0) {
    for (const x of failures) process.stderr.write(`fuzz FAILED: ${x}\n`);
    process.exitCode = 1;
  } else say('fuzz: PASS');
}

async function check(failures: string[], what: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
    say(`check: ${what}: ok`);
  } catch (e) {
    say(`check: ${what}: FAILED`);
    failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function signAndVerify(node: KesNodeClient, kesVk: Uint8Array): void {
  const info = node.keyInfo();
  if (info === null) throw new Failure('the node holds no key');
  if (info.kesVk !== toHex(kesVk)) throw new Failure(`the node holds ${info.kesVk}, expected ${toHex(kesVk)}`);
  const message = crypto.randomBytes(CHECK_MESSAGE_BYTES);
  const s = node.sign(message);
  if (!verifyKes(kesVk, s.evolution, message, s.signature)) throw new Failure('the node\'s signature does not verify');
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`fuzz failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
