/**
 * deploy/systemd/kes-agent.service, read as systemd reads it: every directive is one systemd
 * knows and is explained by a comment; the settings that keep the key off disk and the agent
 * boxed in are there with the right values; the command line is one the built agent accepts;
 * and, where systemd-analyze is installed, systemd itself finds nothing to complain about.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unitEnvironment } from '../../bench/agent-procs';
import { refuseDebuggingFlags } from '../../src/cli/agent/process-guards';
import { EXIT } from '../../src/cli/exit-codes';
import { DEFAULT_CONFIG_PATH, readConfigFile } from '../../src/config';
import { CONTROL_SOCKET_NAME, SERVICE_SOCKET_NAME, SOCKET_DIR_MODE, defaultSocketDir } from '../../src/platform/socket-paths';
import { BIN, ROOT, run, tempDir } from '../helpers/processes';
import { KNOWN_DIRECTIVES, LIST_DIRECTIVES, parseUnitFile, value, values, type UnitFile } from './unit-file';

const UNIT_PATH = path.join(ROOT, 'deploy', 'systemd', 'kes-agent.service');
const AGENT_TOML = path.join(ROOT, 'deploy', 'agent.toml');
/** `systemd-analyze security` exposure (0 = locked down, 10 = wide open) above which we fail. */
const MAX_EXPOSURE = 1.5;

const text = fs.readFileSync(UNIT_PATH, 'utf8');
const unit: UnitFile = parseUnitFile(text);

describe('kes-agent.service: syntax', () => {
  test('three sections, every line understood', () => {
    expect(unit.sections).toEqual(['Unit', 'Service', 'Install']);
    expect(unit.stray).toEqual([]);
  });

  test('every directive is one systemd knows for its section', () => {
    const unknown = unit.directives.filter((d) => !KNOWN_DIRECTIVES[d.section]?.has(d.key)).map((d) => `${d.line}: [${d.section}] ${d.key}`);
    expect(unknown).toEqual([]);
  });

  test('every directive has a comment directly above it', () => {
    const bare = unit.directives.filter((d) => d.comment.length === 0 || d.comment.every((c) => c === '')).map((d) => `${d.line}: ${d.key}`);
    expect(bare).toEqual([]);
  });

  test('no directive is set twice unless it accumulates', () => {
    const seen = new Map<string, number>();
    for (const d of unit.directives) seen.set(`${d.section}.${d.key}`, (seen.get(`${d.section}.${d.key}`) ?? 0) + 1);
    const twice = [...seen].filter(([k, n]) => n > 1 && !LIST_DIRECTIVES.has(k.split('.')[1]!)).map(([k]) => k);
    expect(twice).toEqual([]);
  });

  test('the parser catches what it should (a typo, a bare line, a missing comment)', () => {
    const bad = parseUnitFile('[Service]\n# ok\nUser=x\nLimtCORE=0\nnot a directive\n\n# explained\nUMask=0077\n');
    expect(bad.stray.map((s) => s.line)).toEqual([5]);
    expect(bad.directives.filter((d) => !KNOWN_DIRECTIVES['Service']!.has(d.key)).map((d) => d.key)).toEqual(['LimtCORE']);
    expect(bad.directives.filter((d) => d.comment.length === 0).map((d) => d.key)).toEqual(['LimtCORE']);
  });
});

