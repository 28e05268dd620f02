/**
 * kes-agent-control: a drop-in replacement for the Haskell kes-agent's tool of the same name,
 * speaking its Control protocol (so it drives a Haskell agent as well as ours). Same
 * subcommands, options, environment variables, success lines and install-key exit codes; the
 * differences are listed in docs/migrating-from-haskell.md.
 */
import { Builtins, Cli, Command, type BaseContext, type CommandClass } from 'clipanion';
import type { KesCliContext } from '../common/base-command';
import { oneLine } from '../../errors';
import { nameOptionValues, parseArgv } from '../common/run-cli';
import { packageVersion } from '../common/version';
import { DropKeyCommand } from './drop-key';
import { DropStagedKeyCommand } from './drop-staged-key';
import { HS_EXIT } from './exit-codes';
import { ExportStagedVkeyCommand } from './export-staged-vkey';
import { GenStagedKeyCommand } from './gen-staged-key';
import { InfoCommand } from './info';
import { InstallKeyCommand } from './install-key';
import { reorderArgv } from './options';

export const KES_AGENT_CONTROL_BIN = 'kes-agent-control';

export const SUBCOMMANDS: readonly string[] = ['gen-staged-key', 'export-staged-vkey', 'drop-staged-key', 'install-key', 'drop-key', 'info'];

/** `--version` only: `-v` is --verbose here, as in the Haskell tool. */
class VersionOnlyCommand extends Command<BaseContext> {
  static override paths = [['--version']];
  async execute(): Promise<number> {
    this.context.stdout.write(`${this.cli.binaryName} ${this.cli.binaryVersion ?? packageVersion()}\n`);
    return HS_EXIT.OK;
  }
}

export function buildKesAgentControlCli(): Cli<KesCliContext> {
  const cli = new Cli<KesCliContext>({
    binaryName: KES_AGENT_CONTROL_BIN,
    binaryLabel: "kes-agent-control: drive a kes-agent over the Haskell kes-agent's Control protocol (drop-in for the Haskell tool)",
    binaryVersion: packageVersion(),
    enableColors: false,
  });
  const commands: CommandClass<KesCliContext>[] = [GenStagedKeyCommand, ExportStagedVkeyCommand, DropStagedKeyCommand, InstallKeyCommand, DropKeyCommand, InfoCommand];
  for (const c of commands) cli.register(c);
  cli.register(Builtins.HelpCommand as unknown as CommandClass<KesCliContext>);
  cli.register(VersionOnlyCommand as unknown as CommandClass<KesCliContext>);
  return nameOptionValues(cli);
}

/** Parse and run; resolve to the exit code (see exit-codes.ts). */
export async function runKesAgentControl(argv: readonly string[], context: Partial<KesCliContext> = {}): Promise<number> {
  const cli = buildKesAgentControlCli();
  const ctx = { ...Cli.defaultContext, colorDepth: 1, now: Date.now, ...context } as KesCliContext;
  const args = reorderArgv(argv, SUBCOMMANDS);
  const parsed = parseArgv(cli, args, ctx, HS_EXIT.USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  return cli.run(parsed.command, ctx);
}

/** The body of the bin: process.argv, process.exitCode; EPIPE on stdout/stderr is ignored as in run-cli.ts. */
export function mainKesAgentControl(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  runKesAgentControl(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const msg = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      process.stderr.write(`${KES_AGENT_CONTROL_BIN}: internal error: ${oneLine(msg)}\n`);
      process.exitCode = HS_EXIT.INTERNAL;
    },
  );
}
