/**
 * A socket file at the agent's path that belongs to another user. The agent runs as nobody here,
 * because root may remove and connect to anything: the cases only arise for an agent running as
 * its own service user (systemd User=kes-agent), which is the recommended setup.
 *
 * - A stale one (nothing listens) in a sticky world-writable directory, as /tmp is: the agent
 *   could not remove it (EPERM) and once said "internal error: EPERM ... unlink" (exit 1). Such
 *   a directory is now refused before the socket is looked at (another user could have put
 *   their socket there): one line naming the directory and what is expected (exit 3).
 * - One the agent cannot even connect to (EACCES): it cannot tell a stale socket from a live
 *   agent's, so it must leave it alone, even in a directory where it could remove it
 *   (unix-listener.ts: stale-socket recovery never takes a live agent's socket).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { Proc, run, tempDir } from '../helpers/processes';
import { NOBODY, describeAsOtherUser, otherUser } from '../helpers/other-user';
import { vectorPath } from '../helpers/vectors';

const stranger = otherUser();

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A socket file left by a listener (this process's uid: root) that was killed: nothing listens on it. */
async function leaveStaleSocket(socketPath: string): Promise<void> {
  const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`;
  const r = await run('-e', [script]);
  if (r.signal !== 'SIGKILL' || !fs.lstatSync(socketPath).isSocket()) throw new Error(`no stale socket at ${socketPath}: ${r.stderr}`);
}

/** Does something answer on `socketPath` (as this process's uid)? */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describeAsOtherUser('kes-agent run (as uid 65534) and another user\'s socket at its path', () => {
  let root: string;
  let coldVkey: string;
  beforeEach(() => {
    root = tempDir('kes-stale-owner-');
    fs.chmodSync(root, 0o755); // searchable by nobody
    coldVkey = path.join(root, 'cold.vkey');
    fs.copyFileSync(vectorPath('cardano-cli', 'cold.vkey'), coldVkey);
    fs.chmodSync(coldVkey, 0o644);
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  function agentArgs(controlSocket: string, serviceSocket: string): string[] {
    return [stranger.bin('agent'), 'run', '--cold-vkey', coldVkey, '--control-socket', controlSocket, '--service-socket', serviceSocket, '--allow-unlocked-memory'];
  }

  test('a stale socket of root\'s in a sticky world-writable dir: exit 3, one line naming the directory and what is expected, nothing removed', async () => {
    const shared = path.join(root, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777); // like /tmp: anyone may create, only the owner may remove
    const stale = path.join(shared, 'control.sock');
    await leaveStaleSocket(stale);
    fs.chmodSync(stale, 0o777); // anyone may connect, so nobody's probe sees it is stale (ECONNREFUSED)
    const before = fs.lstatSync(stale);

    const r = await stranger.run(agentArgs(stale, path.join(shared, 'service.sock')));
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(r.stderr).toMatch(
      new RegExp(`^kes-agent: error: socket ${escapeRe(stale)}: directory ${escapeRe(shared)} is writable by other users \\(mode 1777\\); expected a directory owned by the agent's user or root that no other user can write to .*\\[SOCKET_DIR_UNSAFE\\]\\n$`),
    );
    expect(r.stderr).not.toMatch(/internal error|    at /);
    expect(fs.readdirSync(shared)).toEqual(['control.sock']);
    expect(fs.lstatSync(stale)).toMatchObject({ ino: before.ino, uid: 0 });
  });

  test('a live socket it cannot connect to is left alone even where it could remove it: exit 3, the listener keeps its path', async () => {
    const own = path.join(root, 'own');
    fs.mkdirSync(own, { mode: 0o750 });
    fs.chownSync(own, NOBODY, NOBODY); // the agent's own socket dir: it may remove anything in it
    const taken = path.join(own, 'control.sock');
    const listener = new Proc('-e', [`require('net').createServer((c) => c.end()).listen(${JSON.stringify(taken)}, () => console.log('listening'))`]);
    let agent: Proc | undefined;
    try {
      await listener.waitFor('listening');
      fs.chmodSync(taken, 0o700); // root's only: nobody's connect() gets EACCES
      const before = fs.lstatSync(taken);

      agent = stranger.start(agentArgs(taken, path.join(own, 'service.sock')));
      // Either it refuses (and exits) or it took the path over and started: whichever comes first.
      const outcome = await Promise.race([agent.exited.then((x) => ({ exited: x })), agent.waitFor('agent: started').then(() => ({ started: true }))]);
      expect(outcome).toEqual({ exited: { code: EXIT.BAD_INPUT, signal: null } });
      expect(agent.stderr).toMatch(
        new RegExp(`^kes-agent: error: socket ${escapeRe(taken)}: cannot tell whether an agent is listening on it \\(connecting failed: EACCES.*uid 0.*\\[SOCKET_IN_USE\\]\\n$`),
      );
      expect(fs.readdirSync(own)).toEqual(['control.sock']);
      expect(fs.lstatSync(taken).ino).toBe(before.ino);
      expect(await answers(taken)).toBe(true);
    } finally {
      if (agent !== undefined) await agent.stop('SIGKILL');
      await listener.stop();
    }
  });
});
