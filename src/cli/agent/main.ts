/** kes-agent's entry: what `kes-agent` runs (bundled into dist/bundle/kes-agent.js by the build). */
import { closeOpenInspector, ignoreInspectorSignal } from './process-guards';
import { buildKesAgentCli } from '.';
import { runMain } from '../common';
import { EXIT } from '../exit-codes';

ignoreInspectorSignal();
const refusal = closeOpenInspector();
if (refusal !== undefined) {
  process.stderr.write(`kes-agent: error: ${refusal}\n`);
  process.exitCode = EXIT.USAGE;
} else {
  runMain(buildKesAgentCli);
}
