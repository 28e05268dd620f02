#!/usr/bin/env node
import { runMain } from '../cli/common';
import { buildKesColdCli } from '../cli/cold';

runMain(buildKesColdCli());
