import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import { ERROR_CODES, KesError, MAX_ERROR_LINE_CHARS, oneLine, type ErrorCode } from '../../src/errors';
import { EXIT } from '../../src/cli/exit-codes';
import { runCapturingOutput, type InProcessRun } from '../helpers/in-process-cli';
import { BIN, run } from '../helpers/processes';
import { AgentRefusedError } from '../../src/client/control-client';
import { WIRE_ERROR_CODES } from '../../src/protocol';
import { assertWritableDir } from '../../src/cli/common/files';
import {
  EXIT_FOR_ERROR,
  KesCommand,
  createCli,
  describeFailure,
  exitCodeFor,
  packageVersion,
  runCli,
  toJsonLine,
  type KesCliContext,
} from '../../src/cli/common';
import { bindNegativeValues } from '../../src/cli/common/run-cli';
import { withPlaceholders } from '../../src/cli/common/option-placeholders';

test('every error code has an explicit exit code', () => {
  const unmapped = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => EXIT_FOR_ERROR[c] === undefined);
  expect(unmapped).toEqual([]);
  expect(exitCodeFor('CHAIN_NOT_STARTED')).toBe(EXIT.CHAIN_NOT_STARTED);
  expect(exitCodeFor('OPCERT_BAD_SIGNATURE')).toBe(EXIT.INVALID);
  expect(exitCodeFor('FILE_EXISTS')).toBe(EXIT.BAD_INPUT);
});

describe('describeFailure', () => {
  test('KesError: message and code, mapped exit code', () => {
    expect(describeFailure('kes-x', new KesError('COUNTER_WRONG_COLD_KEY', 'c: wrong'))).toEqual({
      line: 'kes-x: error: c: wrong [COUNTER_WRONG_COLD_KEY]\n',
      exitCode: EXIT.INVALID,
      code: 'COUNTER_WRONG_COLD_KEY',
      message: 'c: wrong',
    });
  });
  test('UsageError: points to the command help, exit 2', () => {
    expect(describeFailure('kes-x', new UsageError('bad'), 'kes-x sub')).toEqual({
      line: "kes-x: error: bad (see 'kes-x sub --help') [USAGE]\n",
      exitCode: EXIT.USAGE,
      code: 'USAGE',
      message: "bad (see 'kes-x sub --help')",
    });
  });
  test('anything else is an internal error, one line, exit 1', () => {
    expect(describeFailure('kes-x', new TypeError('boom\n    at foo (x.js:1:1)'))).toEqual({
      line: 'kes-x: internal error: TypeError: boom; at foo (x.js:1:1)\n',
      exitCode: EXIT.INTERNAL,
      code: 'INTERNAL',
      message: 'TypeError: boom; at foo (x.js:1:1)',
    });
    expect(describeFailure('kes-x', 'a string').line).toBe('kes-x: internal error: a string\n');
  });
});

test('oneLine: joins lines, neutralises control characters, bounds the length', () => {
  expect(oneLine('a\n\n  b  \n')).toBe('a; b');
  expect(oneLine('evil\u001b[31mred\u0007')).toBe('evil?[31mred?');
  const long = oneLine('x'.repeat(5000));
  expect(long.length).toBe(MAX_ERROR_LINE_CHARS);
  expect(long.endsWith('…')).toBe(true);
});

test('toJsonLine: insertion order, bigint as number when exact, byte arrays refused', () => {
  expect(toJsonLine({ b: 1, a: 2n, c: 2n ** 64n })).toBe('{"b":1,"a":2,"c":"18446744073709551616"}\n');
  expect(() => toJsonLine({ key: new Uint8Array(32) })).toThrow(TypeError);
});

test('packageVersion reads package.json', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  expect(packageVersion()).toBe(pkg.version);
});

describe('a KesCommand in a createCli CLI', () => {
  class Boom extends KesCommand {
    static override paths = [['boom']];
    static override usage = Command.Usage({ description: 'throws what it is told to' });
    kind = Option.String('--kind', { required: true });
    n = Option.String('--n', '0', { validator: t.cascade(t.isNumber(), [t.isInteger()]) });
    async execute(): Promise<number> {
      switch (this.kind) {
        case 'kes':
          throw new KesError('ENVELOPE_BAD_HEX', 'f: not hex');
        case 'usage':
          throw new UsageError('no good');
        case 'bug':
          throw new RangeError('index out of range');
        case 'soft':
          this.print('partial result');
          return this.fail(new KesError('OPCERT_BAD_SIGNATURE', 'o: bad'));
        default:
          this.printJson({ kind: this.kind, n: this.n });
          return EXIT.OK;
      }
    }
  }

  function run(argv: string[]): Promise<InProcessRun> {
    const cli = createCli<KesCliContext>({ binaryName: 'kes-x', binaryLabel: 'test', commands: [Boom] });
    return runCapturingOutput((io) => runCli(cli, argv, { ...io, env: {} }));
  }

  test.each([
    ['kes', EXIT.BAD_INPUT, 'kes-x: error: f: not hex [ENVELOPE_BAD_HEX]\n', ''],
    ['usage', EXIT.USAGE, "kes-x: error: no good (see 'kes-x boom --help') [USAGE]\n", ''],
    ['bug', EXIT.INTERNAL, 'kes-x: internal error: RangeError: index out of range\n', ''],
    ['soft', EXIT.INVALID, 'kes-x: error: o: bad [OPCERT_BAD_SIGNATURE]\n', 'partial result\n'],
    ['ok', EXIT.OK, '', '{"ok":true,"kind":"ok","n":0}\n'],
  ])('--kind %s', async (kind, code, err, out) => {
    expect(await run(['boom', '--kind', kind])).toEqual({ code, out, err });
  });

  test('parse errors never reach stdout', async () => {
    for (const argv of [['nope'], ['boom'], ['boom', '--kind', 'ok', '--n', 'x'], ['boom', '--kind']]) {
      const r = await run(argv);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^kes-x: error: [^\n]+\n$/);
    }
  });

  test('--help and --version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(EXIT.OK);
    expect(help.out).toContain('kes-x boom');
    expect((await run(['--version'])).out).toBe(`kes-x ${packageVersion()}\n`);
  });
});

