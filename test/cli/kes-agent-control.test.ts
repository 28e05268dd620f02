/**
 * kes-agent-control, the BUILT bin (dist/src/bin/kes-agent-control.js, made by `npm run build`),
 * run as a real process against a Haskell-protocol control server written here from the published protocol
 * (docs/haskell-protocol.md §3, §5, §6; kes-agent Control/V{0..3}/Driver.hs), with every byte spelt out: this
 * file never imports src/protocol/haskell. The server sends the Control offer, records every byte the client
 * sends, and answers the command with golden bytes.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CONTROL_SOCKET_NAME, clientDefaultSocket } from '../../src/platform/socket-paths';
import { HS_CONTROL_IDS, HS_SERVICE_V1, HS_SERVICE_V2, hsVersionId } from '../helpers/haskell-peer';
import { NOBODY, describeAsOtherUser, otherUser } from '../helpers/other-user';
import { Proc, ROOT, cleanEnv, run, tempDir, type RunResult } from '../helpers/processes';
import { readVectorText, vectorPath } from '../helpers/vectors';

const BIN = path.join(ROOT, 'dist', 'src', 'bin', 'kes-agent-control.js');

// ---------------------------------------------------------------------------------------------
// Wire bytes, by hand

const [V0, V1, V2, V3] = HS_CONTROL_IDS;
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const i64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};
const text = (s: string): Buffer => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
const just = (b: Buffer): Buffer => Buffer.concat([Buffer.from([1]), b]);
const NOTHING = Buffer.from([0]);
const offer = (...names: string[]): Buffer => Buffer.concat([u32(names.length), ...names.map(hsVersionId)]);
const accept = (name: string): Buffer => Buffer.concat([Buffer.from([1]), hsVersionId(name)]);

// The cardano-cli vectors: kes.vkey's key and opcert.cert's fields, cut out of the CBOR by hand:
// 82 (array 2) 84 (array 4) 5820 vk(32) 07 (n) 190596 (period 1430) 5840 sigma(64) 5820 coldVk(32).
const VK = Buffer.from(/"5820([0-9a-f]{64})"/.exec(readVectorText('cardano-cli', 'kes.vkey'))![1]!, 'hex');
const OPCERT_HEX = /"cborHex": "([0-9a-f]+)"/.exec(readVectorText('cardano-cli', 'opcert.cert'))![1]!;
const OPCERT_PARTS = /^82845820([0-9a-f]{64})071905965840([0-9a-f]{128})5820([0-9a-f]{64})$/.exec(OPCERT_HEX)!;
const HOT_VK = Buffer.from(OPCERT_PARTS[1]!, 'hex');
const SIGMA = Buffer.from(OPCERT_PARTS[2]!, 'hex');
/** The wire OCert: vkHot ‖ n u64be ‖ period u64be ‖ sigma = 112 bytes. */
const WIRE_OCERT = Buffer.concat([HOT_VK, u64(7n), u64(1430n), SIGMA]);

const CMD = { gen: 0, query: 1, dropStaged: 2, install: 3, info: 4, dropKey: 5 } as const;

// ---------------------------------------------------------------------------------------------
// The server

type Reply = Buffer | { partial: Buffer } | 'close' | 'silent';

interface Session {
  /** Every byte the client sent, in order. */
  got: Buffer;
}

interface ServerOptions {
  /** The offer bytes; 'silent' sends nothing. */
  offer: Buffer | 'silent';
  /** The reply to a command; `partial` writes then closes; 'close' closes without a reply. */
  reply?: (cmd: number) => Reply;
}

class FakeHsAgent {
  readonly sessions: Session[] = [];
  readonly #server: net.Server;
  #waiters: (() => void)[] = [];

