/**
 * Default socket locations. The agent as the unit's User= (non-root, owning /run/kes-agent) and
 * its clients (kes-ctl as the operator, kes-node as the node user) must meet without flags. The
 * system directory is a parameter so these tests use a temp dir, and the uid cases run as nobody
 * in a child process (root always gets the system dir).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONTROL_SOCKET_NAME, clientDefaultSocket, defaultSocketDir } from '../../src/platform/socket-paths';
import { NOBODY, itAsOtherUser, itUnless, otherUser } from '../helpers/other-user';

const isRoot = process.getuid?.() === 0;
const nobody = otherUser();

/** Evaluate the built module's functions as nobody (from the copy that uid can read). */
async function asNobody(expr: string): Promise<unknown> {
  const script = `const p = require(${JSON.stringify(nobody.path('dist', 'src', 'platform', 'socket-paths.js'))}); console.log(JSON.stringify(${expr}));`;
  const r = await nobody.run(['-e', script], { env: { PATH: process.env['PATH'] ?? '' } });
  if (r.code !== 0) throw new Error(`node -e as uid ${NOBODY} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('socket path defaults', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-paths-'));
    fs.chmodSync(root, 0o755);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  itUnless(isRoot ? undefined : 'needs root')('root: the system directory', () => {
    expect(defaultSocketDir({}, path.join(root, 'sys'))).toBe(path.join(root, 'sys'));
  });

  itAsOtherUser('a non-root agent uses the system directory when it owns it (systemd User= + RuntimeDirectory=), else XDG or temp', async () => {
    const sys = path.join(root, 'sys');
    fs.mkdirSync(sys, { mode: 0o750 });
    expect(await asNobody(`p.defaultSocketDir({ XDG_RUNTIME_DIR: '/xdg' }, ${JSON.stringify(sys)})`)).toBe('/xdg/kes-agent');
    fs.chownSync(sys, NOBODY, NOBODY);
    expect(await asNobody(`p.defaultSocketDir({ XDG_RUNTIME_DIR: '/xdg' }, ${JSON.stringify(sys)})`)).toBe(sys);
  });

  itAsOtherUser('a client finds the system agent\'s socket when its own default has none', async () => {
    const sys = path.join(root, 'sys');
    fs.mkdirSync(sys, { mode: 0o755 });
    const sysSock = path.join(sys, CONTROL_SOCKET_NAME);
    const expr = `p.clientDefaultSocket('control.sock', { XDG_RUNTIME_DIR: ${JSON.stringify(path.join(root, 'xdg'))} }, ${JSON.stringify(sys)})`;
    // Nothing anywhere: the user's own default, so the error names it.
    expect(await asNobody(expr)).toBe(path.join(root, 'xdg', 'kes-agent', CONTROL_SOCKET_NAME));
    fs.writeFileSync(sysSock, '');
    expect(await asNobody(expr)).toBe(sysSock);
    // The user's own agent wins when it has a socket.
    fs.mkdirSync(path.join(root, 'xdg', 'kes-agent'), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(root, 'xdg', 'kes-agent', CONTROL_SOCKET_NAME), '');
    expect(await asNobody(expr)).toBe(path.join(root, 'xdg', 'kes-agent', CONTROL_SOCKET_NAME));
  });

  it('for this user, clientDefaultSocket agrees with defaultSocketDir when nothing exists', () => {
    const env = { XDG_RUNTIME_DIR: path.join(root, 'x') };
    expect(clientDefaultSocket(CONTROL_SOCKET_NAME, env, path.join(root, 'none'))).toBe(path.join(defaultSocketDir(env, path.join(root, 'none')), CONTROL_SOCKET_NAME));
  });
});