describe('kes-agent.service: the key stays in RAM and the agent stays boxed in', () => {
  test.each([
    // who, where
    ['User', 'kes-agent'],
    ['Group', 'kes-agent'],
    ['RuntimeDirectory', 'kes-agent'],
    ['RuntimeDirectoryMode', '0750'],
    ['UMask', '0077'],
    // memory: no core, no swap, enough to lock
    ['LimitCORE', '0'],
    ['LimitMEMLOCK', '64M'],
    ['MemorySwapMax', '0'],
    // privileges
    ['NoNewPrivileges', 'yes'],
    ['CapabilityBoundingSet', ''],
    ['AmbientCapabilities', ''],
    ['RestrictSUIDSGID', 'yes'],
    ['RestrictNamespaces', 'yes'],
    ['LockPersonality', 'yes'],
    ['SystemCallArchitectures', 'native'],
    ['SystemCallErrorNumber', 'EPERM'],
    // filesystem
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['PrivateDevices', 'yes'],
    ['ProtectKernelTunables', 'yes'],
    ['ProtectKernelModules', 'yes'],
    ['ProtectKernelLogs', 'yes'],
    ['ProtectControlGroups', 'yes'],
    ['ProtectClock', 'yes'],
    // network
    ['RestrictAddressFamilies', 'AF_UNIX'],
    ['IPAddressDeny', 'any'],
    ['PrivateNetwork', 'yes'],
    // life cycle and logs
    ['Type', 'exec'],
    ['Restart', 'on-failure'],
    ['ExecReload', '/bin/kill -HUP $MAINPID'],
    ['EnvironmentFile', '-/etc/kes-agent/kes-agent.env'],
    ['SyslogLevelPrefix', 'yes'],
  ])('[Service] %s=%s', (key, expected) => {
    expect(value(unit, 'Service', key)).toBe(expected);
  });

  test('the system call allow list is the ordinary service set minus privileged calls', () => {
    expect(values(unit, 'Service', 'SystemCallFilter')).toEqual(['@system-service', '~@privileged']);
  });

  test.each([
    ['MemoryDenyWriteExecute', 'V8 JIT-compiles: Node aborts under it'],
    ['PrivateUsers', 'SO_PEERCRED would report every node as the overflow uid'],
    ['DynamicUser', 'the node must be a member of a fixed kes-agent group'],
    ['LimitNOFILE', 'Node raises its soft limit to the hard limit itself'],
    ['ReadWritePaths', 'the agent writes no files'],
  ])('%s is deliberately absent (%s)', (key) => {
    expect(values(unit, 'Service', key)).toEqual([]);
  });

  test('the comments say why MemoryDenyWriteExecute and PrivateUsers are not set', () => {
    expect(text).toMatch(/MemoryDenyWriteExecute= is deliberately NOT set: V8 JIT/);
    expect(text).toMatch(/PrivateUsers= is deliberately NOT set/);
  });

  test('hibernation stops the agent first: conflicts with every target that writes RAM to disk, ordered before the image writers', () => {
    const conflicts = values(unit, 'Unit', 'Conflicts').flatMap((v) => v.split(/\s+/));
    expect(conflicts).toEqual(expect.arrayContaining(['hibernate.target', 'hybrid-sleep.target', 'suspend-then-hibernate.target']));
    // Plain suspend keeps RAM powered and writes nothing: the key may stay.
    expect(conflicts).not.toContain('suspend.target');
    expect(conflicts).not.toContain('sleep.target');
    // Ordered before the services that write the image (and sleep.target, which they follow).
    expect(values(unit, 'Unit', 'Before').flatMap((v) => v.split(/\s+/))).toEqual(
      expect.arrayContaining(['sleep.target', 'systemd-hibernate.service', 'systemd-hybrid-sleep.service', 'systemd-suspend-then-hibernate.service']),
    );
  });

  test('no restart when a restart cannot help: bad usage, bad input, unsafe host (exit codes from the code)', () => {
    const codes = (value(unit, 'Service', 'RestartPreventExitStatus') ?? '').split(/\s+/).map(Number);
    expect(codes.sort((a, b) => a - b)).toEqual([EXIT.USAGE, EXIT.BAD_INPUT, EXIT.UNSAFE].sort((a, b) => a - b));
  });

  test('the comments tell the operator a restart loses the key and what the node\'s user needs', () => {
    expect(text).toMatch(/loses the key by\s*\n?#?\s*design/);
    expect(text).toMatch(/must be a member of this group/);
    expect(text).toMatch(/SO_PEERCRED, which reports the node's PRIMARY gid/);
    expect(text).toMatch(/LimitMEMLOCK[\s\S]*4 MiB/);
  });

  test('installed for the normal boot target', () => {
    expect(value(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });
});

describe('kes-agent.service: the command line and the files it names', () => {
  const execStart = value(unit, 'Service', 'ExecStart') ?? '';
  const argv = execStart.split(/\s+/);

  test('ExecStart runs `kes-agent run --config <the default config path>` and nothing else', () => {
    expect(path.basename(argv[0]!)).toBe('kes-agent');
    expect(argv.slice(1)).toEqual(['run', '--config', DEFAULT_CONFIG_PATH]);
  });

  test('every ExecStart flag exists in the built `kes-agent run --help`', async () => {
    const help = await run(BIN.agent, ['run', '--help']);
    expect(help.code).toBe(0);
    const flags = argv.filter((a) => a.startsWith('--'));
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) expect(help.stdout).toMatch(new RegExp(`^\\s+${flag}\\b`, 'm'));
  });

  test('no debugging flags, ever (the agent refuses to start with them)', () => {
    expect(execStart).not.toMatch(/--inspect|--heapsnapshot|--report|NODE_OPTIONS/);
    // The Environment= lines set the V8 memory flag and glibc's arena count, which the benchmark
    // reads (bench/agent-procs.ts), and nothing the agent's refuseDebuggingFlags would refuse.
    const env = values(unit, 'Service', 'Environment');
    expect(env).toEqual(['NODE_OPTIONS=--max-semi-space-size=1', 'MALLOC_ARENA_MAX=1']);
    expect(() => refuseDebuggingFlags([], env[0]!.slice('NODE_OPTIONS='.length))).not.toThrow();
    // What `npm run bench` launches the agent with: exactly these.
    expect(unitEnvironment(UNIT_PATH)).toEqual({ NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '1' });
  });

  test('the runtime directory is where the agent expects its sockets, with the mode it enforces', () => {
    // Root's default socket directory is systemd's RuntimeDirectory, mode 0750.
    expect(`/run/${value(unit, 'Service', 'RuntimeDirectory')}`).toBe('/run/kes-agent');
    if (typeof process.getuid === 'function' && process.getuid() === 0) expect(defaultSocketDir({})).toBe('/run/kes-agent');
    expect(Number.parseInt(value(unit, 'Service', 'RuntimeDirectoryMode') ?? '', 8)).toBe(SOCKET_DIR_MODE);
  });

  test('the example agent.toml puts both sockets in that directory', () => {
    const file = readConfigFile(AGENT_TOML);
    expect(file.values.controlSocket).toBe(path.join('/run/kes-agent', CONTROL_SOCKET_NAME));
    expect(file.values.serviceSocket).toBe(path.join('/run/kes-agent', SERVICE_SOCKET_NAME));
  });
});

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const hasAnalyze = analyze.status === 0;
const analyzeNote = hasAnalyze ? (analyze.stdout.split('\n')[0] ?? '') : 'SKIPPED: systemd-analyze is not installed here';

describe(`systemd-analyze (${analyzeNote})`, () => {
  /** A copy whose ExecStart points at the built binary, which verify requires to exist. */
  function unitCopy(): { dir: string; file: string } {
    const dir = tempDir('kes-unit-');
    const file = path.join(dir, 'kes-agent.service');
    fs.writeFileSync(file, text.replace(/^ExecStart=\S+/m, `ExecStart=${BIN.agent}`));
    return { dir, file };
  }

  (hasAnalyze ? test : test.skip)('verify: no warnings at all', () => {
    const { dir, file } = unitCopy();
    try {
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', cwd: dir });
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  (hasAnalyze ? test : test.skip)(`security --offline: overall exposure at most ${MAX_EXPOSURE}`, () => {
    const { dir, file } = unitCopy();
    try {
      let out: string;
      try {
        out = execFileSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8', cwd: dir });
      } catch (e) {
        // systemd < 250 has no --offline: nothing to measure, and that is not our unit's fault.
        const stderr = String((e as { stderr?: unknown }).stderr ?? '');
        if (/unrecognized option|unknown option/i.test(stderr)) return;
        // `security` exits non-zero when the score is above its own threshold; the output still says.
        out = String((e as { stdout?: unknown }).stdout ?? '');
      }
      const m = /Overall exposure level for kes-agent\.service: (\d+(?:\.\d+)?)/.exec(out);
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBeLessThanOrEqual(MAX_EXPOSURE);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