  private constructor(readonly socketPath: string, opts: ServerOptions) {
    this.#server = net.createServer((s) => {
      let got = Buffer.alloc(0);
      let answered = false;
      if (opts.offer !== 'silent') s.write(opts.offer);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        // accept (33) ‖ VersionMessage (32) ‖ Command (2) [‖ OCert (112)]
        if (answered || got.length < 67 || got[0] !== 1) return;
        const cmd = got.readUInt16BE(65);
        if (cmd === CMD.install && got.length < 67 + 112) return;
        answered = true;
        const reply = opts.reply?.(cmd) ?? 'silent';
        if (reply === 'close') s.end();
        else if (Buffer.isBuffer(reply)) s.write(reply);
        else if (reply !== 'silent') s.end(reply.partial);
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sessions.push({ got });
        for (const w of this.#waiters.splice(0)) w();
      });
    });
  }

  static async start(dir: string, opts: ServerOptions): Promise<FakeHsAgent> {
    const socketPath = path.join(dir, `hs-${Math.random().toString(36).slice(2, 8)}.sock`);
    const agent = new FakeHsAgent(socketPath, opts);
    await new Promise<void>((resolve) => agent.#server.listen(socketPath, resolve));
    return agent;
  }

  /** The n-th session (1-based), once its connection has closed. */
  async session(n = 1): Promise<Session> {
    while (this.sessions.length < n) await new Promise<void>((r) => this.#waiters.push(r));
    return this.sessions[n - 1]!;
  }

  close(): Promise<void> {
    return new Promise((r) => this.#server.close(() => r()));
  }
}

// ---------------------------------------------------------------------------------------------
// Running the bin

let dir: string;
const agents: FakeHsAgent[] = [];

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build`);
});
beforeEach(() => {
  dir = tempDir('kes-hsctl-');
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function agent(opts: ServerOptions): Promise<FakeHsAgent> {
  const a = await FakeHsAgent.start(dir, opts);
  agents.push(a);
  return a;
}

function ctl(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<RunResult> {
  return run(BIN, args, { env: cleanEnv(opts.env ?? {}), cwd: opts.cwd ?? dir });
}

function stderrLine(r: RunResult): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/** What the client sends for one command after choosing `version`. */
const sent = (version: string, cmd: number, payload: Buffer = Buffer.alloc(0)): Buffer =>
  Buffer.concat([accept(version), hsVersionId(version), u16(cmd), payload]);

const ALL = offer(V3, V2, V1, V0);

// ---------------------------------------------------------------------------------------------

describe('gen-staged-key', () => {
  test('V3: the Haskell lines, the vk written as cardano-cli writes kes.vkey, and exactly accept ‖ VersionMessage ‖ GenStagedKeyCmd on the wire', async () => {
    const a = await agent({ offer: ALL, reply: () => just(VK) });
    const file = path.join(dir, 'out.vkey');
    const r = await ctl(['gen-staged-key', '-c', a.socketPath, '--kes-verification-key-file', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Asking agent to generate a key...\nKES SignKey generated.\nKES VerKey written to ${file}\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe(readVectorText('cardano-cli', 'kes.vkey'));
    expect((await a.session()).got).toEqual(sent(V3, CMD.gen));
  });

  test('default file kes.vkey in the working directory: an existing one is refused before the agent is asked (exit 21), replaced with --overwrite', async () => {
    const a = await agent({ offer: ALL, reply: () => just(VK) });
    fs.writeFileSync(path.join(dir, 'kes.vkey'), 'old');
    const refused = await ctl(['gen-staged-key', '-c', a.socketPath]);
    expect(refused.code).toBe(21);
    expect(stderrLine(refused)).toBe('kes-agent-control: error: kes.vkey: already exists; refusing to replace it (pass --overwrite to replace it) [FILE_EXISTS]');
    expect(a.sessions).toHaveLength(0);
    expect(fs.readFileSync(path.join(dir, 'kes.vkey'), 'utf8')).toBe('old');
    const r = await ctl(['gen-staged-key', '-c', a.socketPath, '--overwrite']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('KES VerKey written to kes.vkey\n');
    expect(fs.readFileSync(path.join(dir, 'kes.vkey'), 'utf8')).toBe(readVectorText('cardano-cli', 'kes.vkey'));
  });

  test('- writes the envelope to stdout after the two Haskell lines; V1 agent', async () => {
    const a = await agent({ offer: offer(V1, V0), reply: () => just(VK) });
    const r = await ctl(['gen-staged-key', '-c', a.socketPath, '--kes-verification-key-file', '-']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Asking agent to generate a key...\nKES SignKey generated.\n${readVectorText('cardano-cli', 'kes.vkey')}`);
    expect((await a.session()).got).toEqual(sent(V1, CMD.gen));
  });

  test('the agent answers no key: the Haskell line, exit 6 (Haskell: 0)', async () => {
    const a = await agent({ offer: ALL, reply: () => NOTHING });
    const r = await ctl(['gen-staged-key', '-c', a.socketPath, '--kes-verification-key-file', '-']);
    expect(r.code).toBe(6);
    expect(r.stdout).toBe('Asking agent to generate a key...\nKey generation has failed. Please check KES agent log for details.\n');
  });

  test('an output directory that does not exist: exit 21 before the agent is asked', async () => {
    const a = await agent({ offer: ALL, reply: () => just(VK) });
    const r = await ctl(['gen-staged-key', '-c', a.socketPath, '--kes-verification-key-file', path.join(dir, 'no', 'kes.vkey')]);
    expect(r.code).toBe(21);
    expect(stderrLine(r)).toMatch(/^kes-agent-control: error: .*no\/kes\.vkey: directory .* does not exist.*\[FILE_WRITE_FAILED\]$/);
    expect(a.sessions).toHaveLength(0);
  });
});

