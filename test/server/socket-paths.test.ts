/**
 * Default socket locations. The agent as the unit's User= (non-root, owning /run/kes-agent) and
 * its clients (kes-ctl as the operator, kes-node as the node user) must meet without flags. The
 * system directory is a parameter so these tests use a temp dir, and the uid cases run as nobody
 * in a child process (root always gets the system dir).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONTROL_SOCKET_NAME, clientDefaultSocket, defaultSocketDir } from '../../src/server/socket-paths';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const modulePath = path.join(__dirname, '..', '..', 'dist', 'src', 'server', 'socket-paths.js');

/** Evaluate the built module's functions as nobody. */
function asNobody(expr: string, env: Record<string, string> = {}): unknown {
  const script = `const p = require(${JSON.stringify(modulePath)}); console.log(JSON.stringify(${expr}));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { uid: NOBODY, gid: NOBODY, env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8' }));
}

describe('socket path defaults', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-paths-'));
    fs.chmodSync(root, 0o755);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  (isRoot ? it : it.skip)('root: the system directory', () => {
    expect(defaultSocketDir({}, path.join(root, 'sys'))).toBe(path.join(root, 'sys'));
  });

  (isRoot ? it : it.skip)('a non-root agent uses the system directory when it owns it (systemd User= + RuntimeDirectory=), else XDG or temp', () => {
    const sys = path.join(root, 'sys');
    fs.mkdirSync(sys, { mode: 0o750 });
    expect(asNobody(`p.defaultSocketDir({ XDG_RUNTIME_DIR: '/xdg' }, ${JSON.stringify(sys)})`)).toBe('/xdg/kes-agent');
    fs.chownSync(sys, NOBODY, NOBODY);
    expect(asNobody(`p.defaultSocketDir({ XDG_RUNTIME_DIR: '/xdg' }, ${JSON.stringify(sys)})`)).toBe(sys);
  });

  (isRoot ? it : it.skip)('a client finds the system agent\'s socket when its own default has none', () => {
    const sys = path.join(root, 'sys');
    fs.mkdirSync(sys, { mode: 0o755 });
    const sysSock = path.join(sys, CONTROL_SOCKET_NAME);
    const expr = `p.clientDefaultSocket('control.sock', { XDG_RUNTIME_DIR: ${JSON.stringify(path.join(root, 'xdg'))} }, ${JSON.stringify(sys)})`;
    // Nothing anywhere: the user's own default, so the error names it.
    expect(asNobody(expr)).toBe(path.join(root, 'xdg', 'kes-agent', CONTROL_SOCKET_NAME));
    fs.writeFileSync(sysSock, '');
    expect(asNobody(expr)).toBe(sysSock);
    // The user's own agent wins when it has a socket.
    fs.mkdirSync(path.join(root, 'xdg', 'kes-agent'), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(root, 'xdg', 'kes-agent', CONTROL_SOCKET_NAME), '');
    expect(asNobody(expr)).toBe(path.join(root, 'xdg', 'kes-agent', CONTROL_SOCKET_NAME));
  });

  it('for this user, clientDefaultSocket agrees with defaultSocketDir when nothing exists', () => {
    const env = { XDG_RUNTIME_DIR: path.join(root, 'x') };
    expect(clientDefaultSocket(CONTROL_SOCKET_NAME, env, path.join(root, 'none'))).toBe(path.join(defaultSocketDir(env, path.join(root, 'none')), CONTROL_SOCKET_NAME));
  });
});
