/**
 * A real agent in a temp dir, driven through the built binaries: cold keys from kes-cold, the
 * daemon from kes-agent, steps from kes-ctl. Every e2e test builds on this.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, cleanEnv, Proc, run, tempDir, type RunResult } from './processes';
import { makeTestGenesis } from './test-genesis';

export interface AgentEnv {
  dir: string;
  controlSocket: string;
  serviceSocket: string;
  coldVkey: string;
  coldSkey: string;
  counter: string;
  env: NodeJS.ProcessEnv;
  agent: Proc | undefined;
  /** Extra `kes-agent run` flags (network/genesis). */
  timingArgs: string[];
}

/** Cold keys made by kes-cold keygen, and socket paths in the temp dir. */
export async function makeAgentEnv(opts: { timingArgs?: string[] } = {}): Promise<AgentEnv> {
  const dir = tempDir('kes-e2e-');
  const e: AgentEnv = {
    dir,
    controlSocket: path.join(dir, 'control.sock'),
    serviceSocket: path.join(dir, 'service.sock'),
    coldVkey: path.join(dir, 'cold.vkey'),
    coldSkey: path.join(dir, 'cold.skey'),
    counter: path.join(dir, 'cold.counter'),
    env: {},
    agent: undefined,
    timingArgs: opts.timingArgs ?? [],
  };
  e.env = cleanEnv({ KES_AGENT_CONTROL_SOCKET: e.controlSocket, KES_AGENT_SERVICE_SOCKET: e.serviceSocket });
  const r = await run(BIN.cold, ['keygen', '--cold-vkey', e.coldVkey, '--cold-skey', e.coldSkey, '--counter', e.counter]);
  if (r.code !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`kes-cold keygen failed: ${r.stderr}`);
  }
  return e;
}

/** A Shelley genesis with a short KES period, written into the env's dir; returns its flags. */
export function shortPeriodGenesis(dir: string, p: { periodMs: number; maxKESEvolutions: number; startedMsAgo?: number }): string[] {
  const slotLength = 0.1;
  const slotsPerKESPeriod = Math.round(p.periodMs / 100);
  const file = path.join(dir, 'genesis.json');
  fs.writeFileSync(file, makeTestGenesis({ systemStart: new Date(Math.floor((Date.now() - (p.startedMsAgo ?? 10 * p.periodMs)) / 1000) * 1000), slotLength, slotsPerKESPeriod, maxKESEvolutions: p.maxKESEvolutions }));
  return ['--genesis', file];
}

export async function startAgent(e: AgentEnv, extra: string[] = []): Promise<Proc> {
  const agent = new Proc(BIN.agent, ['run', '--cold-vkey', e.coldVkey, ...e.timingArgs, ...extra], e.env);
  e.agent = agent;
  await agent.waitFor('agent: started');
  return agent;
}

export function ctl(e: AgentEnv, ...args: string[]): Promise<RunResult> {
  return run(BIN.ctl, args, { env: e.env });
}

export function cold(e: AgentEnv, ...args: string[]): Promise<RunResult> {
  return run(BIN.cold, args, { env: e.env });
}

/** `kes-ctl <args> --json`, asserting success (exit 0 and `ok: true`), parsed; the command's fields without `ok`. */
export async function ctlJson<T = Record<string, unknown>>(e: AgentEnv, ...args: string[]): Promise<T> {
  const r = await ctl(e, ...args, '--json');
  if (r.code !== 0) throw new Error(`kes-ctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  const { ok, ...fields } = JSON.parse(r.stdout) as { ok?: unknown };
  if (ok !== true) throw new Error(`kes-ctl ${args.join(' ')} --json: ok is ${String(ok)}: ${r.stdout}`);
  return fields as T;
}

/** The current KES period as kes-cold computes it for this env's timing. */
export async function currentPeriod(e: AgentEnv): Promise<number> {
  const r = await run(BIN.cold, ['period', '--json', ...e.timingArgs]);
  if (r.code !== 0) throw new Error(`kes-cold period failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { kesPeriod: number }).kesPeriod;
}

/** keygen in the agent → issue an opcert on the "cold host" → returns the opcert path. */
export async function stageAndCertify(e: AgentEnv, opts: { kesPeriod?: number; name?: string; force?: boolean } = {}): Promise<{ opcert: string; kesVkey: string }> {
  const name = opts.name ?? 'kes';
  const vkey = path.join(e.dir, `${name}.vkey`);
  // --overwrite: callers certify more than one key under the same name.
  const k = await ctlJson<{ kesVkey: string }>(e, 'keygen', '--out', vkey, '--overwrite', ...(opts.force ? ['--force'] : []));
  const opcert = path.join(e.dir, `${name}.opcert`);
  const period = opts.kesPeriod ?? (await currentPeriod(e));
  const r = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${period}`, '--out', opcert, '--overwrite');
  if (r.code !== 0) throw new Error(`issue-opcert failed: ${r.stderr}`);
  return { opcert, kesVkey: k.kesVkey };
}

export async function stopAgentEnv(e: AgentEnv): Promise<void> {
  if (e.agent) await e.agent.stop();
  fs.rmSync(e.dir, { recursive: true, force: true });
}

/**
 * One agent for every test of the describe block this is called in: made and started before the
 * first test, stopped and removed after the last. Returns the env (there once the tests run, and
 * in before-all hooks declared after this call, which run after its own).
 * `timingArgs` as for makeAgentEnv, `startArgs` as startAgent's extra flags.
 */
export function agentForEachDescribe(opts: { timingArgs?: string[]; startArgs?: string[] } = {}): () => AgentEnv {
  const { startArgs, ...envOpts } = opts;
  let e: AgentEnv | undefined;
  beforeAll(async () => {
    e = await makeAgentEnv(envOpts);
    await startAgent(e, startArgs);
  });
  afterAll(async () => {
    if (e !== undefined) await stopAgentEnv(e);
  });
  return () => {
    if (e === undefined) throw new Error('agentForEachDescribe: the agent is there only inside the tests');
    return e;
  };
}
