/**
 * Process hardening through the built agent: what it locks and disables, read back from /proc;
 * a too-low RLIMIT_MEMLOCK refuses to start (or, allowed, warns and says so in status); a peer
 * with another uid is refused by SO_PEERCRED even when file modes would let it in; an unsafe
 * socket directory is refused.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { BIN, cleanEnv, Proc, run } from '../helpers/processes';
import { agentForEachDescribe, ctl, ctlJson, makeAgentEnv, startAgent, stopAgentEnv, type AgentEnv } from '../helpers/agent-env';
import { NOBODY, describeAsOtherUser, describeUnless, itAsOtherUser, otherUser } from '../helpers/other-user';
import { listeningTcpInodes } from '../helpers/proc-fds';

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;
/** Strangers on the host: processes run as nobody, from a copy of the code that uid can read. */
const stranger = otherUser();

interface ProtectionJson {
  keyMemoryLocked: boolean;
  sodiumHeapLocked: boolean;
  coreDumpsDisabled: boolean;
  peerCredentialsChecked: boolean;
  unlockedMemoryAllowed: boolean;
}

function procStatus(pid: number, field: string): string {
  const m = new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1]?.trim() ?? '';
}

/**
 * The package's addons mapped into process `pid`. kes_client.node (the blocking socket of
 * `kes-ctl status`) must never be in a process that holds a key.
 */
function addonsMapped(pid: number): string[] {
  const names = fs.readFileSync(`/proc/${pid}/maps`, 'utf8').match(/[^/\s]+\.node$/gm) ?? [];
  return [...new Set(names)].sort();
}

