#!/usr/bin/env node
import { launch } from '../cli/launch';

// eslint-disable-next-line @typescript-eslint/no-require-imports
launch('kes-agent-control', require, () => require('../cli/haskell-control/main'));
