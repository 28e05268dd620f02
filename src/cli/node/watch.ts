/** `kes-node watch`: follow what a node would receive from the agent, one line per event. */
import { Command, Option } from 'clipanion';
import type { KesNodeClient, KesNodeClientEvents } from '../../client/node-client';
import { kesTimeAt } from '../../time';
import { MAX_TIMER_DELAY_MS } from '../../platform/timers';
import { EXIT } from '../exit-codes';
import { isoTime } from '../common/json-output';
import { NodeCommand } from './node-command';

/**
 * An unreachable agent is retried every few seconds for as long as it is away: print the first
 * failure, then one line per this many identical ones (dingo's agent client logged 5,000 lines in two seconds
 * from one stuck push).
 * @default 12
 */
export const REPEATED_DISCONNECT_EVERY = 12;

/** Longest keep-alive timer step (the process must not exit while watching). */
const KEEP_ALIVE_MS = MAX_TIMER_DELAY_MS;

const MS_PER_SECOND = 1000;

type WatchEvent =
  | { event: 'watching'; socket: string; network: string; kesPeriod: number | null }
  | ({ event: 'connected' } & KesNodeClientEvents['connected'])
  | ({ event: 'disconnected'; repeats: number } & KesNodeClientEvents['disconnected'])
  | ({ event: 'key' } & KesNodeClientEvents['key'])
  | ({ event: 'dropped' } & KesNodeClientEvents['dropped'])
  | ({ event: 'rejected' } & KesNodeClientEvents['rejected'])
  | ({ event: 'evolved' } & KesNodeClientEvents['evolved'])
  | ({ event: 'noKey' } & KesNodeClientEvents['noKey'])
  | { event: 'stopped'; signal: string };

export class WatchCommand extends NodeCommand {
  static override paths = [['watch']];
  static override usage = Command.Usage({
    description: 'Connect like a node and print every change',
    details: `
      Connects to the agent's service socket exactly as a block producer does, validates every
      key it receives (with --cold-vkey: that the pool's cold key signed its opcert) and prints
      one line per event: connected, key installed (KES vk, counter, start period, evolution),
      the agent has no key, key refused and why, evolved, dropped (by the agent, or expired),
      disconnected and when it retries. The key is evolved locally at each KES period boundary and kept when the agent
      goes away, as a node keeps it.

      With --json each line is one JSON object \`{"event": "...", "time": iso, ...}\`. Runs until
      SIGINT or SIGTERM, then wipes the key and exits 0.
    `,
    examples: [
      ['Watch the default service socket on mainnet', '$0 watch --cold-vkey cold.vkey'],
      ['Watch a preview agent as JSON lines', '$0 watch --network preview --socket /run/kes-agent/service.sock --json'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'One JSON object per line' });

  async execute(): Promise<number> {
    const client = await this.makeClient();
    const now = this.context.now;
    const t = kesTimeAt(client.timing, now());
    this.emitLine({ event: 'watching', socket: client.socketPath, network: client.timing.name, kesPeriod: t.started ? t.kesPeriod : null });
    this.follow(client);

    // The client never keeps a process alive by itself; a watcher must stay up until signalled.
    const keepAlive = setInterval(() => undefined, KEEP_ALIVE_MS);
    let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
    // A reader that went away (`kes-node watch | head -1`) ends the watch as SIGPIPE would.
    const onClosed = (): void => onSignal?.('SIGPIPE');
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      onSignal = resolve;
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      this.context.stdout.once('close', onClosed);
      client.start();
    });
    process.off('SIGINT', onSignal!);
    process.off('SIGTERM', onSignal!);
    this.context.stdout.off('close', onClosed);
    clearInterval(keepAlive);
    await client.stop();
    this.emitLine({ event: 'stopped', signal });
    return EXIT.OK;
  }

  private follow(client: KesNodeClient): void {
    const repeats = new RepeatFilter(REPEATED_DISCONNECT_EVERY);
    client.on('connected', (e) => {
      repeats.reset();
      this.emitLine({ event: 'connected', ...e });
    });
    client.on('disconnected', (e) => {
      const shown = repeats.check(`${e.code}\n${e.reason}`);
      if (shown !== undefined) this.emitLine({ event: 'disconnected', ...e, repeats: shown });
    });
    client.on('key', (e) => this.emitLine({ event: 'key', ...e }));
    client.on('dropped', (e) => this.emitLine({ event: 'dropped', ...e }));
    client.on('rejected', (e) => this.emitLine({ event: 'rejected', ...e }));
    client.on('evolved', (e) => this.emitLine({ event: 'evolved', ...e }));
    client.on('noKey', (e) => this.emitLine({ event: 'noKey', ...e }));
  }

  private emitLine(e: WatchEvent): void {
    const time = isoTime(this.context.now());
    if (this.json) {
      const { event, ...rest } = e;
      this.printJsonEvent({ event, time, ...rest });
      return;
    }
    this.print(`${time} ${describe(e)}`);
  }
}

/**
 * Shows the first of a run of identical messages, then every `every`-th. check() returns the
 * number of identical ones suppressed since the last one shown (0 for the first), or undefined
 * when this one is suppressed.
 */
export class RepeatFilter {
  #last: string | undefined;
  #repeats = 0;

  constructor(private readonly every: number) {}

  check(key: string): number | undefined {
    if (key !== this.#last) {
      this.#last = key;
      this.#repeats = 0;
      return 0;
    }
    this.#repeats++;
    return this.#repeats % this.every === 0 ? this.every - 1 : undefined;
  }

  reset(): void {
    this.#last = undefined;
    this.#repeats = 0;
  }
}

function describe(e: WatchEvent): string {
  switch (e.event) {
    case 'watching':
      return `watching ${e.socket} (network ${e.network}, ${e.kesPeriod === null ? 'chain not started' : `KES period ${e.kesPeriod}`})`;
    case 'connected':
      return `connected: agent ${e.agentVersion}, protocol ${e.protocolVersion}`;
    case 'disconnected': {
      const again = e.repeats > 0 ? ` (again; ${e.repeats} identical lines not shown)` : '';
      return `disconnected: ${e.reason} [${e.code}]${again}; retrying in ${(e.willRetryInMs / MS_PER_SECOND).toFixed(1)} s`;
    }
    case 'key':
      return `key ${e.replaced ? 'replaced' : 'installed'}: KES vk ${e.kesVk}, counter ${e.counter}, start KES period ${e.startKesPeriod}, evolution ${e.evolution}`;
    case 'rejected':
      return `key refused: ${e.code}: ${e.reason}`;
    case 'dropped':
      return e.reason === 'agent-dropped' ? 'key dropped by the agent and wiped'
        : e.reason === 'expired' ? 'key expired (end of its opcert window) and wiped'
        : 'key wiped: evolving it failed';
    case 'evolved':
      return `evolved to evolution ${e.evolution} (KES period ${e.kesPeriod})`;
    case 'noKey':
      return `the agent has no active key${e.keptKey ? '; keeping the key held here' : ''}`;
    case 'stopped':
      return `stopped (${e.signal}); key wiped`;
  }
}
