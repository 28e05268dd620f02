/**
 * kes-ctl's entry: what `kes-ctl` runs (bundled into dist/bundle/kes-ctl.js by the build).
 * The plain `status` line is answered before clipanion is loaded (plain-status.ts); every
 * other line, and a plain status that failed, goes to the full CLI. `require` keeps the CLI's
 * modules unloaded until then (the bundle evaluates a module at its first require).
 */
import { ignoreClosedReader } from '../common/closed-reader';
import { plainStatusLine, runPlainStatus } from './plain-status';

function fullCli(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runMain } = require('../common') as typeof import('../common');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildKesCtlCli } = require('.') as typeof import('.');
  runMain(buildKesCtlCli);
}

const plain = plainStatusLine(process.argv.slice(2));
if (plain === undefined) {
  fullCli();
} else {
  // Only stdout: the plain path writes nothing else, and process.stderr is made at first use
  // (the full CLI sets it up when it takes over).
  ignoreClosedReader(process.stdout);
  runPlainStatus(plain, { stdout: process.stdout, env: process.env, now: Date.now }).then(
    (code) => (code === undefined ? fullCli() : (process.exitCode = code)),
    () => fullCli(),
  );
}
