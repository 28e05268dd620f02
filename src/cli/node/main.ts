/** kes-node's entry: what `kes-node` runs (bundled into dist/bundle/kes-node.js by the build). */
import { ignoreInspectorSignal } from '../agent/process-guards';
import { runMain } from '../common';
import { buildKesNodeCli } from '.';

// kes-node holds a KES key while it runs: no inspector on SIGUSR1.
ignoreInspectorSignal();
runMain(buildKesNodeCli);
