/**
 * The life of a key through the built binaries over real sockets: kes-cold on the "cold host",
 * kes-agent holding the key, kes-ctl stepping it through staging → opcert → active.
 * Every refusal must leave both slots exactly as they were.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vectorPath } from '../helpers/vectors';
import { EXIT } from '../../src/cli/exit-codes';
import {
  type AgentEnv,
  cold,
  ctl,
  ctlJson,
  currentPeriod,
  makeAgentEnv,
  stageAndCertify,
  startAgent,
  stopAgentEnv,
} from '../helpers/agent-env';

interface StatusJson {
  currentKesPeriod: number;
  serviceClients: number;
  staged: null | { kesVkey: string; opcert: null | { counter: number; kesPeriod: number } };
  active: null | { kesVkey: string; counter: number; startKesPeriod: number; evolution: number; periodsRemaining: number; expiresAt: string };
  expired: null | { kesVkey: string };
  warnings: string[];
}

const status = (e: AgentEnv): Promise<StatusJson> => ctlJson<StatusJson>(e, 'status');

/** Both slots, reduced to what a refusal must not change. */
async function slots(e: AgentEnv): Promise<string> {
  const s = await status(e);
  return JSON.stringify({ staged: s.staged, active: s.active && { ...s.active, periodsRemaining: undefined } });
}

