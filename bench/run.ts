/**
 * `npm run bench` prints the Node version and a table; `npm run bench -- --json` prints
 * {node, rows: [{name, ratio, target}]}. `-- --suite agent` (or crypto) runs one suite only.
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

/** The suites named by `--suite <name>` (repeatable), or all of them. */
function selectedSuites(argv: string[]): typeof SUITES {
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--suite') continue;
    const name = argv[++i];
    if (name === undefined || !SUITES.some((s) => s.name === name)) {
      throw new Error(`--suite: expected one of ${SUITES.map((s) => s.name).join(', ')}, got ${name ?? 'nothing'}`);
    }
    names.push(name);
  }
  return names.length === 0 ? SUITES : SUITES.filter((s) => names.includes(s.name));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const suites = selectedSuites(argv);
  // Ratios move with the Node release (start-up cost, GC): every report says which one ran.
  const node = process.version;
  const rows: BenchRow[] = [];
  for (const suite of suites) {
    if (!json) process.stderr.write(`running ${suite.name} benchmarks on Node ${node}...\n`);
    rows.push(...(await suite.run()));
  }
  process.stdout.write(
    json
      ? `${JSON.stringify({ node, rows: rows.map(({ name, ratio, target }) => ({ name, ratio, target })) })}\n`
      : `Node ${node}\n${table(rows)}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
