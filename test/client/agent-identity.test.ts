/**
 * Which uids a client takes for the agent: --agent-uid, KES_AGENT_UID (a uid or a user name),
 * else the owner of the system socket directory. The attacks themselves are in
 * test/e2e/impostor.test.ts.
 */
import * as fs from 'node:fs';
import { agentTrustFrom, defaultAgentTrust } from '../../src/client/agent-identity';
import { EXIT } from '../../src/cli/exit-codes';
import { KesError } from '../../src/errors';
import { BIN, run, tempDir } from '../helpers/processes';

const isRoot = process.getuid?.() === 0;

describe('agent trust', () => {
  test('the flag wins over the variable; both take a uid or a user name from /etc/passwd', () => {
    expect(agentTrustFrom('995', { KES_AGENT_UID: '7' })).toEqual({ agentUids: [995], source: '--agent-uid' });
    expect(agentTrustFrom(undefined, { KES_AGENT_UID: '7' })).toEqual({ agentUids: [7], source: 'KES_AGENT_UID' });
    expect(agentTrustFrom(undefined, { KES_AGENT_UID: 'root' })).toEqual({ agentUids: [0], source: 'KES_AGENT_UID' });
  });

  test.each([
    ['no-such-user-here', /^--agent-uid: no user named "no-such-user-here" in \/etc\/passwd; expected a uid or a user name$/],
    ['4294967295', /^--agent-uid: expected a uid \(0\.\.4294967294\) or a user name, got "4294967295"$/],
  ])('a bad --agent-uid %s is a setting error naming the flag', (value, message) => {
    let err: unknown;
    try {
      agentTrustFrom(value, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KesError);
    expect(err).toMatchObject({ code: 'SETTING_INVALID', message: expect.stringMatching(message) });
  });

  test('by default: the owner of the system socket directory, or nobody besides root and this user', () => {
    const dir = tempDir('kes-trust-');
    try {
      expect(defaultAgentTrust(`${dir}/absent`).agentUids).toEqual([]);
      if (isRoot) fs.chownSync(dir, 995, 995);
      expect(defaultAgentTrust(dir)).toEqual({ agentUids: [isRoot ? 995 : process.getuid!()], source: `the owner of ${dir}` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('kes-ctl and kes-node: a bad --agent-uid is a usage error (exit 2), one line', async () => {
    const dir = tempDir('kes-trust-');
    try {
      const message = `${dir}/header.bin`;
      fs.writeFileSync(message, 'a header');
      for (const [bin, args] of [[BIN.ctl, ['status']], [BIN.node, ['sign', '--message', message]]] as const) {
        const r = await run(bin, [...args, '--agent-uid', 'no-such-user-here', '--socket', `${dir}/absent.sock`]);
        expect(r.code).toBe(EXIT.USAGE);
        expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([expect.stringMatching(/error: --agent-uid: no user named "no-such-user-here"/)]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
