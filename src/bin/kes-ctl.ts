#!/usr/bin/env node
import { runMain } from '../cli/common';
import { buildKesCtlCli } from '../cli/ctl';

runMain(buildKesCtlCli());
