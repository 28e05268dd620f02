/** kes-agent-control's entry (bundled into dist/bundle/kes-agent-control.js by the build). */
import { mainKesAgentControl } from '.';

mainKesAgentControl();
