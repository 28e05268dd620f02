/**
 * A local user posing as the agent, tested as that user: a listener running as nobody, on a
 * path the operator names, and in the per-user default directory under the temp dir that any
 * user can create first. kes-ctl and kes-node must refuse it before they send a byte (so the
 * operator never certifies the impostor's KES key), with exit 12 and a message naming the uid
 * found and the uids expected; `--agent-uid` / KES_AGENT_UID name an agent that runs as another
 * user.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nativeVersionId } from '../../src/protocol';
import { encodeOffer } from '../../src/protocol/haskell';
import { EXIT } from '../../src/cli/exit-codes';
import { describeAsOtherUser, NOBODY, otherUser, type OtherUser } from '../helpers/other-user';
import { BIN, cleanEnv, run, tempDir, type Proc, type RunResult } from '../helpers/processes';

/** A uid that is neither root, nobody, nor the owner of anything here: the operator's. */
const VICTIM = 4242;

const attacker = otherUser(NOBODY);
const victim = otherUser(VICTIM);

/** The version offer a real agent sends first, with both of our ids, as hex (the fake mimics it). */
const OFFER_HEX = Buffer.from(encodeOffer([nativeVersionId('control'), nativeVersionId('service')])).toString('hex');

/**
 * A fake agent: listens on each socket path given (mode 0666: anyone may connect), sends a real
 * agent's version offer, counts the bytes each connection sends, closes a connection as soon as
 * it has sent anything, and prints `closed bytes=N` when one ends.
 */
const FAKE_AGENT = `
const fs = require('node:fs'); const net = require('node:net'); const path = require('node:path');
const paths = process.argv.slice(1);
let up = 0;
for (const p of paths) {
  fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
  net.createServer((s) => {
    s.write(Buffer.from('${OFFER_HEX}', 'hex'));
    let n = 0;
    s.on('data', (d) => { n += d.length; s.end(); });
    s.on('error', () => {});
    s.on('close', () => console.log('closed bytes=' + n));
  }).listen(p, () => { fs.chmodSync(p, 0o666); if (++up === paths.length) console.log('listening'); });
}`;

async function startFake(as: OtherUser, ...sockets: string[]): Promise<Proc> {
  const p = as.start(['-e', FAKE_AGENT, ...sockets]);
  await p.waitFor('listening');
  return p;
}

