/**
 * The monitoring examples under deploy/ against the agent: the Prometheus alert rules and the
 * Grafana dashboard name only metrics the agent serves, the alerts the operator guide promises
 * are there, and the systemd drop-in that lets the agent bind a TCP metrics port is one systemd
 * reads (every directive known and explained).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectMetrics } from '../../src/metrics/collector';
import type { AgentStatus } from '../../src/machine';
import { ROOT } from '../helpers/processes';
import { KNOWN_DIRECTIVES, parseUnitFile, value } from './unit-file';

const ALERTS = fs.readFileSync(path.join(ROOT, 'deploy', 'prometheus', 'kes-agent-alerts.yml'), 'utf8');
const DASHBOARD_TEXT = fs.readFileSync(path.join(ROOT, 'deploy', 'grafana', 'kes-agent-dashboard.json'), 'utf8');
const DROP_IN = fs.readFileSync(path.join(ROOT, 'deploy', 'systemd', 'kes-agent.service.d', 'metrics.conf'), 'utf8');

/** Every family the agent can serve: the collector fed a state in which each is present. */
function servedNames(): Set<string> {
  const bytes = (n: number): Uint8Array => new Uint8Array(n);
  const status: AgentStatus = {
    network: 'mainnet',
    chainStarted: true,
    currentKesPeriod: 1000,
    currentSlot: 1000 * 129600,
    periodStartMs: 0,
    nextPeriodMs: 0,
    slotsPerKesPeriod: 129600,
    maxKesEvolutions: 62,
    staged: { kesVk: bytes(32), opcert: null },
    active: { kesVk: bytes(32), opcert: { hotVk: bytes(32), counter: 3, kesPeriod: 990, sigma: bytes(64), coldVk: bytes(32) }, evolution: 10, periodsRemaining: 52, expiresAtMs: 1, installedAtMs: 0 },
    expired: null,
    counterFloor: 3,
    warnings: [],
  };
  const families = collectMetrics({ version: '0.0.0', status, nodeProtocols: ['native', 2], lastPush: { nodes: 2, confirmed: 2 }, peerStates: ['up'], refusals: [{ origin: 'control', code: 'NO_STAGED_KEY', count: 1 }] });
  return new Set(families.map((f) => f.name));
}

const namesIn = (text: string): string[] => [...new Set([...text.matchAll(/\bkes_agent_[a-z_]+/g)].map((m) => m[0]))];

interface Rule {
  alert: string;
  body: string;
}

/** The rules as blocks of text from one `- alert:` to the next (the file is checked with promtool where installed). */
function rules(): Rule[] {
  return ALERTS.split(/^ {6}- alert: /m).slice(1).map((b) => ({ alert: b.split('\n')[0]!.trim(), body: b }));
}

describe('deploy/prometheus/kes-agent-alerts.yml', () => {
  test('names only metrics the agent serves', () => {
    const served = servedNames();
    const used = namesIn(ALERTS);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((n) => !served.has(n))).toEqual([]);
  });

  test('the alerts the operator guide describes: expiry within 10 periods, no active key, no node connected', () => {
    const byName = new Map(rules().map((r) => [r.alert, r.body]));
    expect(byName.get('KesKeyExpiresSoon')).toContain('expr: kes_agent_active_key_periods_remaining <= 10\n');
    expect(byName.get('KesNoActiveKey')).toContain('expr: kes_agent_active_key == 0\n');
    expect(byName.get('KesNoNodeConnected')).toContain('expr: sum by (instance) (kes_agent_service_clients) == 0\n');
  });

  test('every rule has an expression, a severity and a summary', () => {
    const rs = rules();
    expect(rs.length).toBeGreaterThanOrEqual(3);
    for (const r of rs) {
      expect([r.alert, /\n {8}expr: \S/.test(r.body), /\n {10}severity: (critical|warning|info)\n/.test(r.body), /\n {10}summary: "/.test(r.body)]).toEqual([r.alert, true, true, true]);
    }
    expect(new Set(rs.map((r) => r.alert)).size).toBe(rs.length);
  });
});

describe('deploy/grafana/kes-agent-dashboard.json', () => {
  interface Panel { id: number; title: string; gridPos: { x: number; w: number }; targets: { expr: string }[] }
  const dashboard = JSON.parse(DASHBOARD_TEXT) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };

  test('names only metrics the agent serves, and shows every one of them', () => {
    const served = servedNames();
    const used = namesIn(DASHBOARD_TEXT);
    expect(used.filter((n) => !served.has(n))).toEqual([]);
    // kes_agent_info feeds the instance picker; chain_started is implied by the KES period panel.
    expect([...served].filter((n) => !used.includes(n)).sort()).toEqual(['kes_agent_chain_started']);
  });

  test('every panel queries the chosen agent through the chosen data source; ids unique; inside the 24-column grid', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
    for (const p of dashboard.panels) {
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) expect([p.title, t.expr]).toEqual([p.title, expect.stringContaining('instance="$instance"')]);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });
});

describe('deploy/systemd/kes-agent.service.d/metrics.conf', () => {
  const unit = parseUnitFile(DROP_IN);

  test('a [Service] drop-in systemd understands, every directive explained', () => {
    expect(unit.sections).toEqual(['Service']);
    expect(unit.stray).toEqual([]);
    expect(unit.directives.filter((d) => !KNOWN_DIRECTIVES['Service']!.has(d.key)).map((d) => d.key)).toEqual([]);
    expect(unit.directives.filter((d) => d.comment.length === 0).map((d) => d.key)).toEqual([]);
  });

  test('opens IP sockets and the host network for loopback only; Unix sockets stay allowed', () => {
    expect(value(unit, 'Service', 'RestrictAddressFamilies')?.split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
    expect(value(unit, 'Service', 'PrivateNetwork')).toBe('no');
    expect(value(unit, 'Service', 'IPAddressAllow')).toBe('localhost');
  });
});