describe('command-line mistakes through the built binaries', () => {
  test.each([
    [BIN.agent, ['--cold-vkey', 'cold.vkey'], "kes-agent: error: no command given; run 'kes-agent --help' [USAGE]"],
    [BIN.cold, ['--force'], "kes-cold: error: no command given; run 'kes-cold --help' [USAGE]"],
    [BIN.ctl, ['--bogus'], "kes-ctl: error: no command given; run 'kes-ctl --help' [USAGE]"],
    [BIN.ctl, ['bogus'], 'kes-ctl: error: unknown command "bogus"; run \'kes-ctl --help\' [USAGE]'],
  ])('%#: %j → one line, exit 2', async (bin, args, line) => {
    const r = await run(bin, args);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toBe(`${line}\n`);
  });
});

describe('assertWritableDir', () => {
  test('accepts a file in a writable directory; refuses a missing directory and a regular file used as one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-wdir-'));
    try {
      expect(() => assertWritableDir(path.join(dir, 'kes.vkey'))).not.toThrow();
      fs.writeFileSync(path.join(dir, 'plain'), '');
      for (const bad of [path.join(dir, 'missing', 'kes.vkey'), path.join(dir, 'plain', 'kes.vkey')]) {
        expect(() => assertWritableDir(bad)).toThrow(expect.objectContaining({ code: 'FILE_WRITE_FAILED' }));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an agent refusal exits by one rule: 4 when the opcert itself is wrong, 6 when it depends on the agent state or time', () => {
  test.each([
    ['OPCERT_WRONG_KES_KEY', EXIT.INVALID],
    ['OPCERT_WRONG_COLD_KEY', EXIT.INVALID],
    ['OPCERT_BAD_SIGNATURE', EXIT.INVALID],
    ['NO_STAGED_KEY', EXIT.REFUSED],
    ['OPCERT_EXPIRED', EXIT.REFUSED],
    ['OPCERT_COUNTER_TOO_LOW', EXIT.REFUSED],
    ['OPCERT_NOT_YET_VALID', EXIT.REFUSED],
  ] as const)('%s → exit %d, the agent code printed', (name, exit) => {
    const r = describeFailure('kes-ctl', new AgentRefusedError('import-opcert', WIRE_ERROR_CODES[name], 'why'));
    expect(r).toMatchObject({ line: `kes-ctl: error: the agent refused import-opcert: why [${name}]\n`, exitCode: exit });
  });

  test('an unknown code from a newer agent is a refusal (6)', () => {
    expect(describeFailure('kes-ctl', new AgentRefusedError('upload', 999, 'new')).exitCode).toBe(EXIT.REFUSED);
  });
});

test('bindNegativeValues: a negative number after an option that takes a value is its value; not after --, not after a boolean', () => {
  const takes = new Set(['--timeout', '-c']);
  expect(bindNegativeValues(['upload', '--timeout', '-5', '--json'], takes)).toEqual(['upload', '--timeout=-5', '--json']);
  expect(bindNegativeValues(['x', '-c', '-1'], takes)).toEqual(['x', '-c=-1']);
  expect(bindNegativeValues(['x', '--json', '-5'], takes)).toEqual(['x', '--json', '-5']);
  expect(bindNegativeValues(['x', '--', '--timeout', '-5'], takes)).toEqual(['x', '--', '--timeout', '-5']);
});

test('withPlaceholders: #0 becomes the value\'s name, and the option column is aligned again', () => {
  expect(withPlaceholders('kes-x a [--socket #0] <--kes-period #0> [-c,--control-address #0] [--json]')).toBe(
    'kes-x a [--socket PATH] <--kes-period N> [-c,--control-address PATH] [--json]',
  );
  const help = withPlaceholders('Options\n\n  --timeout #0    wait\n  --json          one object\n');
  expect(help).toBe('Options\n\n  --timeout MS    wait\n  --json          one object\n');
});
