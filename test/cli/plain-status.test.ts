/**
 * The plain `kes-ctl status` line, answered without clipanion and with the STATUS sent along with
 * the version answer: which lines take that path, that it prints what the full CLI prints, that
 * the agent answers the early request and logs nothing about the dropped connection, and that
 * every failure is reported by the full CLI, once.
 */
import { EXIT } from '../../src/cli/exit-codes';
import { plainStatusLine } from '../../src/cli/ctl/plain-status';
import { DEFAULT_WARN_PERIODS } from '../../src/cli/ctl/status-assess';
import { agentForEachDescribe } from '../helpers/agent-env';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, run, runExecutable, type RunResult } from '../helpers/processes';

jest.setTimeout(60_000);

describe('plainStatusLine', () => {
  test.each([
    [['status'], { json: false }],
    [['status', '--json'], { json: true }],
    [['status', '--socket', '/run/a.sock'], { json: false, socket: '/run/a.sock' }],
    [['status', '--socket=/run/a.sock', '--json'], { json: true, socket: '/run/a.sock' }],
    [['status', '--json', '--agent-uid', 'cardano'], { json: true, agentUid: 'cardano' }],
    [['status', '--agent-uid=1001', '--socket', 's'], { json: false, agentUid: '1001', socket: 's' }],
  ])('%j is plain', (argv, line) => {
    expect(plainStatusLine(argv)).toEqual(line);
  });

  test.each([
    [[]],
    [['upload']],
    [['--json', 'status']],
    [['status', '--check']],
    [['status', '--watch']],
    [['status', '--help']],
    [['status', '-h']],
    [['status', '--version']],
    [['status', '--warn-periods', '5']],
    [['status', '--json', '--json']],
    [['status', '--socket', 'a', '--socket', 'b']],
    [['status', '--socket']],
    [['status', '--socket', '']],
    [['status', '--socket=']],
    [['status', '--socket', '--json']],
    [['status', '--agent-uid', '-5']],
    [['status', 'extra']],
    [['status', '--jsonx']],
    [['status', '--']],
    [['status', 'toString', 'x']],
    [['status', '__proto__', 'x']],
    [['status', 'constructor=x']],
  ])('%j goes to the full CLI', (argv) => {
    expect(plainStatusLine(argv)).toBeUndefined();
  });
});

