/**
 * The counter floor through the built binaries: a fresh agent has none (import-opcert warns,
 * status says so), an upload sets it, drop-active keeps it, and an opcert issued from a stale
 * counter file is then refused naming both counters (without the floor, counter 5 after 26 was accepted).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { agentForEachDescribe, cold, ctl, ctlJson, currentPeriod, stageAndCertify, type AgentEnv } from '../helpers/agent-env';

jest.setTimeout(60_000);

const agent = agentForEachDescribe();

/** A copy of the counter file rewound to 0: a stale copy on the cold host. */
function staleCounter(e: AgentEnv): string {
  const stale = path.join(e.dir, 'stale.counter');
  const cborHex = (JSON.parse(fs.readFileSync(e.counter, 'utf8')) as { cborHex: string }).cborHex;
  fs.writeFileSync(stale, JSON.stringify({ type: 'NodeOperationalCertificateIssueCounter', description: 'Next certificate issue number: 0', cborHex: `8200${cborHex.slice(4)}` }, null, 4) + '\n');
  return stale;
}

test('none on a fresh agent (import warns), set by upload, kept after drop-active; a stale counter is then refused', async () => {
  const e = agent();
  let s = await ctlJson<Record<string, unknown>>(e, 'status');
  expect(s['protocolVersion']).toBe(2);
  expect(s['counterFloor']).toBeNull();
  expect((await ctl(e, 'status')).stdout).toMatch(/^counter: +no floor: no key has been active since the agent started, /m);

  const first = await stageAndCertify(e, { name: 'first' });
  const human = await ctl(e, 'import-opcert', first.opcert);
  expect(human.code).toBe(EXIT.OK);
  expect(human.stdout).toMatch(/^warning: the agent has had no active key since it started, so it could not check counter 0 against earlier ones: /m);
  await ctlJson(e, 'upload');

  const second = await stageAndCertify(e, { name: 'second' });
  const imported = await ctlJson<Record<string, unknown>>(e, 'import-opcert', second.opcert);
  expect(imported).toMatchObject({ counter: 1, counterFloor: 0, warnings: [] });
  await ctlJson(e, 'upload');
  expect(await ctlJson(e, 'drop-active')).toMatchObject({ hadKey: true });

  s = await ctlJson<Record<string, unknown>>(e, 'status');
  expect(s).toMatchObject({ active: null, counterFloor: 1 });
  expect((await ctl(e, 'status')).stdout).toMatch(/^counter: +floor 1: an opcert with a lower counter is refused/m);

  const vkey = path.join(e.dir, 'third.vkey');
  await ctlJson(e, 'keygen', '--out', vkey);
  const low = path.join(e.dir, 'low.opcert');
  const r = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', staleCounter(e), `--kes-period=${await currentPeriod(e)}`, '--out', low);
  expect(r.code).toBe(0);
  const refused = await ctl(e, 'import-opcert', low);
  expect(refused.code).toBe(EXIT.REFUSED);
  expect(refused.stderr).toMatch(/^kes-ctl: error: .*opcert counter 0 is lower than 1, the counter of a key this agent had active earlier .*\[OPCERT_COUNTER_TOO_LOW\]\n$/);
});
