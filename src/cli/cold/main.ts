/** kes-cold's entry: what `kes-cold` runs (bundled into dist/bundle/kes-cold.js by the build). */
import { runMain } from '../common';
import { buildKesColdCli } from '.';

runMain(buildKesColdCli);
