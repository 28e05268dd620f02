/** kes-ctl's entry: what `kes-ctl` runs (bundled into dist/bundle/kes-ctl.js by the build). */
import { runMain } from '../common';
import { buildKesCtlCli } from '.';

runMain(buildKesCtlCli);
