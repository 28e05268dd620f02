#!/usr/bin/env node
import { ignoreInspectorSignal } from '../cli/agent/process-guards';
import { buildKesAgentCli } from '../cli/agent';
import { runMain } from '../cli/common';

ignoreInspectorSignal();
runMain(buildKesAgentCli());
