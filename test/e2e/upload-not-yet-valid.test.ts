/**
 * The rotation mistake of an opcert issued for a later KES period: the real agent (mainnet clock,
 * 36-hour periods, so no boundary falls inside the test) refuses to swap its working key for it,
 * over kes-ctl and over the Haskell Control protocol (our kes-agent-control), and nothing changes;
 * `kes-ctl upload --force` then does it. Built binaries on real sockets; opcerts from kes-cold.
 */
import * as path from 'node:path';
import { agentForEachDescribe, cold, ctl, ctlJson, currentPeriod, stageAndCertify } from '../helpers/agent-env';
import { BIN, run, type RunResult } from '../helpers/processes';

const CONTROL_BIN = path.join(path.dirname(BIN.ctl), 'kes-agent-control.js');
/** How far ahead the mistaken opcert starts: the case seen in the field (1579 → 1700). */
const PERIODS_AHEAD = 121;

interface StatusJson {
  currentKesPeriod: number;
  staged: null | { kesVkey: string; opcert: null | { counter: number; kesPeriod: number } };
  active: null | { kesVkey: string; counter: number; startKesPeriod: number; evolution: number };
}

describe('upload of an opcert that starts later, over a key that signs now', () => {
  const agent = agentForEachDescribe();
  let kp: number;
  let working: string;
  beforeAll(async () => {
    const e = agent();
    kp = await currentPeriod(e);
    const first = await stageAndCertify(e, { name: 'first' });
    await ctlJson(e, 'import-opcert', first.opcert);
    await ctlJson(e, 'upload');
    working = first.kesVkey;
  });

  test('kes-ctl upload is refused (exit 6, OPCERT_NOT_YET_VALID, both periods); status stays ok with the same key; --force then installs it', async () => {
    const e = agent();
    const later = kp + PERIODS_AHEAD;
    const next = await stageAndCertify(e, { name: 'later', kesPeriod: later });
    const imported = await ctlJson<{ startsInFuture: boolean }>(e, 'import-opcert', next.opcert);
    expect(imported.startsInFuture).toBe(true);

    const up = await ctl(e, 'upload');
    expect(up.code).toBe(6);
    expect(up.stdout).toBe('');
    expect(up.stderr).toMatch(/\[OPCERT_NOT_YET_VALID\]\n$/);
    expect(up.stderr).toContain(`starts at KES period ${later}`);
    expect(up.stderr).toContain(`current period ${kp}`);
    expect(up.stderr).toContain(`KES periods ${kp}..`);
    expect(up.stderr).toContain('--force');

    const check = await ctl(e, 'status', '--check');
    expect(check.code).toBe(0);
    const s = await ctlJson<StatusJson>(e, 'status');
    expect(s.active?.kesVkey).toBe(working);
    expect(s.staged).toMatchObject({ kesVkey: next.kesVkey, opcert: { kesPeriod: later } });

    const forced = await ctlJson<{ kesVkey: string; startKesPeriod: number; evolution: number; replacedActive: boolean }>(e, 'upload', '--force');
    expect(forced).toMatchObject({ kesVkey: next.kesVkey, startKesPeriod: later, evolution: 0, replacedActive: true });
    // What the operator was warned of: no key can sign now.
    expect((await ctl(e, 'status', '--check')).code).toBe(8);
  });

  test('kes-agent-control install-key is refused with "OpCert validation failed" (exit 2) and says why; the staged key stays', async () => {
    const e = agent();
    // A fresh working key first (the previous test left a not-yet-valid one active).
    const now = await stageAndCertify(e, { name: 'again' });
    await ctlJson(e, 'import-opcert', now.opcert);
    await ctlJson(e, 'upload', '--force');
    expect((await ctl(e, 'status', '--check')).code).toBe(0);

    const vkey = path.join(e.dir, 'hs.vkey');
    const hsctl = (...args: string[]): Promise<RunResult> => run(CONTROL_BIN, [...args, '-c', e.controlSocket], { env: e.env });
    expect((await hsctl('gen-staged-key', '--kes-verification-key-file', vkey)).code).toBe(0);
    const later = kp + PERIODS_AHEAD;
    const opcert = path.join(e.dir, 'hs.opcert');
    const issued = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${later}`, '--out', opcert);
    expect(issued.code).toBe(0);

    const install = await hsctl('install-key', '--opcert-file', opcert);
    expect({ code: install.code, stderr: install.stderr }).toEqual({ code: 2, stderr: '' });
    const lines = install.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Error: OpCert validation failed');
    expect(lines[1]).toContain(`starts at KES period ${later}, after the agent's current KES period ${kp}`);
    expect(lines[1]).toContain('kes-ctl upload --force');

    const s = await ctlJson<StatusJson>(e, 'status');
    expect(s.active?.kesVkey).toBe(now.kesVkey);
    expect(s.staged?.kesVkey).toMatch(/^[0-9a-f]{64}$/);
    expect((await ctl(e, 'status', '--check')).code).toBe(0);
    // The agent's log tells the reason the Haskell wire cannot carry.
    await e.agent!.waitFor(/install-key refused.*OPCERT_NOT_YET_VALID/);
  });
});