describe('export-staged-vkey and drop-staged-key', () => {
  test('export-staged-vkey V3 to a file and to stdout; QueryStagedKeyCmd on the wire', async () => {
    const a = await agent({ offer: ALL, reply: () => just(VK) });
    const file = path.join(dir, 'staged.vkey');
    const r = await ctl(['export-staged-vkey', '-c', a.socketPath, '--kes-verification-key-file', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`KES VerKey written to ${file}\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe(readVectorText('cardano-cli', 'kes.vkey'));
    expect((await a.session()).got).toEqual(sent(V3, CMD.query));

    const out = await ctl(['export-staged-vkey', '-c', a.socketPath, '--kes-verification-key-file', '-']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(readVectorText('cardano-cli', 'kes.vkey'));
  });

  test('export-staged-vkey with nothing staged: "No key available.", exit 8 (Haskell: 0), no file', async () => {
    const a = await agent({ offer: offer(V0), reply: () => NOTHING });
    const r = await ctl(['export-staged-vkey', '-c', a.socketPath]);
    expect(r.code).toBe(8);
    expect(r.stdout).toBe('No key available.\n');
    expect(fs.existsSync(path.join(dir, 'kes.vkey'))).toBe(false);
    expect((await a.session()).got).toEqual(sent(V0, CMD.query));
  });

  test('drop-staged-key: "Staged key dropped." (V2); a key in the answer: "Staged key not dropped:" + envelope, exit 6', async () => {
    const a = await agent({ offer: offer(V2, V1, V0), reply: () => NOTHING });
    const r = await ctl(['drop-staged-key', '-c', a.socketPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Staged key dropped.\n');
    expect((await a.session()).got).toEqual(sent(V2, CMD.dropStaged));

    const b = await agent({ offer: ALL, reply: () => just(VK) });
    const kept = await ctl(['drop-staged-key', '-c', b.socketPath]);
    expect(kept.code).toBe(6);
    expect(kept.stdout).toBe(`Staged key not dropped:\n${readVectorText('cardano-cli', 'kes.vkey')}`);
  });
});

describe('install-key', () => {
  test('the real cardano-cli opcert: exactly its 112 raw bytes (vkHot ‖ n ‖ period ‖ sigma) after InstallKeyCmd; "KES key installed."', async () => {
    const a = await agent({ offer: ALL, reply: () => u16(0) });
    const r = await ctl(['install-key', '-c', a.socketPath, '--opcert-file', vectorPath('cardano-cli', 'opcert.cert')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('KES key installed.\n');
    const got = (await a.session()).got;
    expect(got).toEqual(sent(V3, CMD.install, WIRE_OCERT));
    expect(got.subarray(67)).toHaveLength(112);
  });

  test.each([
    [1, 'KES key outdated'],
    [2, 'OpCert validation failed'],
    [3, 'No KES key found'],
    [4, 'Operation not supported'],
    [5, 'unknown error'],
  ])('RecvResult %i: "Error: %s", exit code = the RecvResult, as Haskell', async (code, reason) => {
    const a = await agent({ offer: offer(V1, V0), reply: () => u16(code) });
    const r = await ctl(['install-key', '-c', a.socketPath, '--opcert-file', vectorPath('cardano-cli', 'opcert.cert')]);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe(`Error: ${reason}\n`);
    expect((await a.session()).got).toEqual(sent(V1, CMD.install, WIRE_OCERT));
  });

  test('no --opcert-file: one line naming the flag, exit 20 (Haskell reads kes.vkey), nothing connects', async () => {
    const a = await agent({ offer: ALL, reply: () => u16(0) });
    const r = await ctl(['install-key', '-c', a.socketPath]);
    expect(r.code).toBe(20);
    expect(stderrLine(r)).toMatch(/^kes-agent-control: error: --opcert-file: expected FILE, .* \[USAGE\]$/);
    expect(r.stdout).toBe('');
    expect(a.sessions).toHaveLength(0);
  });

  test('bad opcert files: missing, wrong envelope type, not an envelope: exit 21 naming the file (Haskell: exit 0); nothing connects', async () => {
    const a = await agent({ offer: ALL, reply: () => u16(0) });
    const junk = path.join(dir, 'junk.cert');
    fs.writeFileSync(junk, 'not json');
    const cases: [string, RegExp][] = [
      [path.join(dir, 'absent.cert'), /absent\.cert: no such file \[FILE_UNREADABLE\]$/],
      [vectorPath('cardano-cli', 'kes.vkey'), /kes\.vkey: expected a NodeOperationalCertificate text envelope, got KesVerificationKey_ed25519_kes_2\^6 \[ENVELOPE_WRONG_TYPE\]$/],
      [junk, /junk\.cert: .*\[FILE_NOT_ENVELOPE\]$/],
    ];
    for (const [file, message] of cases) {
      const r = await ctl(['install-key', '-c', a.socketPath, '--opcert-file', file]);
      expect(r.code).toBe(21);
      expect(stderrLine(r)).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect(a.sessions).toHaveLength(0);
  });

  test('an opcert whose signature does not verify under its own cold key: exit 2, refused before the agent sees it', async () => {
    const a = await agent({ offer: ALL, reply: () => u16(0) });
    const bad = path.join(dir, 'bad.cert');
    const flipped = OPCERT_HEX.replace(/07190596/, '08190596'); // counter 7 → 8: the signature no longer covers it
    fs.writeFileSync(bad, readVectorText('cardano-cli', 'opcert.cert').replace(OPCERT_HEX, flipped));
    const r = await ctl(['install-key', '-c', a.socketPath, '--opcert-file', bad]);
    expect(r.code).toBe(2);
    expect(stderrLine(r)).toMatch(/bad\.cert: the opcert's signature does not verify .*staged key is kept \[OPCERT_BAD_SIGNATURE\]$/);
    expect(a.sessions).toHaveLength(0);
  });
});

describe('drop-key', () => {
  test('V3: DropKeyCmd, "KES key dropped."', async () => {
    const a = await agent({ offer: ALL, reply: () => u16(0) });
    const r = await ctl(['drop-key', '-c', a.socketPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('KES key dropped.\n');
    expect((await a.session()).got).toEqual(sent(V3, CMD.dropKey));
  });

  test('V2, refused with KeyOutdated: the Haskell lines and exit 1 (Haskell: 0)', async () => {
    const a = await agent({ offer: offer(V2, V1, V0), reply: () => u16(1) });
    const r = await ctl(['drop-key', '-c', a.socketPath]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('KES key not dropped:\nRecvErrorKeyOutdated\n');
    expect((await a.session()).got).toEqual(sent(V2, CMD.dropKey));
  });

  test.each([[V1], [V0]])('a %s agent: the accept and nothing else (as Haskell), one line saying the protocol is too old, exit 4', async (v) => {
    const a = await agent({ offer: offer(v), reply: () => u16(0) });
    const r = await ctl(['drop-key', '-c', a.socketPath]);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(stderrLine(r)).toBe(
      `kes-agent-control: error: ${a.socketPath}: the agent's control protocol (${v}) is too old for drop-key, which needs Control:2.0 or newer; nothing was dropped [RecvErrorUnsupportedOperation]`,
    );
    expect((await a.session()).got).toEqual(accept(v));
  });
});

describe('info', () => {
  const BUNDLE_INFO = Buffer.concat([u32(3), u64(1430n), u64(7n), HOT_VK, SIGMA]);
  const NOW = 1_785_400_000n; // 2026-07-30 08:26:40 UTC
  const STAGED = Buffer.alloc(32, 0xab);

  test('V3: every block, in the Haskell layout', async () => {
    const reply = Buffer.concat([
      text('1.3.0.0'),
      just(Buffer.concat([just(BUNDLE_INFO), just(i64(NOW - 3600n))])),
      just(STAGED),
      i64(NOW),
      u64(1430n + 3n),
      i64(1_785_369_600n),
      i64(1_785_369_600n + 129_600n),
      u32(2),
      text('/run/peer-a.sock'),
      Buffer.from([0]),
      text('/run/peer-b.sock'),
      Buffer.from([2]),
    ]);
    const a = await agent({ offer: ALL, reply: () => reply });
    const r = await ctl(['info', '-c', a.socketPath]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '--- Agent ---',
        'Agent version: 1.3.0.0',
        `Connected via: ${a.socketPath}`,
        'Current time: 2026-07-30 08:26:40 UTC',
        'Current KES period: 1433',
        'Current KES period started: 2026-07-30 00:00:00 UTC',
        'Next KES period starts: 2026-07-31 12:00:00 UTC',
        '--- Installed KES SignKey ---',
        'Timestamp: 2026-07-30 07:26:40 UTC',
        `VerKey: ${HOT_VK.toString('hex')}`,
        'Valid from period: 1430',
        'Current evolution: 3 / 64',
        'OpCert number: 7',
        `OpCert signature: ${SIGMA.toString('hex')}`,
        '--- Staged KES SignKey ---',
        `VerKey: ${'ab'.repeat(32)}`,
        '--- Bootstrap Peers ---',
        `${' '.repeat(14)}/run/peer-a.sock: up`,
        `${' '.repeat(14)}/run/peer-b.sock: down`,
        '',
      ].join('\n'),
    );
    expect((await a.session()).got).toEqual(sent(V3, CMD.info));
  });

  test('V1: no version, no period bounds (<unknown>), no timestamp (n/a); nothing staged, no peers', async () => {
    const reply = Buffer.concat([just(BUNDLE_INFO), NOTHING, i64(0n), u64(0n), u32(0)]);
    const a = await agent({ offer: offer(V1, V0), reply: () => reply });
    const r = await ctl(['info', '-c', a.socketPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '--- Agent ---',
        'Agent version: <unknown>',
        `Connected via: ${a.socketPath}`,
        'Current time: 1970-01-01 00:00:00 UTC',
        'Current KES period: 0',
        'Current KES period started: <unknown>',
        'Next KES period starts: <unknown>',
        '--- Installed KES SignKey ---',
        'Timestamp: n/a',
        `VerKey: ${HOT_VK.toString('hex')}`,
        'Valid from period: 1430',
        'Current evolution: 3 / 64',
        'OpCert number: 7',
        `OpCert signature: ${SIGMA.toString('hex')}`,
        '',
      ].join('\n'),
    );
    expect((await a.session()).got).toEqual(sent(V1, CMD.info));
  });

  test('V2 after a drop: the timestamp and {KEY DELETED} on its own line; a peer connecting', async () => {
    const reply = Buffer.concat([just(Buffer.concat([NOTHING, just(i64(NOW))])), NOTHING, i64(NOW), u64(1433n), u32(1), text('peer'), Buffer.from([1])]);
    const a = await agent({ offer: offer(V2, V1, V0), reply: () => reply });
    const r = await ctl(['info', '-c', a.socketPath]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(7)).toEqual([
      '--- Installed KES SignKey ---',
      'Timestamp: 2026-07-30 08:26:40 UTC',
      '{KEY DELETED}',
      '--- Bootstrap Peers ---',
      `${' '.repeat(26)}peer: connecting...`,
      '',
    ]);
  });
});

