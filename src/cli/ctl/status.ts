/**
 * `kes-ctl status`: both slots, the current KES period, nodes, protections, warnings and the next
 * step; `--check` for monitoring, `--watch` for a live view.
 */
import { Command, Option, UsageError } from 'clipanion';
import { integerIn } from '../common/integer-option';
import { EXIT } from '../exit-codes';
import { ANSI_PAINT, NO_PAINT, colourEnabled, type Paint } from '../common/format';
import { toJsonLine } from '../common/json-output';
import { CtlCommand } from './base';
import { statusJson } from './status-json';
import { DEFAULT_PEER_DOWN_AFTER_S, DEFAULT_WARN_PERIODS, MAX_PEER_DOWN_AFTER_S, MAX_WARN_PERIODS, checkWithPeers } from './status-assess';
import { renderStatus } from './status-view';
import { WATCH_INTERVAL_MS, WatchPrinter, watchStatus, type WatchMode } from './status-watch';

export class StatusCommand extends CtlCommand {
  static override paths = [['status']];
  static override usage = Command.Usage({
    description: 'Show the agent\'s state: slots, KES period, nodes, protections, warnings, next step',
    details: `
      Public data only. For a person: the current KES period with its start and end, the active
      key (short KES vk, opcert counter and start period, evolution of max, periods remaining,
      expiry date), the staged key (waiting for an opcert, or certified), the counter floor (the
      lowest opcert counter the agent accepts, or that it has none), connected nodes, the
      memory and access protections in force, warnings, and the next step to take. Colour only
      when stdout is a terminal and NO_COLOR is not set.

      With --json one object: agentVersion, network, protocolVersion, chainStarted,
      currentKesPeriod, currentSlot, periodStart, nextPeriodStart, slotsPerKesPeriod,
      maxKesEvolutions, serviceClients, protection {keyMemoryLocked, sodiumHeapLocked,
      coreDumpsDisabled, peerCredentialsChecked, unlockedMemoryAllowed}, staged (null or
      {kesVkey, opcert}), active (null or {kesVkey, counter, startKesPeriod, evolution,
      periodsRemaining, expiresAt, installedAt, opcert}), expired (null or {kesVkey, counter,
      startKesPeriod, expiredAt}), counterFloor (the lowest opcert counter the agent accepts: the
      highest counter of a key active since it started; null when there is none; absent when the
      agent does not report it), peers (the bootstrap peers: path, state connecting|up|down,
      since, lastKey {kesVkey, counter, evolution, timestampUs, receivedAt}, lastDrop,
      lastRefusal {code, message, at}, received, accepted; absent from an older agent), warnings.

      For cron and monitoring, --check prints one line and exits 0 when an active key can
      sign now and more than --warn-periods KES periods remain; ${EXIT.EXPIRING_SOON} when it expires
      within --warn-periods (warning: rotate now); ${EXIT.NOT_READY} when there is no active key, it
      expired, it is evolved past the current KES period (the clock went back), or its opcert starts
      in the future (critical); ${EXIT.CHAIN_NOT_STARTED} before the chain
      starts; ${EXIT.PEER_DOWN} when the key is fine but a bootstrap peer has been down longer than
      --peer-down-after seconds; ${EXIT.UNREACHABLE} when the agent cannot be reached. With --json that line is
      {check, exitCode, message}.

      The live view, --watch, keeps one connection and asks every ${WATCH_INTERVAL_MS} ms; it prints
      only when something changed (on a terminal it redraws the screen; piped, each new view
      follows a blank line; with --json one line per change: {"event":"status", time, status}
      or {"event":"unreachable", time, code, message, retryInMs}). When the agent goes away it
      says so once and reconnects until it is back. SIGINT or SIGTERM ends it with exit 0.
    `,
    examples: [
      ['Human-readable', '$0 status'],
      ['For scripts', '$0 status --json'],
      ['Cron: fail when the key expires within 20 KES periods', '$0 status --check --warn-periods 20'],
      ['Live view', '$0 status --watch'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print one JSON object (with --watch: one per change)' });
  check = Option.Boolean('--check', false, { description: 'Exit non-zero when no key can sign or it expires soon (one line says why)' });
  watch = Option.Boolean('--watch', false, { description: 'Live view: print again whenever something changes' });
  warnPeriods = Option.String('--warn-periods', String(DEFAULT_WARN_PERIODS), {
    description: `Expiring soon means at most this many KES periods remain (default ${DEFAULT_WARN_PERIODS})`,
    validator: integerIn('--warn-periods', 0, MAX_WARN_PERIODS),
  });

  peerDownAfter = Option.String('--peer-down-after', String(DEFAULT_PEER_DOWN_AFTER_S), {
    description: `--check: warn (exit ${EXIT.PEER_DOWN}) when a bootstrap peer has been down longer than this many seconds (default ${DEFAULT_PEER_DOWN_AFTER_S})`,
    validator: integerIn('--peer-down-after', 0, MAX_PEER_DOWN_AFTER_S),
  });

  async execute(): Promise<number> {
    if (this.check && this.watch) throw new UsageError('--check and --watch cannot be used together');
    if (this.watch) return this.#watch();
    const s = await this.withAgent((ctl) => ctl.status());
    const now = this.context.now();
    if (this.check) {
      const r = checkWithPeers(s, this.warnPeriods, this.peerDownAfter * 1000, now);
      // A verdict other than ok is a failure to --json: ok false, and its level as the stable code.
      if (this.json) this.printJson({ check: r.level, ...(r.exitCode === EXIT.OK ? {} : { code: CHECK_CODE[r.level] }), exitCode: r.exitCode, message: r.message });
      else this.print(`${CHECK_PREFIX[r.level]}: ${r.message}`);
      return r.exitCode;
    }
    if (this.json) this.printJson(statusJson(s));
    else this.print(renderStatus(s, { nowMs: now, warnPeriods: this.warnPeriods, paint: this.#paint() }));
    return EXIT.OK;
  }

  #paint(): Paint {
    return colourEnabled(this.context.stdout as { isTTY?: boolean }, this.context.env) ? ANSI_PAINT : NO_PAINT;
  }

  async #watch(): Promise<number> {
    const paint = this.#paint();
    const tty = (this.context.stdout as { isTTY?: boolean }).isTTY === true;
    const mode: WatchMode = this.json ? 'json' : tty ? 'tty' : 'text';
    const printer = new WatchPrinter({
      mode,
      write: (text) => this.context.stdout.write(text),
      now: this.context.now,
      render: (s, showTime) => renderStatus(s, { nowMs: this.context.now(), warnPeriods: this.warnPeriods, paint, showTime }),
      json: statusJson,
      jsonLine: toJsonLine,
    });
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // A reader that went away (`status --watch | head -1`) ends the watch at the next write.
    this.context.stdout.once('close', onSignal);
    try {
      await watchStatus(this.socketPath(), this.agentTrust(), printer, stop.signal);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      this.context.stdout.off('close', onSignal);
    }
    return EXIT.OK;
  }
}

/** The `code` of a --check verdict in --json (the exit code says the same). */
const CHECK_CODE = { ok: 'OK', 'expiring-soon': 'EXPIRING_SOON', 'peer-down': 'PEER_DOWN', 'not-ready': 'NOT_READY', 'chain-not-started': 'CHAIN_NOT_STARTED' } as const;

/** The first word of a --check line: what a person scanning cron mail looks for. */
const CHECK_PREFIX = { ok: 'ok', 'expiring-soon': 'warning', 'peer-down': 'warning', 'not-ready': 'critical', 'chain-not-started': 'not started' } as const;
