/**
 * kes-ctl's entry: the full CLI (bundled into dist/bundle/kes-ctl.js by the build). The bin
 * comes here for every line but a plain `status`, and for a plain status that failed
 * (plain-main.ts).
 */
import { runMain } from '../common';
import { buildKesCtlCli } from '.';

runMain(buildKesCtlCli);