describe('the version handshake', () => {
  test('our preference decides, not the order of the offer: [V0, V2, V1] → V2', async () => {
    const a = await agent({ offer: offer(V0, V2, V1), reply: () => NOTHING });
    const r = await ctl(['drop-staged-key', '-c', a.socketPath]);
    expect(r.code).toBe(0);
    expect((await a.session()).got).toEqual(sent(V2, CMD.dropStaged));
  });

  test('a service socket: the reject byte 00, one line saying so, exit 23', async () => {
    const a = await agent({ offer: offer(HS_SERVICE_V2, HS_SERVICE_V1) });
    const r = await ctl(['info', '-c', a.socketPath]);
    expect(r.code).toBe(23);
    expect(stderrLine(r)).toBe(
      `kes-agent-control: error: ${a.socketPath}: the agent offers Service:2.0, Service:1.0, and this tool speaks only Control:3.0, Control:2.0, Control:1.0, Control:StandardCrypto:0.5: this is an agent's service socket, not its control socket [AGENT_HANDSHAKE_FAILED]`,
    );
    expect((await a.session()).got).toEqual(Buffer.from([0]));
  });

  test('unknown versions only: exit 23 naming them as unknown', async () => {
    const a = await agent({ offer: offer('Control:9.0') });
    const r = await ctl(['info', '-c', a.socketPath]);
    expect(r.code).toBe(23);
    expect(stderrLine(r)).toMatch(/the agent offers an unknown identifier, and this tool speaks only .*; upgrade the older side \[AGENT_HANDSHAKE_FAILED\]$/);
  });

  test('the agent closes before offering: exit 23', async () => {
    const closing = net.createServer((s) => s.end());
    const sock = path.join(dir, 'closing.sock');
    await new Promise<void>((r) => closing.listen(sock, r));
    try {
      const r = await ctl(['info', '-c', sock]);
      expect(r.code).toBe(23);
      expect(stderrLine(r)).toMatch(/the agent closed the connection before offering protocol versions .*\[AGENT_HANDSHAKE_FAILED\]$/);
    } finally {
      await new Promise((r) => closing.close(r));
    }
  });

  test('no offer within 5 s: exit 23', async () => {
    const a = await agent({ offer: 'silent' });
    const r = await ctl(['info', '-c', a.socketPath]);
    expect(r.code).toBe(23);
    expect(stderrLine(r)).toMatch(/no protocol version offer within 5000 ms.*\[AGENT_HANDSHAKE_TIMEOUT\]$/);
  });
});

