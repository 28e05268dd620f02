/**
 * `npm run bench` prints a table; `npm run bench -- --json` prints [{name, ratio, target}].
 * A suite is an async function returning rows; add new suites to SUITES.
 */
import { runAgentBench } from './agent';
import { type BenchRow, runCryptoBench } from './crypto';

const SUITES: { name: string; run: () => Promise<BenchRow[]> }[] = [
  { name: 'crypto', run: runCryptoBench },
  { name: 'agent', run: runAgentBench },
];

function table(rows: BenchRow[]): string {
  const head = ['name', 'ratio', 'target', 'ok', 'detail'];
  const body = rows.map((r) => [r.name, r.ratio.toFixed(3), r.target.toFixed(2), r.ratio <= r.target ? 'yes' : 'NO', r.detail ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const json = process.argv.slice(2).includes('--json');
  const rows: BenchRow[] = [];
  for (const suite of SUITES) {
    if (!json) process.stderr.write(`running ${suite.name} benchmarks...\n`);
    rows.push(...(await suite.run()));
  }
  process.stdout.write(
    json ? `${JSON.stringify(rows.map(({ name, ratio, target }) => ({ name, ratio, target })))}\n` : `${table(rows)}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