describe('kes-ctl against a running kes-agent', () => {
  let e: AgentEnv;

  beforeAll(async () => {
    e = await makeAgentEnv();
    await startAgent(e);
  });
  afterAll(async () => {
    await stopAgentEnv(e);
  });

  test('the agent starts quietly with private sockets', () => {
    expect(e.agent!.stderr).toBe('');
    expect(fs.statSync(e.controlSocket).mode & 0o777).toBe(0o600);
    expect(fs.statSync(e.serviceSocket).mode & 0o777).toBe(0o660);
  });

  test('empty agent: every step that needs a key is refused with its code', async () => {
    for (const [args, code] of [
      [['export-verkey'], 'NO_STAGED_KEY'],
      [['upload'], 'NO_STAGED_KEY'],
      [['import-opcert', vectorPath('cardano-cli', 'opcert.cert')], 'NO_STAGED_KEY'],
    ] as const) {
      const r = await ctl(e, ...args);
      expect(r.code).toBe(EXIT.REFUSED);
      expect(r.stderr).toMatch(new RegExp(`\\[${code}\\]\\n$`));
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
    const s = await status(e);
    expect(s.staged).toBeNull();
    expect(s.active).toBeNull();
    expect(await ctlJson(e, 'drop-staged')).toEqual({ hadKey: false });
  });

  test('the whole flow: keygen → export-verkey → issue-opcert → import-opcert → upload → status', async () => {
    const vkey = path.join(e.dir, 'flow.vkey');
    const k = await ctlJson<{ kesVkey: string; replacedStaged: boolean }>(e, 'keygen', '--out', vkey);
    expect(k.kesVkey).toMatch(/^[0-9a-f]{64}$/);
    expect(k.replacedStaged).toBe(false);
    expect(fs.readFileSync(vkey, 'utf8')).toBe(
      JSON.stringify({ type: 'KesVerificationKey_ed25519_kes_2^6', description: 'KES Verification Key', cborHex: `5820${k.kesVkey}` }, null, 4) + '\n',
    );
    // export-verkey to stdout is the same envelope, byte for byte.
    const exported = await ctl(e, 'export-verkey');
    expect(exported.stdout).toBe(fs.readFileSync(vkey, 'utf8'));

    const period = await currentPeriod(e);
    const opcert = path.join(e.dir, 'flow.opcert');
    const issued = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${period}`, '--out', opcert);
    expect(issued.code).toBe(0);

    const imp = await ctlJson<Record<string, unknown>>(e, 'import-opcert', opcert);
    expect(imp).toEqual({ kesVkey: k.kesVkey, counter: 0, startKesPeriod: period, currentKesPeriod: period, startsInFuture: false });
    const staged = await status(e);
    expect(staged.staged).toMatchObject({ kesVkey: k.kesVkey, opcert: { counter: 0, kesPeriod: period } });

    const up = await ctlJson<Record<string, unknown>>(e, 'upload');
    expect(up).toMatchObject({ kesVkey: k.kesVkey, counter: 0, startKesPeriod: period, evolution: 0, replacedActive: false, nodesConnected: 0, nodesConfirmed: 0 });

    const s = await status(e);
    expect(s.staged).toBeNull();
    expect(s.currentKesPeriod).toBe(period);
    expect(s.serviceClients).toBe(0);
    expect(s.active).toMatchObject({ kesVkey: k.kesVkey, counter: 0, startKesPeriod: period, evolution: 0, periodsRemaining: 62 });
    expect(Date.parse(s.active!.expiresAt)).toBeGreaterThan(Date.now() + 90 * 86400_000);
    const human = await ctl(e, 'status');
    expect(human.stdout).toMatch(new RegExp(`^active: +${k.kesVkey.slice(0, 16)}…`, 'm'));
    expect(human.stdout).toContain('evolution 0 of 62, 62 periods remaining');
  });

  test('keygen refuses to replace a staged key without --force, and --force replaces it', async () => {
    const first = await ctlJson<{ kesVkey: string }>(e, 'keygen');
    const refused = await ctl(e, 'keygen');
    expect(refused.code).toBe(EXIT.REFUSED);
    expect(refused.stderr).toContain('[STAGED_KEY_EXISTS]');
    expect((await status(e)).staged?.kesVkey).toBe(first.kesVkey);
    const second = await ctlJson<{ kesVkey: string; replacedStaged: boolean }>(e, 'keygen', '--force');
    expect(second.replacedStaged).toBe(true);
    expect(second.kesVkey).not.toBe(first.kesVkey);
    expect(await ctlJson(e, 'drop-staged')).toEqual({ hadKey: true });
  });

  describe('every refusal leaves both slots intact', () => {
    let stagedOpcert: string;

    beforeAll(async () => {
      // An active key (counter 1, from the flow above: counter file is at 1 now) and a staged one.
      const active = await stageAndCertify(e, { name: 'active' });
      await ctlJson(e, 'import-opcert', active.opcert);
      await ctlJson(e, 'upload');
      const staged = await stageAndCertify(e, { name: 'staged' });
      stagedOpcert = staged.opcert;
    });

    async function expectRefused(args: string[], code: string, exit: number = EXIT.REFUSED): Promise<void> {
      const before = await slots(e);
      const r = await ctl(e, ...args);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: exit, stdout: '' });
      expect(r.stderr).toMatch(new RegExp(`^kes-ctl: error: .*\\[${code}\\]\\n$`));
      expect(await slots(e)).toBe(before);
    }

    test('upload without an opcert', () => expectRefused(['upload'], 'NO_OPCERT'));

    test('an opcert from another cold key (the cardano-cli fixture)', () =>
      expectRefused(['import-opcert', vectorPath('cardano-cli', 'opcert.cert')], 'OPCERT_WRONG_COLD_KEY'));

    test('an opcert for another KES key (the active one\'s)', () =>
      expectRefused(['import-opcert', path.join(e.dir, 'active.opcert')], 'OPCERT_WRONG_KES_KEY'));

    test('an expired opcert (start period 62 periods ago)', async () => {
      const period = await currentPeriod(e);
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
      const r = await cold(e, 'issue-opcert', '--kes-vkey', path.join(e.dir, 'staged.vkey'), '--cold-skey', e.coldSkey, '--counter', stale, `--kes-period=${await currentPeriod(e)}`, '--out', low);
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
      expect((await status(e)).active?.counter).toBe(2);
    });
  });

  test('drop-active wipes the active key', async () => {
    expect((await ctlJson<{ hadKey: boolean }>(e, 'drop-active')).hadKey).toBe(true);
    expect((await status(e)).active).toBeNull();
    expect(await ctlJson(e, 'drop-active')).toEqual({ hadKey: false, nodesConnected: 0, nodesConfirmed: 0 });
  });
});

function write(dir: string, name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}
