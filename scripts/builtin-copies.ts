/** A build step of scripts/bundle-bins.ts, apart so that it can be tested without bundling. */

/**
 * esbuild's namespace object for a built-in (`import * as fs from 'node:fs'` becomes
 * `__toESM(require("node:fs"))`) is a copy with one getter per export, made again in every
 * module that imports it: seven copies of fs and seven of path in kes-ctl, 2.5 ms of its start.
 * The module object itself serves the same reads, so the bundle takes it as it is. The one
 * thing the copy adds is `default`, which a namespace import never reads; a default import
 * (`import fs from 'node:fs'`) would, so the build refuses one rather than ship a bundle where it
 * is undefined.
 */
const BUILTIN_NAMESPACE_COPY = /__toESM\(require\("(node:[a-z_]+)"\)\)/g;
const BUILTIN_NAMESPACE_BINDING = /([\w$]+)=__toESM\(require\("node:[a-z_]+"\)\)/g;

/** The bundle text with built-ins required as they are (see BUILTIN_NAMESPACE_COPY). */
export function withoutBuiltinCopies(text: string, bundleName: string): string {
  for (const [, name] of text.matchAll(BUILTIN_NAMESPACE_BINDING)) {
    if (text.includes(`${name!}.default`)) {
      throw new Error(`bundle-bins: ${bundleName} reads ${name!}.default: import the built-in as a namespace (import * as x from 'node:x'), not as a default`);
    }
  }
  return text.replace(BUILTIN_NAMESPACE_COPY, 'require("$1")');
}
