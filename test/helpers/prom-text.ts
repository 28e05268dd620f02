/**
 * A small reader of the Prometheus text exposition format 0.0.4, written from the format's
 * description, independently of src/metrics: tests scrape the agent and read what a scraper
 * would read, so a writer bug is not mirrored by a reader sharing its code.
 */

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedExposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: ParsedSample[];
}

/** Throws on anything a strict scraper would refuse. */
export function parseExposition(text: string): ParsedExposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition does not end with a line feed');
  const out: ParsedExposition = { help: new Map(), type: new Map(), samples: [] };
  const lines = text.split('\n');
  lines.pop();
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}`;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice('# HELP '.length);
      const sp = rest.indexOf(' ');
      const name = sp < 0 ? rest : rest.slice(0, sp);
      out.help.set(name, unescapeHelp(sp < 0 ? '' : rest.slice(sp + 1), where));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, extra] = line.slice('# TYPE '.length).split(' ');
      if (name === undefined || type === undefined || extra !== undefined) throw new Error(`${where}: malformed TYPE line`);
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) throw new Error(`${where}: unknown type ${type}`);
      if (out.samples.some((s) => s.name === name)) throw new Error(`${where}: TYPE for ${name} after its samples`);
      out.type.set(name, type);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    out.samples.push(parseSample(line, where));
  }
  return out;
}

function parseSample(line: string, where: string): ParsedSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (m === null) throw new Error(`${where}: no metric name in ${JSON.stringify(line)}`);
  const name = m[1]!;
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const ln = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (ln === null) throw new Error(`${where}: bad label at ${i}`);
      i += ln[0].length;
      let v = '';
      for (;;) {
        const c = line[i++];
        if (c === undefined) throw new Error(`${where}: unterminated label value`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          if (e === 'n') v += '\n';
          else if (e === '\\' || e === '"') v += e;
          else throw new Error(`${where}: bad escape \\${e ?? ''}`);
        } else v += c;
      }
      if (Object.hasOwn(labels, ln[1]!)) throw new Error(`${where}: label ${ln[1]} twice`);
      labels[ln[1]!] = v;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`${where}: expected , or } at ${i}`);
    }
    i++;
  }
  const rest = line.slice(i);
  const vm = /^ (\S+)( -?[0-9]+)?$/.exec(rest);
  if (vm === null) throw new Error(`${where}: bad value part ${JSON.stringify(rest)}`);
  const raw = vm[1]!;
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
  if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`${where}: value ${raw} is not a number`);
  return { name, labels, value };
}

function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => {
    if (c === 'n') return '\n';
    if (c === '\\') return '\\';
    throw new Error(`${where}: bad escape in HELP \\${c}`);
  });
}

/** The one sample of `name` whose labels include `labels`; undefined when there is none; throws when several match. */
export function sampleValue(p: ParsedExposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = p.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}
