/**
 * `kes-agent run --metrics`: the real agent (built binary) scraped over real sockets, its text
 * read by an independent parser (test/helpers/prom-text.ts), every value checked against what
 * kes-ctl and the chain clock say. Also: without the setting the process holds no IP socket and
 * no listener besides its two Unix sockets.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { KesNodeClient } from '../../src/client';
import { readColdVerificationKeyFile } from '../../src/cardano';
import { loadSodium } from '../../src/crypto/sodium';
import { networkTiming } from '../../src/time';
import { BIN, run } from '../helpers/processes';
import { agentForEachDescribe, ctl, ctlJson, currentPeriod, makeAgentEnv, stageAndCertify, startAgent, stopAgentEnv } from '../helpers/agent-env';
import { HaskellServiceClient, HS_SERVICE_V1, HS_SERVICE_V2 } from '../helpers/haskell-peer';
import { nextEvent } from '../helpers/node-events';
import { inetSockets, listeningUnixPaths } from '../helpers/proc-sockets';
import { parseExposition, sampleValue, type ParsedExposition } from '../helpers/prom-text';
import { testChain } from '../helpers/test-chain';

/** How long a state change may take to show in a scrape (a connection being registered, a confirm arriving). */
const SETTLE_TIMEOUT_MS = 10_000;

type Target = { port: number } | { socketPath: string };

interface Scrape {
  status: number;
  contentType: string | undefined;
  text: string;
  p: ParsedExposition;
}

