#!/usr/bin/env node
import { mainKesAgentControl } from '../cli/haskell-control';

mainKesAgentControl();