describe('kes-ctl status on the plain path, against a real agent', () => {
  const agent = agentForEachDescribe();

  /** The JSON a status line printed, less the slot, which moves on every second. */
  async function statusJson(args: string[]): Promise<Record<string, unknown>> {
    const e = agent();
    const r = await run(BIN.ctl, ['status', '--socket', e.controlSocket, ...args], { env: e.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const { currentSlot, ...rest } = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(typeof currentSlot).toBe('number');
    return rest;
  }

  test('prints what the full CLI prints (--warn-periods at its default takes the full path)', async () => {
    expect(plainStatusLine(['status', '--json', '--warn-periods', String(DEFAULT_WARN_PERIODS)])).toBeUndefined();
    const plain = await statusJson(['--json']);
    const full = await statusJson(['--json', '--warn-periods', String(DEFAULT_WARN_PERIODS)]);
    expect(plain['ok']).toBe(true);
    expect(plain).toEqual(full);
  });

  test('the agent answers the STATUS sent with the version answer, and says nothing about the dropped connection', async () => {
    const e = agent();
    const mark = e.agent!.mark();
    for (let i = 0; i < 5; i++) {
      const r = await run(BIN.ctl, ['status', '--socket', e.controlSocket], { env: e.env });
      expect(r.code).toBe(EXIT.OK);
      expect(r.stdout).toMatch(/^kes-agent \S+ \(protocol 2\), network mainnet\n/);
    }
    // One more on the full path: its reply comes after anything the agent logged for those five.
    await statusJson(['--json', '--warn-periods', String(DEFAULT_WARN_PERIODS)]);
    const since = `${e.agent!.stdout.slice(mark.stdout)}${e.agent!.stderr.slice(mark.stderr)}`.split('\n');
    expect(since.filter((l) => /\b(warn|error)\b/.test(l))).toEqual([]);
  });

  /**
   * Run kes-ctl under `node -e` with a probe that records every bundle the launcher compiles
   * (vm.Script's filename) and whether node:net was ever loaded; stdout is a pipe, as under
   * monitoring.
   */
  async function probed(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<{ r: RunResult; compiled: string[]; net: boolean }> {
    const script = `
      const vm = require('node:vm');
      const compiled = [];
      const Script = vm.Script;
      vm.Script = class extends Script {
        constructor(source, options) { super(source, options); compiled.push(require('node:path').basename(options.filename)); }
      };
      // fs.writeSync: process.stderr on a pipe would itself load node:net.
      process.on('exit', () => require('node:fs').writeSync(2, 'PROBE ' + JSON.stringify({ compiled, net: process.moduleLoadList.includes('NativeModule net') }) + '\\n'));
      process.argv = [process.argv[0], ${JSON.stringify(BIN.ctl)}, ...${JSON.stringify(argv)}];
      require(${JSON.stringify(BIN.ctl)});`;
    const r = await run('-e', [script], { env });
    const probe = JSON.parse(/PROBE (.*)/.exec(r.stderr)?.[1] ?? 'null') as { compiled: string[]; net: boolean };
    return { r: { ...r, stderr: r.stderr.replace(/PROBE .*\n/, '') }, ...probe };
  }

  test('a plain status compiles only the status bundle and never loads node:net; another line only the full CLI', async () => {
    const e = agent();
    const plain = await probed(['status', '--json', '--socket', e.controlSocket], e.env);
    expect({ code: plain.r.code, stderr: plain.r.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    expect(JSON.parse(plain.r.stdout)).toMatchObject({ ok: true, network: 'mainnet' });
    expect(plain).toMatchObject({ compiled: ['kes-ctl-status.js'], net: false });

    const other = await probed(['--version'], e.env);
    expect(other.r.code).toBe(EXIT.OK);
    expect(other.compiled).toEqual(['kes-ctl.js']);

    // A plain status that fails: the full CLI takes over and reports it.
    const failed = await probed(['status', '--socket', `${e.controlSocket}.missing`], e.env);
    expect(failed.r.code).toBe(EXIT.UNREACHABLE);
    expect(failed.compiled).toEqual(['kes-ctl-status.js', 'kes-ctl.js']);
  });

  test('stdout a regular file or /dev/null: the same status, exit 0', async () => {
    const e = agent();
    const ctl = (args: string): string => `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN.ctl)} status --socket ${JSON.stringify(e.controlSocket)} ${args}`;
    const file = path.join(e.dir, 'status.json');
    fs.writeFileSync(file, '');
    const toFile = await runExecutable('/bin/sh', ['-c', `${ctl('--json')} >> ${JSON.stringify(file)}`], { env: e.env });
    expect({ code: toFile.code, stderr: toFile.stderr }).toEqual({ code: EXIT.OK, stderr: '' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ ok: true, network: 'mainnet' });

    const toNull = await runExecutable('/bin/sh', ['-c', `${ctl('')} > /dev/null; echo "exit=$?"`], { env: e.env });
    expect({ stdout: toNull.stdout, stderr: toNull.stderr }).toEqual({ stdout: `exit=${EXIT.OK}\n`, stderr: '' });
  });

  test('a failure is reported once, by the full CLI, with its own exit code', async () => {
    const e = agent();
    const missing = `${e.controlSocket}.missing`;
    const r = await run(BIN.ctl, ['status', '--socket', missing, '--json'], { env: e.env });
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^kes-ctl: error: .*no such socket file.*\[AGENT_SOCKET_MISSING\]$/)]);
    const out = r.stdout.trimEnd().split('\n');
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0]!)).toMatchObject({ ok: false, code: 'AGENT_SOCKET_MISSING', exitCode: EXIT.UNREACHABLE });
  });
});
