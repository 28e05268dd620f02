/**
 * The plain `kes-ctl status` line, answered without clipanion.
 *
 * `kes-ctl status [--json] [--socket PATH] [--agent-uid UID]` is what monitoring runs over and
 * over, and building clipanion's parser cost more than the request itself. This path reads only
 * those words and prints exactly what StatusCommand prints on success. Anything else (another
 * option, --help, a repeated or odd-looking value) and any failure at all go to the full CLI,
 * which parses the line again and reports it in its usual words: status only reads, so asking
 * twice changes nothing. The request goes over a blocking socket, with the version answer
 * (client/status-once.ts): one round trip fewer than StatusCommand's, and no node:net.
 */
import { AGENT_UID_FLAG } from '../../client/agent-identity';
import { EXIT } from '../exit-codes';
import { ANSI_PAINT, NO_PAINT, colourEnabled } from '../common/format';
import { jsonSuccess } from '../common/json-output';
import { statusOnce } from '../../client/status-once';
import { controlSocketPath, controlTrust } from './control-connection';
import { DEFAULT_WARN_PERIODS } from './status-assess';
import { statusJson } from './status-json';
import { renderStatus } from './status-view';

export const STATUS_WORD = 'status';
const JSON_FLAG = '--json';
const SOCKET_FLAG = '--socket';

/** What a plain status line asks for. */
export interface PlainStatusLine {
  json: boolean;
  socket?: string;
  agentUid?: string;
}

export interface PlainStatusContext {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  now: () => number;
}

/** A value this path takes as given; anything else is the full parser's to judge. */
const plainValue = (v: string | undefined): v is string => v !== undefined && v !== '' && !v.startsWith('-');

/** The line as a plain status request, or undefined when the full CLI must read it. */
export function plainStatusLine(argv: readonly string[]): PlainStatusLine | undefined {
  if (argv[0] !== STATUS_WORD) return undefined;
  const line: PlainStatusLine = { json: false };
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === JSON_FLAG && !line.json) {
      line.json = true;
      continue;
    }
    const eq = word.indexOf('=');
    const name = eq === -1 ? word : word.slice(0, eq);
    const field = name === SOCKET_FLAG ? 'socket' : name === AGENT_UID_FLAG ? 'agentUid' : undefined;
    if (field === undefined || line[field] !== undefined) return undefined;
    const value = eq === -1 ? argv[++i] : word.slice(eq + 1);
    if (!plainValue(value)) return undefined;
    line[field] = value;
  }
  return line;
}

/** Print the agent's status as StatusCommand would; undefined (nothing printed) on any failure. */
export function runPlainStatus(line: PlainStatusLine, ctx: PlainStatusContext): number | undefined {
  let text: string;
  try {
    const s = statusOnce({ socketPath: controlSocketPath(line.socket, ctx.env), trust: controlTrust(line.agentUid, ctx.env), now: ctx.now });
    if (line.json) {
      text = jsonSuccess(statusJson(s));
    } else {
      const paint = colourEnabled(ctx.stdout, ctx.env) ? ANSI_PAINT : NO_PAINT;
      const view = renderStatus(s, { nowMs: ctx.now(), warnPeriods: DEFAULT_WARN_PERIODS, paint });
      text = view.endsWith('\n') ? view : `${view}\n`;
    }
  } catch {
    return undefined;
  }
  ctx.stdout.write(text);
  return EXIT.OK;
}