/** Run a client and return it with the bytes the fake agent got from its connection. */
async function against(fake: Proc, client: () => Promise<RunResult>): Promise<{ r: RunResult; bytes: number }> {
  const mark = fake.mark();
  const r = await client();
  await fake.waitFor('closed bytes=', { after: mark });
  const m = /closed bytes=(\d+)/.exec(fake.stdout.slice(mark.stdout));
  return { r, bytes: Number(m![1]) };
}

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describeAsOtherUser('an impostor agent run by another local user', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('kes-impostor-');
    fs.chmodSync(dir, 0o755);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('on a socket path the operator gives: kes-ctl and kes-node refuse it before sending anything (exit 12), naming uid 65534', async () => {
    const own = path.join(dir, 'atk');
    fs.mkdirSync(own, { mode: 0o755 });
    fs.chownSync(own, NOBODY, NOBODY);
    const control = path.join(own, 'control.sock');
    const service = path.join(own, 'service.sock');
    const fake = await startFake(attacker, control, service);
    try {
      const vkey = path.join(dir, 'kes.vkey');
      const keygen = await against(fake, () => run(BIN.ctl, ['keygen', '--out', vkey, '--socket', control]));
      expect(keygen.r.code).toBe(EXIT.NOT_TRUSTED);
      expect(oneLine(keygen.r.stderr)).toMatch(
        new RegExp(`^kes-ctl: error: ${control}: the process listening here runs as uid ${NOBODY} \\(pid \\d+\\), expected root \\(uid 0\\): it may be an impostor, so nothing was sent to it; .*--agent-uid ${NOBODY}.* \\[AGENT_NOT_TRUSTED\\]$`),
      );
      expect(keygen.bytes).toBe(0);
      expect(fs.existsSync(vkey)).toBe(false); // the operator has no impostor's vk to certify

      const check = await against(fake, () => run(BIN.ctl, ['status', '--check', '--socket', control]));
      expect(check.r.code).toBe(EXIT.NOT_TRUSTED);
      expect(check.r.stdout).toBe('');
      expect(check.bytes).toBe(0);

      // The plain status line connects twice: its blocking socket refuses, then the full CLI
      // does and reports it. Neither connection carries a byte.
      const plainMark = fake.mark();
      const plain = await run(BIN.ctl, ['status', '--socket', control]);
      expect(plain.code).toBe(EXIT.NOT_TRUSTED);
      expect(plain.stdout).toBe('');
      expect(oneLine(plain.stderr)).toMatch(new RegExp(`^kes-ctl: error: ${control}: the process listening here runs as uid ${NOBODY} .*\\[AGENT_NOT_TRUSTED\\]$`));
      await fake.waitFor('closed bytes=', { after: plainMark, count: 2 });
      expect(fake.stdout.slice(plainMark.stdout).match(/closed bytes=\d+/g)).toEqual(['closed bytes=0', 'closed bytes=0']);

      const message = path.join(dir, 'header.bin');
      fs.writeFileSync(message, 'a header');
      const sign = await against(fake, () => run(BIN.node, ['sign', '--message', message, '--socket', service, '--timeout', '60000']));
      expect(sign.r.code).toBe(EXIT.NOT_TRUSTED); // at once, not after the 60-s wait
      expect(oneLine(sign.r.stderr)).toMatch(new RegExp(`^kes-node: error: ${service}: the process listening here runs as uid ${NOBODY} .*\\[AGENT_NOT_TRUSTED\\]$`));
      expect(sign.bytes).toBe(0);

      // The operator says the agent runs as that user: then it is talked to (this fake answers
      // nothing, so the handshake fails: exit 5, after the client sent its first frame).
      for (const [args, env] of [
        [['--agent-uid', String(NOBODY)], {}],
        [[], { KES_AGENT_UID: 'nobody' }],
      ] as const) {
        const trusted = await against(fake, () => run(BIN.ctl, ['status', '--socket', control, ...args], { env: cleanEnv(env) }));
        expect(trusted.r.code).toBe(EXIT.UNREACHABLE);
        expect(trusted.r.stderr).toContain('[AGENT_HANDSHAKE_FAILED]');
        expect(trusted.bytes).toBeGreaterThan(0);
      }
    } finally {
      await fake.stop();
    }
  });

  test('in the per-user default directory under a shared temp dir, made first by the impostor: never used (exit 12); the user\'s own directory is', async () => {
    const tmp = path.join(dir, 'tmp');
    fs.mkdirSync(tmp);
    fs.chmodSync(tmp, 0o1777); // like /tmp
    const userDir = path.join(tmp, `kes-agent-${VICTIM}`);
    // The victim has no XDG_RUNTIME_DIR and no /run/kes-agent: its default is $TMPDIR/kes-agent-<uid>.
    const env = cleanEnv({ TMPDIR: tmp });
    delete env['XDG_RUNTIME_DIR'];

    const fake = await startFake(attacker, path.join(userDir, 'control.sock'), path.join(userDir, 'service.sock'));
    try {
      expect(fs.statSync(userDir).uid).toBe(NOBODY);
      const check = await against(fake, () => victim.run([victim.bin('ctl'), 'status', '--check'], { env }));
      expect(check.r.code).toBe(EXIT.NOT_TRUSTED);
      expect(oneLine(check.r.stderr)).toMatch(new RegExp(`${userDir}/control\\.sock: the process listening here runs as uid ${NOBODY} .*expected root \\(uid 0\\) or this user \\(uid ${VICTIM}\\)`));
      expect(check.bytes).toBe(0);

      const message = path.join(dir, 'header.bin');
      fs.writeFileSync(message, 'a header', { mode: 0o644 });
      const sign = await against(fake, () => victim.run([victim.bin('node'), 'sign', '--message', message, '--timeout', '60000'], { env }));
      expect(sign.r.code).toBe(EXIT.NOT_TRUSTED);
      expect(sign.bytes).toBe(0);
    } finally {
      await fake.stop();
    }

    // The same name, made by the user itself: its own listener is talked to.
    fs.rmSync(userDir, { recursive: true, force: true });
    const own = await startFake(victim, path.join(userDir, 'control.sock'));
    try {
      fs.chmodSync(userDir, 0o700);
      const check = await against(own, () => victim.run([victim.bin('ctl'), 'status', '--check'], { env }));
      expect(check.r.stderr).toContain('[AGENT_HANDSHAKE_FAILED]');
      expect(check.bytes).toBeGreaterThan(0);
    } finally {
      await own.stop();
    }
  });

  test('a trusted uid in a directory another user can write to is refused too: the socket there may have been swapped', async () => {
    const shared = path.join(dir, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o777);
    const control = path.join(shared, 'control.sock');
    const fake = await startFake(victim, control);
    try {
      const r = await against(fake, () => run(BIN.ctl, ['status', '--socket', control, '--agent-uid', String(VICTIM)]));
      expect(r.r.code).toBe(EXIT.NOT_TRUSTED);
      expect(oneLine(r.r.stderr)).toContain(`its directory ${shared} is writable by other users (mode 0777)`);
      expect(r.bytes).toBe(0);
    } finally {
      await fake.stop();
    }
  });
});