function get(target: Target, reqPath = '/metrics', method = 'GET'): Promise<{ status: number; contentType: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const where = 'port' in target ? { host: '127.0.0.1', port: target.port } : { socketPath: target.socketPath };
    const req = http.request({ ...where, path: reqPath, method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(target: Target): Promise<Scrape> {
  const r = await get(target);
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.text}`);
  return { ...r, p: parseExposition(r.text) };
}

/** Scrape until `ok` holds (the agent registers connections and confirmations as they happen). */
async function scrapeUntil(target: Target, what: string, ok: (p: ParsedExposition) => boolean): Promise<ParsedExposition> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const s = await scrape(target);
    if (ok(s.p)) return s.p;
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what}:\n${s.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const v = (p: ParsedExposition, name: string, labels?: Record<string, string>): number | undefined => sampleValue(p, `kes_agent_${name}`, labels);
const clients = (p: ParsedExposition): Record<string, number | undefined> =>
  Object.fromEntries(['native', 'haskell-service-v0', 'haskell-service-v1', 'haskell-service-v2'].map((protocol) => [protocol, v(p, 'service_clients', { protocol })]));
const refusals = (p: ParsedExposition): Record<string, number> =>
  Object.fromEntries(p.samples.filter((s) => s.name === 'kes_agent_refusals_total' && s.value > 0).map((s) => [`${s.labels['origin']}/${s.labels['code']}`, s.value]));

function metricsPort(agentStdout: string): number {
  const m = /metrics: listening address=127\.0\.0\.1:(\d+) path=\/metrics scope=loopback/.exec(agentStdout);
  if (m === null) throw new Error(`no metrics listening line in:\n${agentStdout}`);
  return Number(m[1]);
}

beforeAll(async () => {
  await loadSodium();
});

describe('on mainnet time, over TCP (127.0.0.1, a kernel-chosen port)', () => {
  let target: { port: number };
  const closers: (() => Promise<unknown>)[] = [];

  // Declared before the agent's hooks: after-all hooks run in the order declared, so the clients
  // close before the agent stops.
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
  });
  const agent = agentForEachDescribe({ startArgs: ['--metrics', '127.0.0.1:0'] });
  beforeAll(() => {
    target = { port: metricsPort(agent().agent!.stdout) };
  });

  test('the process listens on exactly the logged port, and on its two Unix sockets', () => {
    const e = agent();
    const pid = e.agent!.child.pid!;
    expect(inetSockets(pid).filter((s) => s.listening)).toEqual([{ family: 'tcp', port: target.port, listening: true }]);
    expect(listeningUnixPaths(pid)).toEqual([e.controlSocket, e.serviceSocket].sort());
  });

  test('a fresh agent: the current period, no keys, no clients, nothing refused', async () => {
    const e = agent();
    const s = await scrape(target);
    expect(s.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const p = s.p;
    expect(v(p, 'kes_period')).toBe(await currentPeriod(e));
    expect(v(p, 'chain_started')).toBe(1);
    expect(p.samples.find((x) => x.name === 'kes_agent_info')?.labels).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), network: 'mainnet' });
    expect([v(p, 'active_key'), v(p, 'staged_key')]).toEqual([0, 0]);
    // Values of a key that is not there are absent, not 0 (an alert on "periods remaining < 10" must not fire).
    expect(p.samples.filter((x) => x.name.startsWith('kes_agent_active_key_'))).toEqual([]);
    expect(clients(p)).toEqual({ native: 0, 'haskell-service-v0': 0, 'haskell-service-v1': 0, 'haskell-service-v2': 0 });
    expect([v(p, 'bootstrap_peers_configured'), v(p, 'bootstrap_peers_up')]).toEqual([0, 0]);
    expect([v(p, 'last_push_nodes'), v(p, 'last_push_confirmed_nodes')]).toEqual([0, 0]);
    expect(refusals(p)).toEqual({});
    expect(v(p, 'refusals_total', { origin: 'control', code: 'NO_STAGED_KEY' })).toBe(0);
    // Every family is typed and documented.
    for (const name of new Set(p.samples.map((x) => x.name))) {
      expect([name, p.type.has(name), (p.help.get(name) ?? '').length > 0]).toEqual([name, true, true]);
    }
    expect(p.type.get('kes_agent_refusals_total')).toBe('counter');
  });

  test('a refused request is counted under its code', async () => {
    const e = agent();
    const r = await ctl(e, 'upload');
    expect(r.stderr).toContain('[NO_STAGED_KEY]');
    expect(refusals((await scrape(target)).p)).toEqual({ 'control/NO_STAGED_KEY': 1 });
    await ctl(e, 'upload');
    expect(refusals((await scrape(target)).p)).toEqual({ 'control/NO_STAGED_KEY': 2 });
  });

  test('clients by protocol, the staged and then active key, and the push to them', async () => {
    const e = agent();
    const timing = networkTiming('mainnet');
    const node = new KesNodeClient({ socketPath: e.serviceSocket, timing, coldVk: readColdVerificationKeyFile(e.coldVkey), backoff: { initialMs: 50, maxMs: 500 } });
    closers.push(() => node.stop());
    const connected = nextEvent(node, 'connected');
    node.start();
    await connected;
    const v2 = await HaskellServiceClient.connect({ socketPath: e.serviceSocket, preferences: [HS_SERVICE_V2] });
    const v1 = await HaskellServiceClient.connect({ socketPath: e.serviceSocket, preferences: [HS_SERVICE_V1] });
    closers.push(() => v2.close(), () => v1.close());
    await scrapeUntil(target, 'one client of each of three protocols', (p) => clients(p)['native'] === 1 && clients(p)['haskell-service-v2'] === 1 && clients(p)['haskell-service-v1'] === 1);
    expect(clients((await scrape(target)).p)['haskell-service-v0']).toBe(0);

    const { opcert, kesVkey: stagedVk } = await stageAndCertify(e);
    expect(v((await scrape(target)).p, 'staged_key')).toBe(1);
    await ctlJson(e, 'import-opcert', opcert);
    const up = await ctlJson<{ kesVkey: string; nodesConnected: number; nodesConfirmed: number }>(e, 'upload');
    expect(up).toMatchObject({ nodesConnected: 3, nodesConfirmed: 3 });

    const status = await ctlJson<{ currentKesPeriod: number; active: { counter: number; startKesPeriod: number; evolution: number; periodsRemaining: number; expiresAt: string } }>(e, 'status');
    const p = await scrapeUntil(target, 'the push confirmed by all three', (x) => v(x, 'last_push_confirmed_nodes') === 3);
    expect({
      kesPeriod: v(p, 'kes_period'),
      active: v(p, 'active_key'),
      staged: v(p, 'staged_key'),
      evolution: v(p, 'active_key_evolution'),
      remaining: v(p, 'active_key_periods_remaining'),
      counter: v(p, 'active_key_opcert_counter'),
      start: v(p, 'active_key_opcert_start_kes_period'),
      expiry: v(p, 'active_key_expiry_timestamp_seconds'),
      pushed: v(p, 'last_push_nodes'),
    }).toEqual({
      kesPeriod: status.currentKesPeriod,
      active: 1,
      staged: 0,
      evolution: status.active.evolution,
      remaining: status.active.periodsRemaining,
      counter: status.active.counter,
      start: status.active.startKesPeriod,
      expiry: Date.parse(status.active.expiresAt) / 1000,
      pushed: 3,
    });
    expect(status.active.periodsRemaining).toBe(timing.maxKESEvolutions - status.active.evolution);

    // Public values only: not even the verification keys appear.
    const text = (await scrape(target)).text;
    for (const vk of [up.kesVkey, stagedVk]) expect(text).not.toContain(vk);

    await Promise.all([node.stop(), v2.close(), v1.close()]);
    await scrapeUntil(target, 'no clients after they left', (x) => Object.values(clients(x)).every((n) => n === 0));
  });

  test('only GET /metrics: 404 elsewhere, 405 for another method', async () => {
    expect((await get(target, '/')).status).toBe(404);
    expect((await get(target, '/metrics', 'POST')).status).toBe(405);
  });
});

test('on a test chain: the period and the evolution advance at a real boundary; on a Unix socket', async () => {
  const e = await makeAgentEnv();
  const chain = testChain(e.dir, { periodMs: 3_000, maxKESEvolutions: 20 });
  e.timingArgs = chain.args;
  const socketPath = path.join(e.dir, 'metrics.sock');
  try {
    await startAgent(e, ['--metrics', socketPath]);
    expect(e.agent!.stdout).toContain(`metrics: listening address=unix:${socketPath} path=/metrics scope="unix socket"`);
    expect(listeningUnixPaths(e.agent!.child.pid!)).toEqual([e.controlSocket, e.serviceSocket, socketPath].sort());
    expect(inetSockets(e.agent!.child.pid!)).toEqual([]);
    const target = { socketPath };
    const start = chain.periodAt();
    const { opcert } = await stageAndCertify(e, { kesPeriod: start });
    await ctlJson(e, 'import-opcert', opcert);
    await ctlJson(e, 'upload');

    // Read the clock on both sides of a scrape: the scrape saw a period between the two.
    const consistent = async (): Promise<{ period: number; evolution: number; remaining: number; expiry: number }> => {
      const before = chain.periodAt();
      const p = (await scrape(target)).p;
      const after = chain.periodAt();
      const period = v(p, 'kes_period')!;
      expect(period).toBeGreaterThanOrEqual(before);
      expect(period).toBeLessThanOrEqual(after);
      const got = { period, evolution: v(p, 'active_key_evolution')!, remaining: v(p, 'active_key_periods_remaining')!, expiry: v(p, 'active_key_expiry_timestamp_seconds')! };
      expect(got).toEqual({ period, evolution: period - start, remaining: 20 - (period - start), expiry: Math.floor(chain.startOf(start + 20) / 1000) });
      return got;
    };
    const first = await consistent();
    await chain.untilPeriod(first.period + 1);
    const second = await consistent();
    expect(second.period).toBeGreaterThan(first.period);
    expect(second.evolution - first.evolution).toBe(second.period - first.period);
  } finally {
    await stopAgentEnv(e);
  }
});

test('without --metrics the agent holds no IP socket and listens only on its two Unix sockets', async () => {
  const e = await makeAgentEnv();
  try {
    await startAgent(e);
    expect(e.agent!.stdout).not.toContain('metrics:');
    const pid = e.agent!.child.pid!;
    expect(inetSockets(pid)).toEqual([]);
    expect(listeningUnixPaths(pid)).toEqual([e.controlSocket, e.serviceSocket].sort());
  } finally {
    await stopAgentEnv(e);
  }
});

test('a metrics port in use stops the start: one error line, exit 3, no socket left behind', async () => {
  const e = await makeAgentEnv();
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const r = await run(BIN.agent, ['run', '--cold-vkey', e.coldVkey, '--metrics', `127.0.0.1:${port}`], { env: e.env });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`kes-agent: error: metrics 127.0.0.1:${port}: cannot listen (EADDRINUSE); another process listens there; choose another port [METRICS_LISTEN_FAILED]\n`);
    expect(r.stdout).not.toContain('agent: started');
    expect([fs.existsSync(e.controlSocket), fs.existsSync(e.serviceSocket)]).toEqual([false, false]);
  } finally {
    await new Promise((r) => taken.close(r));
    await stopAgentEnv(e);
  }
});

test('SIGHUP with another metrics address is refused whole (restart to change it); the endpoint stays where it was', async () => {
  const e = await makeAgentEnv();
  const config = path.join(e.dir, 'agent.toml');
  fs.writeFileSync(config, 'metrics = "127.0.0.1:0"\n');
  try {
    await startAgent(e, ['--config', config]);
    const target = { port: metricsPort(e.agent!.stdout) };
    fs.writeFileSync(config, 'metrics = "127.0.0.1:1"\nlog-level = "debug"\n');
    const mark = e.agent!.mark();
    e.agent!.child.kill('SIGHUP');
    await e.agent!.waitFor('config: reload refused', { after: mark });
    expect(e.agent!.stdout.slice(mark.stdout)).toMatch(/config: reload refused; running settings unchanged code=CONFIG_NOT_RELOADABLE setting=metrics error="metrics changed \(config file .*\) and cannot change while the agent holds keys: restart the agent to apply it"/);
    expect(v((await scrape(target)).p, 'chain_started')).toBe(1);
  } finally {
    await stopAgentEnv(e);
  }
});

test('two agents that bootstrap from each other: peers up and configured, the peer as a Service V2 client, its echo refused as not newer', async () => {
  const a = await makeAgentEnv();
  const b = await makeAgentEnv();
  // One pool: B takes A's cold key.
  fs.copyFileSync(a.coldVkey, b.coldVkey);
  try {
    // A starts first: its link to B retries (with backoff, at most 5 s apart) until B is up.
    await startAgent(a, ['--metrics', '127.0.0.1:0', '--bootstrap', b.serviceSocket]);
    const ta = { port: metricsPort(a.agent!.stdout) };
    expect([v((await scrape(ta)).p, 'bootstrap_peers_configured'), v((await scrape(ta)).p, 'bootstrap_peers_up')]).toEqual([1, 0]);
    await startAgent(b, ['--metrics', '127.0.0.1:0', '--bootstrap', a.serviceSocket]);
    const tb = { port: metricsPort(b.agent!.stdout) };
    // Each follows the other as a Haskell Service V2 client.
    for (const t of [ta, tb]) {
      await scrapeUntil(t, 'the peer up and connected as a Service V2 client', (p) => v(p, 'bootstrap_peers_up') === 1 && clients(p)['haskell-service-v2'] === 1);
    }
    const { opcert } = await stageAndCertify(a);
    await ctlJson(a, 'import-opcert', opcert);
    await ctlJson(a, 'upload');
    await scrapeUntil(tb, 'the key installed on B from A', (p) => v(p, 'active_key') === 1);
    // B pushes it on to its clients, A among them; A already has it.
    const pa = await scrapeUntil(ta, "A refusing B's echo of its own key", (p) => (v(p, 'refusals_total', { origin: 'bootstrap', code: 'BUNDLE_NOT_NEWER' }) ?? 0) >= 1);
    expect(Object.keys(refusals(pa))).toEqual(['bootstrap/BUNDLE_NOT_NEWER']);
    expect(refusals((await scrape(tb)).p)).toEqual({});
    await b.agent!.stop();
    await scrapeUntil(ta, 'B down', (p) => v(p, 'bootstrap_peers_up') === 0 && v(p, 'bootstrap_peers_configured') === 1 && clients(p)['haskell-service-v2'] === 0);
  } finally {
    await stopAgentEnv(b);
    await stopAgentEnv(a);
  }
});
