/**
 * kes-node sign against the real agent when the node's settings do not fit the agent's: another
 * pool's cold key, another network. Both are known as soon as the key arrives, so kes-node must
 * say so at once, with its own exit code, instead of waiting out --timeout and talking about
 * periods. The agent runs mainnet (36-hour periods: no boundary inside the test); built binaries
 * on real sockets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readColdVerificationKeyFile } from '../../src/cardano';
import { toHex } from '../../src/crypto/bytes';
import { EXIT } from '../../src/cli/exit-codes';
import { agentForEachDescribe, cold, ctlJson, currentPeriod, stageAndCertify } from '../helpers/agent-env';
import { BIN, run, type RunResult } from '../helpers/processes';

/** --timeout for these runs: an hour, so an exit other than 7 cannot come from waiting it out. */
const LONG_TIMEOUT_MS = 3_600_000;
/** The key is uploaded this many periods into its opcert, so it reaches the node at this evolution (> 0: the agent's period shows). */
const EVOLUTION = 3;

describe('kes-node sign with settings that do not fit the agent', () => {
  const agent = agentForEachDescribe();
  let kp: number;
  let message: string;
  beforeAll(async () => {
    const e = agent();
    kp = await currentPeriod(e);
    const b = await stageAndCertify(e, { kesPeriod: kp - EVOLUTION });
    await ctlJson(e, 'import-opcert', b.opcert);
    await ctlJson(e, 'upload');
    message = path.join(e.dir, 'header.bin');
    fs.writeFileSync(message, 'a block header body');
  });

  const sign = (...args: string[]): Promise<RunResult> => {
    const e = agent();
    return run(BIN.node, ['sign', '--message', message, '--socket', e.serviceSocket, '--timeout', String(LONG_TIMEOUT_MS), ...args], { env: e.env });
  };

  test('the right settings sign (the baseline for the two below)', async () => {
    const e = agent();
    const r = await sign('--network', 'mainnet', '--cold-vkey', e.coldVkey);
    expect(r).toMatchObject({ code: EXIT.OK, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^evolution: +${EVOLUTION} `, 'm'));
  });

  test('--cold-vkey of another pool: exit 4 at once, "cold key mismatch" with both cold vks', async () => {
    const e = agent();
    const other = path.join(e.dir, 'other');
    const k = await cold(e, 'keygen', '--cold-vkey', `${other}.vkey`, '--cold-skey', `${other}.skey`, '--counter', `${other}.counter`);
    expect(k.code).toBe(0);
    const r = await sign('--cold-vkey', `${other}.vkey`);
    expect(r.code).toBe(EXIT.INVALID);
    expect(r.stdout).toBe('');
    const agents = toHex(readColdVerificationKeyFile(e.coldVkey));
    const given = toHex(readColdVerificationKeyFile(`${other}.vkey`));
    expect(r.stderr).toBe(
      `kes-node: error: cold key mismatch: the opcert was issued by cold key ${agents}, not by this node's cold key ${given} (--cold-vkey ${other}.vkey) [OPCERT_WRONG_COLD_KEY]\n`,
    );
  });

  test('--network preview against a mainnet agent: exit 14 at once, "network mismatch" naming both networks', async () => {
    const e = agent();
    const r = await sign('--network', 'preview', '--cold-vkey', e.coldVkey);
    expect(r.code).toBe(EXIT.NETWORK_MISMATCH);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^kes-node: error: network mismatch: the agent runs mainnet \(its key is at KES period \d+, the current period of mainnet\), this node preview \(current KES period \d+\)/);
    expect(r.stderr).toContain(`KES period ${kp}, the current period of mainnet`);
    expect(r.stderr).toMatch(/\(--network preview\) \[NETWORK_MISMATCH\]\n$/);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });
});
