#!/usr/bin/env node
import { ignoreInspectorSignal } from '../cli/agent/process-guards';
import { runMain } from '../cli/common';
import { buildKesNodeCli } from '../cli/node';

// kes-node holds a KES key while it runs: no inspector on SIGUSR1.
ignoreInspectorSignal();
runMain(buildKesNodeCli());