/** Whether signal `sig` sent to process `pid` is still pending there: it has been delivered once it is not. */
function signalPending(pid: number, sig: NodeJS.Signals): boolean {
  const m = /^ShdPnd:\s+([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m?.[1] === undefined) throw new Error(`no ShdPnd in /proc/${pid}/status`);
  return (BigInt(`0x${m[1]}`) & (1n << BigInt(os.constants.signals[sig] - 1))) !== 0n;
}

describe('a hardened agent', () => {
  const agentEnv = agentForEachDescribe({ timingArgs: ['--network', 'preview'] });

  it('reports every protection in force in status, and the kernel agrees', async () => {
    const e = agentEnv();
    const s = await ctlJson<{ protection: ProtectionJson }>(e, 'status');
    expect(s.protection).toEqual({ keyMemoryLocked: true, sodiumHeapLocked: true, coreDumpsDisabled: true, peerCredentialsChecked: true, unlockedMemoryAllowed: false });
    const pid = e.agent!.child.pid!;
    // libsodium's 4 MiB heap plus one 64 KiB arena, at least.
    expect(Number(procStatus(pid, 'VmLck').replace(' kB', ''))).toBeGreaterThanOrEqual(4096 + 64);
    expect(fs.readFileSync(`/proc/${pid}/limits`, 'utf8')).toMatch(/^Max core file size\s+0\s+0\s+bytes/m);
    expect(e.agent!.stdout).toContain('agent: memory protection keyMemoryLocked=true sodiumHeapLocked=true coreDumpsDisabled=true');
    const human = await ctl(e, 'status');
    expect(human.stdout).toMatch(/key memory locked: yes/);
    // kes-ctl status just ran on its blocking socket; the agent has the key addon only.
    expect(addonsMapped(pid)).toEqual(['kes_native.node']);
  });

  it('kes-node receives keys into locked memory too: its VmLck covers libsodium\'s heap and an arena, core dumps are off', async () => {
    const e = agentEnv();
    const watch = new Proc(BIN.node, ['watch', '--json', '--socket', e.serviceSocket, '--network', 'preview'], cleanEnv());
    try {
      await watch.waitFor('"event":"connected"');
      const pid = watch.child.pid!;
      expect(Number(procStatus(pid, 'VmLck').replace(' kB', ''))).toBeGreaterThanOrEqual(4096 + 64);
      expect(fs.readFileSync(`/proc/${pid}/limits`, 'utf8')).toMatch(/^Max core file size\s+0\s+0\s+bytes/m);
      expect(addonsMapped(pid)).toEqual(['kes_native.node']);
      expect(watch.stderr).toBe('');
    } finally {
      await watch.stop();
    }
  });

  it('ignores SIGUSR1 (on Node 20 it would open the inspector): the agent stays up, no debugger listens', async () => {
    const e = agentEnv();
    const pid = e.agent!.child.pid!;
    e.agent!.child.kill('SIGUSR1');
    // Wait for the kernel to deliver it (a safety bound only: delivery takes microseconds).
    for (let i = 0; signalPending(pid, 'SIGUSR1'); i++) {
      if (i === 1000) throw new Error('SIGUSR1 still pending after 10 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    // A status round trip takes several turns of the agent's event loop, all after the one that
    // would have started an inspector (Node starts it synchronously there, listening included).
    expect((await ctl(e, 'status')).code).toBe(0);
    expect(e.agent!.child.exitCode).toBeNull();
    expect(listeningTcpInodes(pid)).toEqual([]);
    expect(e.agent!.stderr).not.toMatch(/Debugger listening/);
  });

  it('kes-node refuses to run with an inspector flag in NODE_OPTIONS (exit 2), as the agent does', async () => {
    const e = agentEnv();
    const r = await run(BIN.node, ['watch', '--socket', e.serviceSocket, '--network', 'preview'], { env: cleanEnv({ NODE_OPTIONS: '--inspect=127.0.0.1:0' }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kes-node: error: .*--inspect/);
  });

  itAsOtherUser('refuses another uid on both sockets by SO_PEERCRED, logging its uid and pid, even with loose file modes', async () => {
    const e = agentEnv();
    // Simulate an operator loosening the modes by mistake: the kernel would now let nobody in.
    fs.chmodSync(e.dir, 0o755);
    fs.chmodSync(e.controlSocket, 0o666);
    fs.chmodSync(e.serviceSocket, 0o666);
    const agent = e.agent!;
    let mark = agent.mark();
    const control = await stranger.run([stranger.bin('ctl'), 'status', '--socket', e.controlSocket]);
    expect(control.code).toBe(5);
    expect(control.stderr).toContain('PEER_NOT_ALLOWED');
    await agent.waitFor(/control: peer refused uid=65534 gid=65534 pid=\d+/, { after: mark });

    const probe = `
      const { openNative } = require(${JSON.stringify(stranger.path('dist', 'src', 'protocol'))});
      const s = require('net').connect(${JSON.stringify(e.serviceSocket)}, async () => {
        const conn = await openNative(s, 'service', { receivesSecrets: true });
        const m = await conn.receive(5000);
        console.log(JSON.stringify({ type: m.type, code: m.code }));
        s.destroy();
      });`;
    mark = agent.mark();
    const service = await stranger.run(['-e', probe]);
    expect(service).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(service.stdout)).toEqual({ type: 'error', code: 10 });
    await agent.waitFor(/service: peer refused uid=65534 gid=65534 pid=\d+/, { after: mark });
    // And the agent carries on for its own user.
    expect((await ctl(e, 'status')).code).toBe(0);
  });
});

describeAsOtherUser('access lists narrowed by a reload (a peer runs as nobody)', () => {
  let e: AgentEnv | undefined;
  afterAll(async () => {
    if (e) await stopAgentEnv(e);
  });

  it('disconnects an open connection whose uid is no longer listed, and logs it', async () => {
    const env = (e = await makeAgentEnv());
    const config = path.join(env.dir, 'agent.toml');
    const write = (uids: number[]): void =>
      fs.writeFileSync(config, `cold-vkey = "${env.coldVkey}"\nnetwork = "preview"\nservice-uid = [${uids.join(', ')}]\n`);
    write([NOBODY]);
    const agent = await startAgent(env, ['--config', config]);
    fs.chmodSync(env.dir, 0o755);
    fs.chmodSync(env.serviceSocket, 0o666);
    // A node running as nobody: handshakes, then reports when the agent closes the connection.
    const script = `
      const { openNative } = require(${JSON.stringify(stranger.path('dist', 'src', 'protocol'))});
      const s = require('net').connect(${JSON.stringify(env.serviceSocket)}, async () => {
        const conn = await openNative(s, 'service', { receivesSecrets: true });
        console.log((await conn.receive(5000)).type);
        s.on('close', () => { console.log('closed'); process.exit(0); });
      });`;
    const node = stranger.start(['-e', script]);
    try {
      await node.waitFor('welcome');
      const beforeReload = node.mark();
      const mark = agent.mark();
      write([]);
      agent.child.kill('SIGHUP');
      await agent.waitFor(/service: peer no longer allowed; disconnecting it uid=65534 gid=65534 pid=\d+/, { after: mark });
      await node.waitFor('closed', { after: beforeReload });
      expect(await node.exited).toEqual({ code: 0, signal: null });
    } finally {
      await node.stop('SIGKILL');
    }
    expect((await ctl(env, 'status')).code).toBe(0);
  });
});

describeUnless(hasPrlimit ? undefined : 'prlimit (util-linux) is not installed')('RLIMIT_MEMLOCK too low (prlimit --memlock=64 KiB)', () => {
  let e: AgentEnv;
  beforeAll(async () => {
    e = await makeAgentEnv({ timingArgs: ['--network', 'preview'] });
  });
  afterAll(async () => stopAgentEnv(e));

  it('refuses to start with exit 11, naming the limit and how to raise it, and binds nothing', async () => {
    const r = spawnSync('prlimit', ['--memlock=65536:65536', process.execPath, BIN.agent, 'run', '--cold-vkey', e.coldVkey, '--network', 'preview'], { env: e.env, encoding: 'utf8' });
    expect(r.status).toBe(11);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/RLIMIT_MEMLOCK is 64 KiB; raise RLIMIT_MEMLOCK to at least 8 MiB \(systemd: LimitMEMLOCK=64M; shell: ulimit -l 8192\), or pass --allow-unlocked-memory/);
    expect(r.stderr).toContain('[MEMORY_LOCK_FAILED]');
    expect(fs.existsSync(e.controlSocket)).toBe(false);
  });

  it('with --allow-unlocked-memory it runs, warns at start, and status says memory is not locked', async () => {
    const agent = spawn('prlimit', ['--memlock=65536:65536', process.execPath, BIN.agent, 'run', '--cold-vkey', e.coldVkey, '--network', 'preview', '--allow-unlocked-memory'], { env: e.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<void>((resolve) => agent.on('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`agent did not start:\n${out}`)), 15_000);
        agent.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('agent: started')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect(out).toMatch(/warn {2}agent: running WITHOUT full memory protection \(--allow-unlocked-memory\) reason=.*RLIMIT_MEMLOCK is 64 KiB/);
      const s = await ctlJson<{ protection: ProtectionJson }>(e, 'status');
      expect(s.protection).toMatchObject({ keyMemoryLocked: false, sodiumHeapLocked: false, coreDumpsDisabled: true, unlockedMemoryAllowed: true });
      const human = await ctl(e, 'status');
      expect(human.stdout).toMatch(/NOT locked/);
    } finally {
      agent.kill('SIGTERM');
      await exited;
    }
  });
});

describe('socket directory checks', () => {
  it('refuses a socket directory other users can write to, sticky or not (exit 3); accepts 0755 and 0750, as the message says', async () => {
    const e = await makeAgentEnv({ timingArgs: ['--network', 'preview'] });
    try {
      const dir = path.join(e.dir, 'sockets');
      fs.mkdirSync(dir);
      const agentIn = (): Promise<{ code: number | null; stderr: string }> =>
        run(BIN.agent, ['run', '--cold-vkey', e.coldVkey, '--network', 'preview', '--control-socket', path.join(dir, 'c.sock'), '--service-socket', path.join(dir, 's.sock')], { env: e.env });
      for (const mode of [0o777, 0o1777, 0o775, 0o770, 0o757]) {
        fs.chmodSync(dir, mode);
        const r = await agentIn();
        expect({ mode: mode.toString(8), code: r.code }).toEqual({ mode: mode.toString(8), code: EXIT.BAD_INPUT });
        const shown = mode.toString(8).padStart(4, '0');
        expect(r.stderr).toMatch(new RegExp(`^kes-agent: error: socket .*c\\.sock: directory .*sockets is writable by other users \\(mode ${shown}\\); expected a directory owned by the agent's user or root that no other user can write to \\(no group or other write bit, sticky or not; e\\.g\\. 0750 or 0755\\) \\[SOCKET_DIR_UNSAFE\\]\\n$`));
      }
      expect(fs.readdirSync(dir)).toEqual([]);
      // Writable by its owner only: accepted, and kes-ctl, which checks the same, talks to it.
      for (const mode of [0o755, 0o750]) {
        fs.chmodSync(dir, mode);
        await startAgent(e, ['--control-socket', path.join(dir, 'c.sock'), '--service-socket', path.join(dir, 's.sock')]);
        expect((await ctl(e, 'status', '--socket', path.join(dir, 'c.sock'))).code).toBe(EXIT.OK);
        await e.agent!.stop();
      }
    } finally {
      await stopAgentEnv(e);
    }
  });
});
