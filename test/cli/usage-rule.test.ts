/**
 * The usage-error rule (README "Errors"), checked over every command of every bin, enumerated
 * from the clipanion CLIs themselves so a new command or option is covered without editing
 * this file: a bad numeric value, a negative one and a missing value each give the bin's usage
 * exit code and exactly one stderr line `<bin>: error: <option>: … [<CODE>]` naming the option,
 * where CODE is USAGE or a specific stable code. Also: `--version` after every command, `--help`
 * without `#0`, and no arguments at all → usage on stderr, exit 2.
 */
import type { Cli } from 'clipanion';
import { buildKesAgentCli } from '../../src/cli/agent';
import { buildKesColdCli } from '../../src/cli/cold';
import { type KesCliContext, packageVersion, runCli } from '../../src/cli/common';
import { placeholderFor } from '../../src/cli/common/option-placeholders';
import { buildKesCtlCli } from '../../src/cli/ctl';
import { EXIT } from '../../src/cli/exit-codes';
import { buildKesAgentControlCli, runKesAgentControl } from '../../src/cli/haskell-control';
import { HS_EXIT } from '../../src/cli/haskell-control/exit-codes';
import { buildKesNodeCli } from '../../src/cli/node';
import { runCapturingOutput, type InProcessRun } from '../helpers/in-process-cli';
import { BIN, ROOT, cleanEnv, run } from '../helpers/processes';
import * as path from 'node:path';

interface Bin {
  name: string;
  build: () => Cli<KesCliContext>;
  usageExit: number;
  /** As the bin runs it: a CLI of the commands the line names, the whole CLI if it cannot parse. */
  run: (argv: string[], ctx: Partial<KesCliContext>) => Promise<number>;
  /** With every command registered (what `run` must be indistinguishable from). */
  whole?: (argv: string[], ctx: Partial<KesCliContext>) => Promise<number>;
}

const BINS: Bin[] = [
  { name: 'kes-agent', build: buildKesAgentCli, usageExit: EXIT.USAGE, run: (a, c) => runCli(buildKesAgentCli, a, c), whole: (a, c) => runCli(buildKesAgentCli(), a, c) },
  { name: 'kes-cold', build: buildKesColdCli, usageExit: EXIT.USAGE, run: (a, c) => runCli(buildKesColdCli, a, c), whole: (a, c) => runCli(buildKesColdCli(), a, c) },
  { name: 'kes-ctl', build: buildKesCtlCli, usageExit: EXIT.USAGE, run: (a, c) => runCli(buildKesCtlCli, a, c), whole: (a, c) => runCli(buildKesCtlCli(), a, c) },
  { name: 'kes-node', build: buildKesNodeCli, usageExit: EXIT.USAGE, run: (a, c) => runCli(buildKesNodeCli, a, c), whole: (a, c) => runCli(buildKesNodeCli(), a, c) },
  { name: 'kes-agent-control', build: buildKesAgentControlCli, usageExit: HS_EXIT.USAGE, run: (a, c) => runKesAgentControl(a, c) },
];

/** Exit-2 errors that carry a more specific stable code than USAGE (README "Errors"). */
const SPECIFIC_USAGE_CODES = ['USAGE', 'SETTING_INVALID', 'NETWORK_UNKNOWN', 'SOCKET_PATH_TOO_LONG'];
/** The placeholders of options whose value is a whole number. */
const NUMERIC = new Set(['N', 'MS', 'S', 'UID', 'GID', 'INT']);
/** Placeholders whose negative values are valid (kes-agent-control -v, as the Haskell tool). */
const SIGNED = new Set(['INT']);

interface Opt {
  names: string[];
  required: boolean;
  placeholder: string;
}
interface Cmd {
  bin: Bin;
  words: string[];
  options: Opt[];
  /** Its usage line (operands are there; options with a description are listed separately). */
  usage: string;
  json: boolean;
}

