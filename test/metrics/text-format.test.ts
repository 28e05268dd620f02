/**
 * The text exposition format as written by src/metrics/text-format.ts, read back by an
 * independent reader (test/helpers/prom-text.ts): escaping of label values and HELP text,
 * special values, and the refusals that keep one bad name from breaking the whole scrape.
 */
import { escapeHelp, escapeLabelValue, formatValue, renderTextFormat, TEXT_FORMAT_CONTENT_TYPE } from '../../src/metrics/text-format';
import { parseExposition, sampleValue } from '../helpers/prom-text';

describe('escaping', () => {
  test('label values: backslash, double quote and line feed, nothing else', () => {
    expect(escapeLabelValue('a\\b')).toBe('a\\\\b');
    expect(escapeLabelValue('say "hi"')).toBe('say \\"hi\\"');
    expect(escapeLabelValue('two\nlines')).toBe('two\\nlines');
    expect(escapeLabelValue('tab\there, é, {}=,')).toBe('tab\there, é, {}=,');
    expect(escapeLabelValue('\\n')).toBe('\\\\n');
  });

  test('HELP text: backslash and line feed; a double quote stays', () => {
    expect(escapeHelp('a\\b\nc "d"')).toBe('a\\\\b\\nc "d"');
  });

  test('values: NaN, +Inf, -Inf, integers and fractions', () => {
    expect([NaN, Infinity, -Infinity, 0, 42, -1, 1.5, 1e21].map(formatValue)).toEqual(['NaN', '+Inf', '-Inf', '0', '42', '-1', '1.5', '1e+21']);
  });

  test('the content type is version 0.0.4', () => {
    expect(TEXT_FORMAT_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

describe('renderTextFormat', () => {
  const hostile = ['back\\slash', 'quo"te', 'new\nline', '\\"\n', 'trailing\\', '', 'ünïcødé ✓', '} 1\nfake_metric 2'];

  test('every awkward label value survives a round trip through an independent reader', () => {
    const text = renderTextFormat([
      { name: 'test_values', help: 'Help with \\ and\nnewline and "quotes"', type: 'gauge', samples: hostile.map((v, i) => ({ labels: { v, i: String(i) }, value: i })) },
    ]);
    const p = parseExposition(text);
    expect(p.samples.map((s) => s.labels['v'])).toEqual(hostile);
    expect(p.samples.map((s) => s.value)).toEqual(hostile.map((_v, i) => i));
    // A value that looks like a line of the format is not one.
    expect(p.samples.every((s) => s.name === 'test_values')).toBe(true);
    expect(p.help.get('test_values')).toBe('Help with \\ and\nnewline and "quotes"');
    expect(p.type.get('test_values')).toBe('gauge');
    expect(text.split('\n')).toHaveLength(2 + hostile.length + 1);
  });

  test('layout: HELP, TYPE, then the samples of each family in order; one trailing line feed', () => {
    const text = renderTextFormat([
      { name: 'a_total', help: 'A', type: 'counter', samples: [{ labels: { code: 'X' }, value: 3 }, { labels: { code: 'Y' }, value: 0 }] },
      { name: 'b', help: 'B', type: 'gauge', samples: [{ value: 7 }] },
    ]);
    expect(text).toBe('# HELP a_total A\n# TYPE a_total counter\na_total{code="X"} 3\na_total{code="Y"} 0\n# HELP b B\n# TYPE b gauge\nb 7\n');
    const p = parseExposition(text);
    expect(sampleValue(p, 'a_total', { code: 'X' })).toBe(3);
    expect(sampleValue(p, 'b')).toBe(7);
  });

  test('nothing to report is an empty body', () => {
    expect(renderTextFormat([])).toBe('');
  });

  test('a bad metric or label name, or a family twice, is refused (a scraper would drop the whole scrape)', () => {
    expect(() => renderTextFormat([{ name: '1bad', help: '', type: 'gauge', samples: [] }])).toThrow(/invalid metric name/);
    expect(() => renderTextFormat([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'bad-name': 'x' }, value: 1 }] }])).toThrow(/invalid label name/);
    expect(() => renderTextFormat([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { __reserved: 'x' }, value: 1 }] }])).toThrow(/invalid label name/);
    const f = { name: 'ok', help: '', type: 'gauge' as const, samples: [] };
    expect(() => renderTextFormat([f, f])).toThrow(/twice/);
  });
});
