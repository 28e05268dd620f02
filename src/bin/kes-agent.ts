#!/usr/bin/env node
import { closeOpenInspector, ignoreInspectorSignal } from '../cli/agent/process-guards';
import { buildKesAgentCli } from '../cli/agent';
import { runMain } from '../cli/common';
import { EXIT } from '../cli/exit-codes';

ignoreInspectorSignal();
const refusal = closeOpenInspector();
if (refusal !== undefined) {
  process.stderr.write(`kes-agent: error: ${refusal}\n`);
  process.exitCode = EXIT.USAGE;
} else {
  runMain(buildKesAgentCli);
}