/** Every command with its value-taking options, read from clipanion's own definitions. */
function commands(): Cmd[] {
  const out: Cmd[] = [];
  for (const bin of BINS) {
    for (const d of bin.build().definitions()) {
      const words = d.path.split(' ').slice(1);
      if (words.length === 0 || words[0]!.startsWith('-')) continue;
      const options: Opt[] = [];
      for (const m of d.usage.matchAll(/([<[])((?:--?[A-Za-z0-9-]+)(?:,--?[A-Za-z0-9-]+)*) #0[>\]]/g)) {
        const names = m[2]!.split(',');
        options.push({ names, required: m[1] === '<', placeholder: placeholderFor(names) });
      }
      for (const o of d.options) {
        const m = /^((?:--?[A-Za-z0-9-]+)(?:,--?[A-Za-z0-9-]+)*) #0$/.exec(o.definition);
        if (m === null) continue;
        const names = m[1]!.split(',');
        if (!options.some((x) => x.names[0] === names[0])) options.push({ names, required: o.required, placeholder: placeholderFor(names) });
      }
      const json = d.options.some((o) => o.definition === '--json') || /\[--json\]/.test(d.usage);
      out.push({ bin, words, options, usage: d.usage, json });
    }
  }
  return out;
}

const ALL = commands();

function runIn(bin: Bin, argv: string[], env: NodeJS.ProcessEnv = {}, runner = bin.run): Promise<InProcessRun> {
  return runCapturingOutput((io) => runner(argv, { ...io, env }));
}

/** The command line with every required option (and operand) given a placeholder value, except `skip`. */
function base(c: Cmd, skip?: Opt): string[] {
  const args = [...c.words, ...[...c.usage.matchAll(/ <([a-z][a-z0-9-]*)>/g)].map(() => 'x')];
  for (const o of c.options) if (o.required && o !== skip) args.push(o.names[o.names.length - 1]!, 'x');
  return args;
}

/** The option may be named by any of its names (`--retry-delay` is reported as `--retry-interval`). */
function expectRuleLine(bin: Bin, r: { code: number; err: string }, option: Opt): void {
  expect(r.code).toBe(bin.usageExit);
  const lines = r.err.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  const m = new RegExp(`^${bin.name}: error: (.*) \\[([A-Z_]+)\\]$`).exec(lines[0]!);
  expect(m).not.toBeNull();
  expect(SPECIFIC_USAGE_CODES).toContain(m![2]);
  expect(option.names.some((n) => m![1]!.includes(n))).toBe(true);
  expect(m![1]).toMatch(/expected/);
}

test('the enumeration finds every bin, and numeric options in it', () => {
  expect(new Set(ALL.map((c) => c.bin.name))).toEqual(new Set(BINS.map((b) => b.name)));
  expect(ALL.length).toBeGreaterThanOrEqual(20);
  expect(ALL.flatMap((c) => c.options).filter((o) => NUMERIC.has(o.placeholder)).length).toBeGreaterThan(5);
  expect(ALL.filter((c) => c.json).length).toBeGreaterThanOrEqual(10);
});

describe.each(ALL.filter((c) => c.bin.whole !== undefined).map((c) => [`${c.bin.name} ${c.words.join(' ')}`, c] as const))(
  '%s: a CLI of this command alone prints what the whole CLI prints',
  (_label, c) => {
    test.each([['--help'], ['--no-such-option'], ['--json', '--no-such-option'], ['an-operand', 'another']])('with %s %s', async (...extra) => {
      const argv = [...c.words, ...extra];
      const alone = await runIn(c.bin, argv);
      const whole = await runIn(c.bin, argv, {}, c.bin.whole);
      expect(alone).toEqual(whole);
    });
  },
);

describe.each(ALL.map((c) => [`${c.bin.name} ${c.words.join(' ')}`, c] as const))('%s', (_label, c) => {
  test('--version after the command prints the version, exit 0', async () => {
    const r = await runIn(c.bin, [...c.words, '--version']);
    expect(r).toEqual({ code: 0, out: `${c.bin.name} ${packageVersion()}\n`, err: '' });
  });

  test('--help names option values (no #0)', async () => {
    const r = await runIn(c.bin, [...c.words, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${c.bin.name} ${c.words.join(' ')}`);
    expect(r.out).not.toContain('#0');
  });

  const numeric = c.options.filter((o) => NUMERIC.has(o.placeholder));
  if (numeric.length > 0) test.each(numeric.flatMap((o) => [[o.names.at(-1)!, 'abc', o] as const, ...(SIGNED.has(o.placeholder) ? [] : [[o.names.at(-1)!, '-5', o] as const])]))('%s %s: one rule line, usage exit', async (name, value, o) => {
    const r = await runIn(c.bin, [...base(c, o), name, value]);
    expectRuleLine(c.bin, r, o);
    if (value === '-5') expect(r.err).not.toMatch(/not enough arguments/i);
  });

  if (c.options.length > 0) test.each(c.options.map((o) => [o.names.at(-1)!, o] as const))('%s with no value: one rule line, usage exit', async (name, o) => {
    const r = await runIn(c.bin, [...base(c, o), name]);
    expectRuleLine(c.bin, r, o);
  });
});

/** Sockets nobody listens on: every command that needs an agent fails to reach it. */
const NO_AGENT_ENV = { KES_AGENT_CONTROL_SOCKET: '/nonexistent-kes-agent/control.sock', KES_AGENT_SERVICE_SOCKET: '/nonexistent-kes-agent/service.sock' };

describe.each(ALL.filter((c) => !c.words.includes('watch')).filter((c) => c.json).map((c) => [`${c.bin.name} ${c.words.join(' ')}`, c] as const))(
  '%s --json',
  (_label, c) => {
    test('whatever the outcome: exactly one JSON object on stdout, ok matching the exit code, a failure with code, message and exitCode', async () => {
      const timeout = c.options.find((o) => o.names.includes('--timeout'));
      const r = await runIn(c.bin, [...base(c), '--json', ...(timeout !== undefined ? ['--timeout', '0'] : [])], NO_AGENT_ENV);
      const lines = r.out.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      const o = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(o['ok']).toBe(r.code === 0);
      if (r.code !== 0) {
        expect(o).toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String), exitCode: r.code });
        expect(r.err).toBe(`${c.bin.name}: error: ${o['message'] as string} [${o['code'] as string}]\n`);
      }
    });
  },
);

describe('the built bins', () => {
  const bins: [string, string][] = [
    ['kes-agent', BIN.agent],
    ['kes-cold', BIN.cold],
    ['kes-ctl', BIN.ctl],
    ['kes-node', BIN.node],
    ['kes-agent-control', path.join(ROOT, 'dist', 'src', 'bin', 'kes-agent-control.js')],
  ];
  test.each(bins)('%s with no arguments: usage on stderr, nothing on stdout, exit 2 (or its usage code)', async (name, file) => {
    const r = await run(file, [], { env: cleanEnv() });
    expect(r.code).toBe(name === 'kes-agent-control' ? HS_EXIT.USAGE : EXIT.USAGE);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`$ ${name} <command>`);
    expect(r.stderr).not.toContain('#0');
  });

  test('--json: a failure is one JSON object on stdout, the human line on stderr', async () => {
    const env = { ...cleanEnv(), KES_AGENT_CONTROL_SOCKET: '/nonexistent-kes-dir/control.sock' };
    for (const args of [['status', '--check', '--json'], ['upload', '--json'], ['upload', '--json', '--timeout', '-5']]) {
      const r = await run(BIN.ctl, args, { env });
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      const o = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(o).toEqual({ ok: false, code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String), exitCode: r.code });
      expect(r.stderr).toBe(`kes-ctl: error: ${o['message'] as string} [${o['code'] as string}]\n`);
    }
  });

  test('--json: a success is one JSON object with ok: true and the command\'s fields', async () => {
    const r = await run(BIN.cold, ['period', '--network', 'preview', '--json'], { env: cleanEnv() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, kesPeriod: expect.any(Number), slot: expect.any(Number), periodStart: expect.any(String), periodEnd: expect.any(String) });
  });
});
