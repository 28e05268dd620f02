/**
 * The bundles' built-ins without esbuild's namespace copies (scripts/builtin-copies.ts), on what
 * esbuild really writes for a namespace import and for a default import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { withoutBuiltinCopies } from '../../scripts/builtin-copies';
import { tempDir } from '../helpers/processes';

/** esbuild's bundle of `source`, with the options scripts/bundle-bins.ts uses. */
function bundled(source: string): string {
  const dir = tempDir('kes-builtins-');
  try {
    const entry = path.join(dir, 'entry.ts');
    fs.writeFileSync(entry, source);
    const r = buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', write: false, minifyWhitespace: true, minifySyntax: true, logLevel: 'silent' });
    return r.outputFiles[0]!.text;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('withoutBuiltinCopies', () => {
  test('a namespace import of a built-in is required as it is, and still works', () => {
    const text = bundled("import * as path from 'node:path';\nexport const joined = path.join('a', 'b');\n");
    expect(text).toContain('__toESM(require("node:path"))');
    const out = withoutBuiltinCopies(text, 'probe');
    expect(out).not.toContain('__toESM(require("node:');
    expect(out).toContain('require("node:path")');
    const mod = { exports: {} as { joined?: string } };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    new Function('module', 'exports', 'require', out)(mod, mod.exports, require);
    expect(mod.exports.joined).toBe(path.join('a', 'b'));
  });

  test('a default import of a built-in is refused, naming the bundle', () => {
    const text = bundled("import fs from 'node:fs';\nexport const read = fs.readFileSync;\n");
    expect(() => withoutBuiltinCopies(text, 'probe')).toThrow(/probe reads import_node_fs\.default: import the built-in as a namespace/);
  });

  test('every bundle the build wrote has no copies left', () => {
    const dir = path.join(__dirname, '..', '..', 'dist', 'bundle');
    const bundles = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
    expect(bundles.length).toBeGreaterThanOrEqual(5);
    for (const f of bundles) expect(fs.readFileSync(path.join(dir, f), 'utf8')).not.toMatch(/__toESM\(require\("node:/);
  });
});
