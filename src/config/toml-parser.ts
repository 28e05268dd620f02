/**
 * smol-toml, loaded the way this CommonJS project can load it.
 *
 * The package is `"type": "module"` with one set of .d.ts files, so TypeScript (module node16)
 * treats `import { parse } from 'smol-toml'` as a require of an ES module and refuses it, even
 * though the package's `exports` give `require` its own build (dist/index.cjs). The types come
 * from a type-only import; the value from that CommonJS build.
 */
import type * as SmolToml from 'smol-toml' with { 'resolution-mode': 'import' };

const smolToml = require('smol-toml') as typeof SmolToml;

export const parseToml: typeof SmolToml.parse = smolToml.parse;
export const TomlError: typeof SmolToml.TomlError = smolToml.TomlError;
