/**
 * SO_PEERCRED checks with real peers: a client process running as another uid (root in this
 * sandbox can spawn one as nobody). The socket here is deliberately world-connectable, so the
 * kernel's file-mode gate is out of the way and only the credential check decides.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNative } from '../../src/native';
import { NO_EXTRA_PEERS, checkPeer, peerAllowed, type PeerAccess, type PeerVerdict } from '../../src/server/peer-access';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const SELF = process.getuid!();

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

/** Accept one connection from a child running as `uid`, and return the verdict on it. */
async function verdictFor(uid: number | undefined, access: PeerAccess): Promise<{ verdict: PeerVerdict; childPid: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-peercred-'));
  fs.chmodSync(dir, 0o755);
  const sockPath = path.join(dir, 's.sock');
  const native = loadNative();
  let childPid = -1;
  try {
    const verdict = await new Promise<PeerVerdict>((resolve, reject) => {
      const server = net.createServer((s) => {
        resolve(checkPeer(s, native, access, SELF));
        s.destroy();
        server.close();
      });
      server.listen(sockPath, () => {
        fs.chmodSync(sockPath, 0o777);
        const child = spawn(process.execPath, ['-e', `require('net').connect(${JSON.stringify(sockPath)}).on('error',()=>{}).on('close',()=>process.exit(0))`], {
          stdio: 'ignore',
          ...(uid === undefined ? {} : { uid, gid: NOBODY }),
        });
        childPid = child.pid ?? -1;
        child.on('error', reject);
      });
    });
    return { verdict, childPid };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('checkPeer on real connections', () => {
  it('allows a peer with the agent\'s own uid, and reports its real pid', async () => {
    const { verdict, childPid } = await verdictFor(undefined, NO_EXTRA_PEERS);
    expect(verdict.allowed).toBe(true);
    expect(verdict.cred).toEqual({ pid: childPid, uid: SELF, gid: process.getgid!() });
  });

  (isRoot ? it : it.skip)('refuses a peer running as another uid, naming its uid (needs root to spawn as nobody)', async () => {
    const { verdict, childPid } = await verdictFor(NOBODY, NO_EXTRA_PEERS);
    expect(verdict.allowed).toBe(false);
    expect(verdict.cred).toEqual({ pid: childPid, uid: NOBODY, gid: NOBODY });
    if (!verdict.allowed) expect(verdict.reason).toBe(`uid ${NOBODY} gid ${NOBODY} is not allowed`);
  });

  (isRoot ? it : it.skip)('allows that peer once its uid, or its gid, is listed', async () => {
    expect((await verdictFor(NOBODY, { uids: [NOBODY], gids: [] })).verdict.allowed).toBe(true);
    expect((await verdictFor(NOBODY, { uids: [], gids: [NOBODY] })).verdict.allowed).toBe(true);
  });

  it('fails closed on a socket without a file descriptor', () => {
    const s = new net.Socket();
    const v = checkPeer(s, loadNative(), NO_EXTRA_PEERS, SELF);
    expect(v.allowed).toBe(false);
    s.destroy();
  });
});
