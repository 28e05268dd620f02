/**
 * SO_PEERCRED checks with real peers: a client process running as another uid (root in this
 * sandbox can spawn one as nobody). The socket here is deliberately world-connectable, so the
 * kernel's file-mode gate is out of the way and only the credential check decides.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNative } from '../../src/native';
import { NO_EXTRA_PEERS, checkPeer, peerAllowed, type PeerAccess, type PeerVerdict } from '../../src/platform/peer-access';
import { NOBODY, itAsOtherUser, otherUser } from '../helpers/other-user';

const SELF = process.getuid!();
const nobody = otherUser();

describe('peerAllowed (the rule)', () => {
  const cred = { pid: 1, uid: 1000, gid: 2000 };
  it.each<[string, PeerAccess, number, boolean]>([
    ['same uid as the agent', NO_EXTRA_PEERS, 1000, true],
    ['another uid, nothing listed', NO_EXTRA_PEERS, 0, false],
    ['uid listed', { uids: [1000], gids: [] }, 0, true],
    ['primary gid listed', { uids: [], gids: [2000] }, 0, true],
    ['other uids and gids listed', { uids: [1001], gids: [2001] }, 0, false],
  ])('%s', (_name, access, self, expected) => {
    expect(peerAllowed(cred, access, self)).toBe(expected);
  });
});

/** Accept one connection from a child running as us or as nobody, and return the verdict on it. */
async function verdictFor(as: 'self' | 'nobody', access: PeerAccess): Promise<{ verdict: PeerVerdict; childPid: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-peercred-'));
  fs.chmodSync(dir, 0o755);
  const sockPath = path.join(dir, 's.sock');
  const native = loadNative();
  let child: ChildProcess | undefined;
  let server: net.Server | undefined;
  try {
    const verdict = await new Promise<PeerVerdict>((resolve, reject) => {
      server = net.createServer((s) => {
        resolve(checkPeer(s, native, access, SELF));
        s.destroy();
      });
      server.on('error', reject);
      server.listen(sockPath, () => {
        fs.chmodSync(sockPath, 0o777);
        const script = `require('net').connect(${JSON.stringify(sockPath)}).on('error',()=>{}).on('close',()=>process.exit(0))`;
        const c = as === 'self' ? spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] }) : nobody.start(['-e', script]).child;
        child = c;
        let stderr = '';
        c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        c.on('error', reject);
        // Ending before it connected is a failure, not a hang until the test's timeout.
        c.on('exit', (code, signal) => reject(new Error(`the peer (${as}) ended before connecting: ${code ?? signal}\n${stderr}`)));
      });
    });
    return { verdict, childPid: child?.pid ?? -1 };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      const c = child;
      await new Promise((resolve) => {
        c.once('exit', resolve);
        c.kill('SIGKILL');
      });
    }
    const srv = server;
    if (srv) await new Promise((resolve) => srv.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('checkPeer on real connections', () => {
  it('allows a peer with the agent\'s own uid, and reports its real pid', async () => {
    const { verdict, childPid } = await verdictFor('self', NO_EXTRA_PEERS);
    expect(verdict.allowed).toBe(true);
    expect(verdict.cred).toEqual({ pid: childPid, uid: SELF, gid: process.getgid!() });
  });

  itAsOtherUser('refuses a peer running as another uid, naming its uid', async () => {
    const { verdict, childPid } = await verdictFor('nobody', NO_EXTRA_PEERS);
    expect(verdict.allowed).toBe(false);
    expect(verdict.cred).toEqual({ pid: childPid, uid: NOBODY, gid: NOBODY });
    if (!verdict.allowed) expect(verdict.reason).toBe(`uid ${NOBODY} gid ${NOBODY} is not allowed`);
  });

  itAsOtherUser('allows that peer once its uid, or its gid, is listed', async () => {
    expect((await verdictFor('nobody', { uids: [NOBODY], gids: [] })).verdict.allowed).toBe(true);
    expect((await verdictFor('nobody', { uids: [], gids: [NOBODY] })).verdict.allowed).toBe(true);
  });

  it('fails closed on a socket without a file descriptor', () => {
    const s = new net.Socket();
    const v = checkPeer(s, loadNative(), NO_EXTRA_PEERS, SELF);
    expect(v.allowed).toBe(false);
    s.destroy();
  });
});