describe('replies that go wrong: exit 24, never 0 and never 1..5', () => {
  test.each([
    ['closed without answering', 'install-key', 'close' as Reply, /the agent closed the connection without answering install-key .*\[AGENT_CONNECTION_LOST\]$/],
    ['closed in the middle of the reply', 'install-key', { partial: Buffer.from([0]) } as Reply, /in the middle of its reply to install-key \[AGENT_CONNECTION_LOST\]$/],
    ['a RecvResult out of range', 'install-key', u16(9) as Reply, /the agent's reply to install-key cannot be decoded \(ENUM_OUT_OF_RANGE: .*\) \[AGENT_PROTOCOL\]$/],
    ['a Maybe flag that is not 0 or 1', 'gen-staged-key', Buffer.from([2]) as Reply, /the agent's reply to gen-staged-key cannot be decoded \(MALFORMED: .*\) \[AGENT_PROTOCOL\]$/],
    ['a short AgentInfo', 'info', { partial: text('1.3') } as Reply, /in the middle of its reply to info \[AGENT_CONNECTION_LOST\]$/],
  ])('%s (%s)', async (_what, command, reply, message) => {
    const a = await agent({ offer: ALL, reply: () => reply });
    const args = command === 'install-key' ? ['--opcert-file', vectorPath('cardano-cli', 'opcert.cert')] : command === 'gen-staged-key' ? ['--kes-verification-key-file', '-'] : [];
    const r = await ctl([command, '-c', a.socketPath, ...args]);
    expect(r.code).toBe(24);
    expect(stderrLine(r)).toMatch(message);
  });
});

describe('options and the environment', () => {
  test('options before the subcommand, as Haskell allows; KES_AGENT_CONTROL_PATH; -c wins over it', async () => {
    const a = await agent({ offer: ALL, reply: () => NOTHING });
    expect((await ctl(['-c', a.socketPath, '-v', '0', 'drop-staged-key'])).stdout).toBe('Staged key dropped.\n');
    expect((await ctl(['drop-staged-key'], { env: { KES_AGENT_CONTROL_PATH: a.socketPath } })).stdout).toBe('Staged key dropped.\n');
    const r = await ctl(['drop-staged-key', '-c', a.socketPath], { env: { KES_AGENT_CONTROL_PATH: path.join(dir, 'elsewhere.sock') } });
    expect(r.code).toBe(0);
  });

  test('no socket there: exit 22; the default is our agent socket, never /tmp/kes-agent-control.socket', async () => {
    const missing = path.join(dir, 'absent.sock');
    const r = await ctl(['info', '-c', missing]);
    expect(r.code).toBe(22);
    expect(stderrLine(r)).toBe(`kes-agent-control: error: ${missing}: no such socket file; is kes-agent running, and is this the socket path it listens on? [AGENT_SOCKET_MISSING]`);

    const env = cleanEnv();
    const def = clientDefaultSocket(CONTROL_SOCKET_NAME, env);
    const d = await ctl(['info']);
    if (!fs.existsSync(def)) {
      expect(d.code).toBe(22);
      expect(stderrLine(d)).toContain(`${def}: no such socket file`);
    }
    expect(d.stderr).not.toContain('/tmp/kes-agent-control.socket');
  });

  test('--retry-attempts: the Haskell retry message per retry on stderr (-v 1, the default), none with -v 0; env KES_AGENT_CONTROL_RETRY_*', async () => {
    const missing = path.join(dir, 'absent.sock');
    const r = await ctl(['info', '-c', missing, '--retry-attempts', '2', '--retry-delay', '10', '--retry-exponential']);
    expect(r.code).toBe(22);
    expect(r.stderr.split('\n').slice(0, 2)).toEqual(['Connection to agent failed, will try again 2 more times', 'Connection to agent failed, will try again 1 more time']);
    expect(r.stdout).toBe('');

    const quiet = await ctl(['info', '-c', missing, '-v', '0'], { env: { KES_AGENT_CONTROL_RETRY_ATTEMPTS: '3', KES_AGENT_CONTROL_RETRY_INTERVAL: '5' } });
    expect(quiet.code).toBe(22);
    expect(stderrLine(quiet)).toMatch(/\[AGENT_SOCKET_MISSING\]$/);

    const env = await ctl(['info', '-c', missing], { env: { KES_AGENT_CONTROL_RETRY_ATTEMPTS: '1', KES_AGENT_CONTROL_RETRY_INTERVAL: '5' } });
    expect(env.stderr).toMatch(/^Connection to agent failed, will try again 1 more time\n/);
  });

  test('a retry that finds the agent: the socket appears during the wait', async () => {
    const sock = path.join(dir, 'late.sock');
    // The listener appears once the tool has failed once and is waiting (its first retry line),
    // however long the tool took to start.
    const proc = new Proc(BIN, ['drop-staged-key', '-c', sock, '--retry-attempts', '20', '--retry-interval', '100'], cleanEnv({}), { cwd: dir });
    await proc.waitFor(/^Connection to agent failed, will try again 20 more times\n/, { stream: 'stderr' });
    const pending = proc.exited.then((x) => ({ code: x.code, stdout: proc.stdout, stderr: proc.stderr }));
    const server = net.createServer((s) => {
      s.on('error', () => undefined); // the tool may close before our reply lands
      s.write(ALL);
      s.on('data', () => s.write(NOTHING));
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const r = await pending;
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('Staged key dropped.\n');
      expect(r.stderr).toMatch(/^Connection to agent failed, will try again 20 more times\n/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test.each([
    [['info', '-c', 'x.sock', '-v', 'loud'], /^kes-agent-control: error: -v\/--verbose: expected an integer, got "loud"/],
    [['info', '-c', 'x.sock', '--retry-attempts', '-1'], /--retry-attempts/],
    [['info', '-c', 'x.sock', '--retry-interval', '1.5'], /^kes-agent-control: error: --retry-interval: expected milliseconds/],
    [['info', '-c', ''], /-c\/--control-address: expected a socket path, got an empty string/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('usage mistakes are one line, exit 20: %j', async (args, message) => {
    const r = await ctl(args);
    expect(r.code).toBe(20);
    expect(stderrLine(r)).toMatch(message);
  });

  test('a malformed KES_AGENT_CONTROL_RETRY_ATTEMPTS is an error naming it (Haskell ignores it)', async () => {
    const r = await ctl(['info', '-c', 'x.sock'], { env: { KES_AGENT_CONTROL_RETRY_ATTEMPTS: 'many' } });
    expect(r.code).toBe(20);
    expect(stderrLine(r)).toMatch(/^kes-agent-control: error: KES_AGENT_CONTROL_RETRY_ATTEMPTS: expected a count \(0\.\.1000000\), got "many"/);
  });

  test.each([['gen-staged-key'], ['export-staged-vkey'], ['drop-staged-key'], ['install-key'], ['drop-key'], ['info']])('%s --help: usage on stdout, exit 0', async (command) => {
    const r = await ctl([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`$ kes-agent-control ${command}`);
    expect(r.stdout).toContain('--control-address');
    expect(r.stderr).toBe('');
  });

  test('--version', async () => {
    const r = await ctl(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^kes-agent-control \d+\.\d+\.\d+\n$/);
  });
});

// ---------------------------------------------------------------------------------------------
// The identity check: a Haskell-protocol listener run by another uid is refused before a byte is sent.

const attacker = otherUser(NOBODY);

/** Listens on argv[1] (mode 0666), sends the Control offer, counts what it gets, closes after the first bytes. */
const FAKE_HS_AGENT = `
const fs = require('node:fs'); const net = require('node:net');
const offer = Buffer.from(process.argv[2], 'hex');
net.createServer((s) => {
  let n = 0;
  s.write(offer);
  s.on('data', (d) => { n += d.length; s.end(); });
  s.on('error', () => {});
  s.on('close', () => console.log('closed bytes=' + n));
}).listen(process.argv[1], () => { fs.chmodSync(process.argv[1], 0o666); console.log('listening'); });`;

describeAsOtherUser('a Haskell-protocol listener run by another user', () => {
  test('refused before anything is sent (exit 12, naming its uid); trusted with --agent-uid', async () => {
    fs.chmodSync(dir, 0o755);
    const own = path.join(dir, 'atk');
    fs.mkdirSync(own, { mode: 0o755 });
    fs.chownSync(own, NOBODY, NOBODY);
    const sock = path.join(own, 'control.sock');
    const fake: Proc = attacker.start(['-e', FAKE_HS_AGENT, sock, ALL.toString('hex')]);
    try {
      await fake.waitFor('listening');
      let mark = fake.mark();
      const vkey = path.join(dir, 'kes.vkey');
      const r = await ctl(['gen-staged-key', '-c', sock, '--kes-verification-key-file', vkey]);
      expect(r.code).toBe(12);
      expect(r.stderr).toMatch(
        new RegExp(`^kes-agent-control: error: ${sock}: the process listening here runs as uid ${NOBODY} \\(pid \\d+\\), expected root \\(uid 0\\)[^\\n]*\\[AGENT_NOT_TRUSTED\\]\\n$`),
      );
      await fake.waitFor('closed bytes=', { after: mark });
      expect(fake.stdout.slice(mark.stdout)).toContain('closed bytes=0');
      expect(fs.existsSync(vkey)).toBe(false);

      mark = fake.mark();
      const trusted = await ctl(['info', '-c', sock, '--agent-uid', String(NOBODY)]);
      expect(trusted.code).toBe(24); // talked to: this fake closes after the first bytes
      await fake.waitFor('closed bytes=', { after: mark });
      expect(fake.stdout.slice(mark.stdout)).not.toContain('closed bytes=0');
    } finally {
      await fake.stop();
    }
  });
});
