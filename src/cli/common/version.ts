/**
 * The package version, read at runtime from package.json.
 *
 * The same module runs from src/cli/common (ts-jest, ts-node) and from dist/src/cli/common (built),
 * which sit at different depths, so we walk up to the nearest package.json named kes-agent
 * instead of hard-coding a relative path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PACKAGE_NAME = 'kes-agent';
/** src/cli/common is 3 levels deep, dist/src/cli/common 4: a few more is plenty. */
const MAX_PACKAGE_JSON_DEPTH = 8;

let cached: string | undefined;

export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = __dirname;
  for (let i = 0; i < MAX_PACKAGE_JSON_DEPTH; i++) {
    const candidate = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // Not here (or not ours): keep walking up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return (cached = 'unknown');
}
