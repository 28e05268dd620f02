/**
 * The life of a key through the built binaries over real sockets: kes-cold on the "cold host",
 * kes-agent holding the key, kes-ctl stepping it through staging → opcert → active.
 * Every refusal must leave both slots exactly as they were.
 *
 * The chain is a test chain with mainnet's 36-hour KES periods whose period 100 begins as the
 * file starts (test/helpers/test-chain.ts): every step here sees the same current period.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vectorPath } from '../helpers/vectors';
import { EXIT } from '../../src/cli/exit-codes';
import { ControlClient } from '../../src/client/control-client';
import { toHex } from '../../src/crypto/bytes';
import { readColdVerificationKeyFile, readKesVerificationKeyFile, readOpcertFile } from '../../src/cardano';
import type { Status } from '../../src/protocol';
import {
  type AgentEnv,
  cold,
  ctl,
  ctlJson,
  makeAgentEnv,
  stageAndCertify,
  startAgent,
  stopAgentEnv,
} from '../helpers/agent-env';
import { testChain, type TestChain } from '../helpers/test-chain';

interface StatusJson {
  currentKesPeriod: number;
  serviceClients: number;
  staged: null | { kesVkey: string; opcert: null | { counter: number; kesPeriod: number } };
  active: null | { kesVkey: string; counter: number; startKesPeriod: number; evolution: number; periodsRemaining: number; expiresAt: string };
  expired: null | { kesVkey: string };
  warnings: string[];
}

/** `kes-ctl status --json`. */
const status = (e: AgentEnv): Promise<StatusJson> => ctlJson<StatusJson>(e, 'status');

/** The agent's STATUS, asked from this process over the control socket (no process spawn). */
async function agentStatus(e: AgentEnv): Promise<Status> {
  const c = await ControlClient.connect({ socketPath: e.controlSocket });
  try {
    return await c.status();
  } finally {
    c.close();
  }
}

