/**
 * The Prometheus text exposition format, version 0.0.4: what Prometheus and every compatible
 * scraper read. Written by hand rather than with a client library: the agent holds a pool's
 * signing key, every dependency is attack surface, and the format is a few lines of text.
 *
 * Format: https://prometheus.io/docs/instrumenting/exposition_formats/ ("Text-based format").
 */

/** The Content-Type a scraper expects for this format. */
export const TEXT_FORMAT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'gauge' | 'counter';

export interface Sample {
  /** Label name → value; any text (escaped on output). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric: its HELP and TYPE lines, then its samples. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Names starting with `__` are reserved for Prometheus itself. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value: backslash, double quote and line feed are the three escaped characters. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** A HELP docstring: only backslash and line feed are escaped (a quote stays as it is). */
export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** A sample value as Go's ParseFloat reads it: NaN, +Inf, -Inf, or a JavaScript number. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined) return '';
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  return `{${names.map((n) => {
    if (!LABEL_NAME.test(n) || n.startsWith('__')) throw new Error(`bug: invalid label name ${JSON.stringify(n)}`);
    return `${n}="${escapeLabelValue(labels[n]!)}"`;
  }).join(',')}}`;
}

/** Every family in order, each family's lines together; ends with a line feed. */
export function renderTextFormat(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    // A family split in two, or a bad name, makes the scrape fail as a whole: a bug here, not the operator's.
    if (!METRIC_NAME.test(f.name)) throw new Error(`bug: invalid metric name ${JSON.stringify(f.name)}`);
    if (seen.has(f.name)) throw new Error(`bug: metric ${f.name} rendered twice`);
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