/** Both slots, everything the agent reports about them (bytes as hex): what a refusal must not change. */
async function slots(e: AgentEnv): Promise<string> {
  const s = await agentStatus(e);
  return JSON.stringify({ staged: s.staged, active: s.active }, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
}

describe('kes-ctl against a running kes-agent', () => {
  let e: AgentEnv;
  let chain: TestChain;
  /** The current KES period: the same for the whole file (a 36-hour period, begun as it starts). */
  let period: number;

  beforeAll(async () => {
    e = await makeAgentEnv();
    chain = testChain(e.dir, { periodMs: 36 * 3600_000, maxKESEvolutions: 62, period: 100 });
    period = chain.periodAt();
    e.timingArgs = chain.args;
    await startAgent(e);
  });
  afterAll(async () => {
    if (e !== undefined) await stopAgentEnv(e);
  });
  afterEach(() => {
    // Nothing here may straddle a period boundary; the chain puts the next one 36 hours away.
    expect(chain.periodAt()).toBe(period);
  });

  test('the agent starts quietly with private sockets', () => {
    expect(e.agent!.stderr).toBe('');
    expect(fs.statSync(e.controlSocket).mode & 0o777).toBe(0o600);
    expect(fs.statSync(e.serviceSocket).mode & 0o777).toBe(0o660);
  });

  test('empty agent: every step that needs a key is refused with its code', async () => {
    // Refusals change nothing, so they can be asked side by side.
    const refusals = [
      [['export-verkey'], 'NO_STAGED_KEY'],
      [['upload'], 'NO_STAGED_KEY'],
      [['import-opcert', vectorPath('cardano-cli', 'opcert.cert')], 'NO_STAGED_KEY'],
    ] as const;
    const results = await Promise.all(refusals.map(([args]) => ctl(e, ...args)));
    refusals.forEach(([args, code], i) => {
      const r = results[i]!;
      expect({ args, code: r.code }).toEqual({ args, code: EXIT.REFUSED });
      expect(r.stderr).toMatch(new RegExp(`\\[${code}\\]\\n$`));
      expect(r.stderr.split('\n')).toHaveLength(2);
    });
    // With nothing staged, drop-staged changes nothing either.
    const [s, dropped] = await Promise.all([status(e), ctlJson(e, 'drop-staged')]);
    expect(s.staged).toBeNull();
    expect(s.active).toBeNull();
    expect(dropped).toEqual({ hadKey: false });
  });

  test('the whole flow: keygen → export-verkey → issue-opcert → import-opcert → upload → status', async () => {
    const vkey = path.join(e.dir, 'flow.vkey');
    const k = await ctlJson<{ kesVkey: string; replacedStaged: boolean }>(e, 'keygen', '--out', vkey);
    expect(k.kesVkey).toMatch(/^[0-9a-f]{64}$/);
    expect(k.replacedStaged).toBe(false);
    expect(fs.readFileSync(vkey, 'utf8')).toBe(
      JSON.stringify({ type: 'KesVerificationKey_ed25519_kes_2^6', description: 'KES Verification Key', cborHex: `5820${k.kesVkey}` }, null, 4) + '\n',
    );
    // Side by side: on the cold host, the opcert for the vkey file; at the agent, export-verkey.
    const opcert = path.join(e.dir, 'flow.opcert');
    const [issued, exported] = await Promise.all([
      cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${period}`, '--out', opcert),
      ctl(e, 'export-verkey'),
    ]);
    expect(issued.code).toBe(0);
    // export-verkey to stdout is the same envelope, byte for byte.
    expect(exported.stdout).toBe(fs.readFileSync(vkey, 'utf8'));

    const imp = await ctlJson<Record<string, unknown>>(e, 'import-opcert', opcert);
    // A fresh agent has no counter floor: it says so, since it could not check the counter.
    expect(imp).toEqual({
      kesVkey: k.kesVkey, counter: 0, startKesPeriod: period, currentKesPeriod: period, startsInFuture: false,
      counterFloor: null, warnings: [expect.stringMatching(/^the agent has had no active key since it started, so it could not check counter 0 /)],
    });
    const staged = await status(e);
    expect(staged.staged).toMatchObject({ kesVkey: k.kesVkey, opcert: { counter: 0, kesPeriod: period } });

    const up = await ctlJson<Record<string, unknown>>(e, 'upload');
    expect(up).toMatchObject({ kesVkey: k.kesVkey, counter: 0, startKesPeriod: period, evolution: 0, replacedActive: false, nodesConnected: 0, nodesConfirmed: 0 });

    const [s, human] = await Promise.all([status(e), ctl(e, 'status')]);
    expect(s.staged).toBeNull();
    expect(s.currentKesPeriod).toBe(period);
    expect(s.serviceClients).toBe(0);
    expect(s.active).toMatchObject({ kesVkey: k.kesVkey, counter: 0, startKesPeriod: period, evolution: 0, periodsRemaining: 62 });
    // 62 periods of 36 hours, the first just begun: 93 days.
    expect(Date.parse(s.active!.expiresAt)).toBeGreaterThan(Date.now() + 90 * 86400_000);
    expect(human.stdout).toMatch(new RegExp(`^active: +${k.kesVkey.slice(0, 16)}…`, 'm'));
    expect(human.stdout).toContain('evolution 0 of 62, 62 periods remaining');
  });

  test('keygen refuses to replace a staged key without --force, and --force replaces it', async () => {
    const first = await ctlJson<{ kesVkey: string }>(e, 'keygen');
    const refused = await ctl(e, 'keygen');
    expect(refused.code).toBe(EXIT.REFUSED);
    expect(refused.stderr).toContain('[STAGED_KEY_EXISTS]');
    expect(toHex((await agentStatus(e)).staged!.kesVk)).toBe(first.kesVkey);
    const second = await ctlJson<{ kesVkey: string; replacedStaged: boolean }>(e, 'keygen', '--force');
    expect(second.replacedStaged).toBe(true);
    expect(second.kesVkey).not.toBe(first.kesVkey);
    expect(await ctlJson(e, 'drop-staged')).toEqual({ hadKey: true });
  });

  describe('every refusal leaves both slots intact', () => {
    let stagedOpcert: string;

    beforeAll(async () => {
      // An active key (counter 1, from the flow above: counter file is at 1 now) and a staged one.
      const active = await stageAndCertify(e, { name: 'active', kesPeriod: period });
      await ctlJson(e, 'import-opcert', active.opcert);
      await ctlJson(e, 'upload');
      const staged = await stageAndCertify(e, { name: 'staged', kesPeriod: period });
      stagedOpcert = staged.opcert;
    });

    async function expectRefused(args: string[], code: string, exit: number = EXIT.REFUSED): Promise<string> {
      const before = await slots(e);
      const r = await ctl(e, ...args);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: exit, stdout: '' });
      expect(r.stderr).toMatch(new RegExp(`^kes-ctl: error: .*\\[${code}\\]\\n$`));
      expect(await slots(e)).toBe(before);
      return r.stderr;
    }

    test('upload without an opcert', () => expectRefused(['upload'], 'NO_OPCERT'));

    // The opcert itself is wrong: exit 4, as when a local check finds it (EXIT_FOR_AGENT_REFUSAL).
    // The message shows the public keys involved, in hex as `kes-cold inspect` prints them.
    test('an opcert from another cold key (the cardano-cli fixture)', async () => {
      const fixture = vectorPath('cardano-cli', 'opcert.cert');
      const stderr = await expectRefused(['import-opcert', fixture], 'OPCERT_WRONG_COLD_KEY', EXIT.INVALID);
      const theirs = toHex(readOpcertFile(fixture).coldVk);
      const ours = toHex(readColdVerificationKeyFile(e.coldVkey));
      expect(stderr).toContain(`issued by cold vk ${theirs}, not by this agent's cold vk ${ours}`);
    });

    test('an opcert for another KES key (the active one\'s)', async () => {
      const stderr = await expectRefused(['import-opcert', path.join(e.dir, 'active.opcert')], 'OPCERT_WRONG_KES_KEY', EXIT.INVALID);
      const certified = toHex(readOpcertFile(path.join(e.dir, 'active.opcert')).hotVk);
      const staged = toHex(readKesVerificationKeyFile(path.join(e.dir, 'staged.vkey')));
      expect(stderr).toContain(`certifies KES vk ${certified}, not the staged key's ${staged}`);
    });

    test('an expired opcert (start period 62 periods ago)', async () => {
      const expired = path.join(e.dir, 'expired.opcert');
      const r = await cold(e, 'issue-opcert', '--kes-vkey', path.join(e.dir, 'staged.vkey'), '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${period - 62}`, '--out', expired);
      expect(r.code).toBe(0);
      await expectRefused(['import-opcert', expired], 'OPCERT_EXPIRED');
    });

    test('a counter lower than the active key\'s', async () => {
      // Rewind a copy of the counter file to 0: a stale counter on the cold host.
      const stale = path.join(e.dir, 'stale.counter');
      const text = fs.readFileSync(e.counter, 'utf8');
      const cborHex = (JSON.parse(text) as { cborHex: string }).cborHex;
      fs.writeFileSync(stale, JSON.stringify({ type: 'NodeOperationalCertificateIssueCounter', description: 'Next certificate issue number: 0', cborHex: `8200${cborHex.slice(4)}` }, null, 4) + '\n');
      const low = path.join(e.dir, 'low.opcert');
      const r = await cold(e, 'issue-opcert', '--kes-vkey', path.join(e.dir, 'staged.vkey'), '--cold-skey', e.coldSkey, '--counter', stale, `--kes-period=${period}`, '--out', low);
      expect(r.code).toBe(0);
      await expectRefused(['import-opcert', low], 'OPCERT_COUNTER_TOO_LOW');
    });

    test.each([
      ['not a file', (d: string) => path.join(d, 'missing.cert'), 'FILE_UNREADABLE'],
      ['garbage bytes', (d: string) => write(d, 'garbage.cert', 'this is not an envelope'), 'FILE_NOT_ENVELOPE'],
      ['a verification key instead of an opcert', () => vectorPath('cardano-cli', 'kes.vkey'), 'ENVELOPE_WRONG_TYPE'],
      ['bad hex', (d: string) => write(d, 'badhex.cert', JSON.stringify({ type: 'NodeOperationalCertificate', description: '', cborHex: 'zz' })), 'ENVELOPE_BAD_HEX'],
      ['truncated CBOR', (d: string) => write(d, 'short.cert', JSON.stringify({ type: 'NodeOperationalCertificate', description: '', cborHex: '8284' })), 'CBOR_MALFORMED'],
    ])('a garbage opcert file: %s', (_what, file, code) => expectRefused(['import-opcert', file(e.dir)], code, EXIT.BAD_INPUT));

    test('after all that, the staged key still imports its own opcert and uploads', async () => {
      expect(await ctlJson(e, 'import-opcert', stagedOpcert)).toMatchObject({ counter: 2 });
      expect(await ctlJson(e, 'upload')).toMatchObject({ counter: 2, replacedActive: true });
      expect((await agentStatus(e)).active?.opcert.counter).toBe(2);
    });
  });

  test('drop-active wipes the active key', async () => {
    expect((await ctlJson<{ hadKey: boolean }>(e, 'drop-active')).hadKey).toBe(true);
    expect((await agentStatus(e)).active).toBeNull();
    expect(await ctlJson(e, 'drop-active')).toEqual({ hadKey: false, nodesConnected: 0, nodesConfirmed: 0 });
  });
});

function write(dir: string, name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}
