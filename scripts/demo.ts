/**
 * `npm run demo`: the whole life of a KES key, locally, in a temp dir, through the built binaries
 * run as child processes exactly as an operator runs them. Every step prints a numbered line,
 * the command it ran (copy-pasteable from the repository root) and what it answered.
 *
 *     node dist/scripts/demo.js [--keep] [--with-peer]
 *
 * --with-peer adds a second agent (agent-to-agent bootstrap): the two follow each other's service
 * sockets, the first is killed with SIGKILL, and on restart it takes the key back from the second.
 * --keep leaves the temp dir (keys, opcert, counter, sockets gone) for a look afterwards;
 * otherwise it is removed however the demo ends, also when interrupted (Ctrl-C, SIGTERM, SIGHUP:
 * the agent and any command running are stopped first, and the demo exits 128 + the signal's number).
 * Exits 1 naming the step that failed. Uses mainnet time: the agent, the opcert and the node
 * all work in the real current mainnet KES period.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChildGroup, NodeChild, runNode } from './child-process';
import { readKesVerificationKeyFile } from '../src/cardano';
import { fromHex, toHex } from '../src/crypto/bytes';
import { verifyKes } from '../src/crypto/kes';
import { loadSodium } from '../src/crypto/sodium';

/** Every step, in order; `npm run demo` prints "<n>. <title>" for each. */
export const DEMO_STEPS = [
  'cold host: make the pool cold key and its opcert issue counter',
  'node host: start the agent',
  'control host: stage a fresh KES key inside the agent',
  'control host: export the staged key\'s verification key',
  'cold host: look up the current KES period',
  'cold host: issue the operational certificate',
  'control host: attach the opcert to the staged key',
  'control host: make it the active key',
  'control host: check the agent\'s status',
  'node host: a node signs a block header with the agent\'s key',
  'verify the signature against kes.vkey',
  'stop the agent',
] as const;

/** With --with-peer, these come before the last step (stop). */
export const PEER_DEMO_STEPS = [
  'second host: start a second agent that follows the first (--bootstrap)',
  'crash the first agent (SIGKILL): its key is gone with it',
  'restart the first agent: it takes the key back from the second',
  'control host: check the first agent\'s status (peers)',
] as const;

/** The steps of one run, in order. */
export function demoSteps(withPeer: boolean): readonly string[] {
  return withPeer ? [...DEMO_STEPS.slice(0, -1), ...PEER_DEMO_STEPS, DEMO_STEPS[DEMO_STEPS.length - 1]!] : DEMO_STEPS;
}

/** What the first agent logs when it took a bundle from its peer. */
export const HEALED_LINE = 'bootstrap: installed a bundle from peer';

export const SIGNATURE_VERIFIES = 'signature verifies';

/** One command may take this long before the demo calls it failed. @default 30000 */
const STEP_TIMEOUT_MS = 30_000;
/** How long the agent may take to print that it started. @default 15000 */
const AGENT_START_TIMEOUT_MS = 15_000;
/** An interrupted demo waits this long for its agent and commands to stop before it kills them. @default 5000 */
const INTERRUPT_STOP_MS = 5_000;
/** Bytes of the demo "header": about a Babbage/Conway header body, which is what a KES key signs. @default 900 */
const MESSAGE_BYTES = 900;
/** Hex characters of a signature shown before "…". @default 32 */
const SHOWN_HEX_CHARS = 32;

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = {
  cold: 'dist/src/bin/kes-cold.js',
  agent: 'dist/src/bin/kes-agent.js',
  ctl: 'dist/src/bin/kes-ctl.js',
  node: 'dist/src/bin/kes-node.js',
} as const;

class StepFailed extends Error {}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function indent(text: string): void {
  for (const line of text.replace(/\n+$/, '').split('\n')) say(`     ${line}`);
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function showCommand(bin: string, args: string[]): void {
  say(`   $ ${['node', bin, ...args].map(shellQuote).join(' ')}`);
}


/** The agents and the step command running: an interrupted demo stops them before it removes the temp dir. */
const children = new ChildGroup();

/** Run one command to completion, print it and its output; throw StepFailed unless it exits 0. */
async function run(bin: string, args: string[], opts: { show?: 'stdout' | 'none' } = {}): Promise<string> {
  showCommand(bin, args);
  const r = await runNode([bin, ...args], { cwd: ROOT, timeoutMs: STEP_TIMEOUT_MS, group: children }).catch((e: Error) => {
    throw new StepFailed(`could not run node ${bin}: ${e.message}`);
  });
  if (opts.show !== 'none' && r.stdout !== '') indent(r.stdout);
  if (r.code === 0) return r.stdout;
  if (r.stderr !== '') indent(r.stderr);
  throw new StepFailed(r.signal === 'SIGKILL' ? `no answer within ${STEP_TIMEOUT_MS} ms` : `exited ${r.code ?? r.signal}`);
}

/** Start an agent, its command printed first. */
function startAgent(args: string[]): NodeChild {
  showCommand(BIN.agent, args);
  return new NodeChild([BIN.agent, ...args], { name: 'the agent', cwd: ROOT, group: children, waitTimeoutMs: AGENT_START_TIMEOUT_MS });
}

interface SignJson {
  evolution: number;
  signature: string;
  [field: string]: unknown;
}

function parseSignJson(stdout: string): SignJson {
  const j = JSON.parse(stdout) as Partial<SignJson>;
  if (typeof j.signature !== 'string' || !/^([0-9a-f]{2})+$/.test(j.signature) || !Number.isSafeInteger(j.evolution)) {
    throw new StepFailed('kes-node sign --json: expected "signature" (hex) and "evolution" (integer)');
  }
  return j as SignJson;
}

async function main(): Promise<void> {
  // A reader that goes away (`npm run demo | head`) ends the demo; the 'exit' hook stops the agent.
  process.stdout.on('error', () => process.exit(1));
  const keep = process.argv.slice(2).includes('--keep');
  const withPeer = process.argv.slice(2).includes('--with-peer');
  const steps = demoSteps(withPeer);
  for (const bin of Object.values(BIN)) {
    if (!fs.existsSync(path.join(ROOT, bin))) throw new Error(`${bin} is missing: run npm run build (npm ci builds) first`);
  }
  await loadSodium();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-demo-'));
  let agent: NodeChild | undefined;
  let peer: NodeChild | undefined;
  // Interrupted (Ctrl-C, kill, a closed pipe) or not, the agent does not outlive the demo and the
  // throwaway cold signing key does not stay behind (unless --keep).
  const removeDir = (): void => {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  };
  children.stopOnExit('demo', { cleanup: removeDir, stopMs: INTERRUPT_STOP_MS, note: keep ? `; kept ${dir}` : '' });
  const f = (name: string): string => path.join(dir, name);
  const control = f('control.sock');
  const service = f('service.sock');
  const peerControl = f('peer-control.sock');
  const peerService = f('peer-service.sock');
  let step = 0;
  const begin = (): void => {
    say();
    say(`${step + 1}. ${steps[step]!}`);
  };

  say(`kes-agent demo in ${dir} (commands run from ${ROOT})`);
  try {
    begin();
    await run(BIN.cold, ['keygen', '--cold-vkey', f('cold.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('cold.counter')]);

    step++;
    begin();
    const agentArgs = ['run', '--cold-vkey', f('cold.vkey'), '--network', 'mainnet', '--control-socket', control, '--service-socket', service];
    // With a peer, the first agent follows the second's service socket from the start (it retries
    // with backoff until the second is up).
    if (withPeer) agentArgs.push('--bootstrap', peerService);
    agent = startAgent(agentArgs);
    indent(await agent.waitFor('agent: started'));

    step++;
    begin();
    await run(BIN.ctl, ['keygen', '--out', f('kes.vkey'), '--socket', control]);

    step++;
    begin();
    const exported = await run(BIN.ctl, ['export-verkey', '--socket', control]);
    if (exported !== fs.readFileSync(f('kes.vkey'), 'utf8')) throw new StepFailed('export-verkey differs from the kes.vkey written by keygen');
    say('   (the same envelope keygen wrote to kes.vkey)');

    step++;
    begin();
    const period = (JSON.parse(await run(BIN.cold, ['period', '--network', 'mainnet', '--json'])) as { kesPeriod: number }).kesPeriod;

    step++;
    begin();
    await run(BIN.cold, [
      'issue-opcert', '--kes-vkey', f('kes.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('cold.counter'),
      '--kes-period', String(period), '--out', f('opcert.cert'),
    ]);

    step++;
    begin();
    await run(BIN.ctl, ['import-opcert', f('opcert.cert'), '--socket', control]);

    step++;
    begin();
    await run(BIN.ctl, ['upload', '--socket', control]);

    step++;
    begin();
    await run(BIN.ctl, ['status', '--socket', control]);

    step++;
    begin();
    const message = crypto.randomBytes(MESSAGE_BYTES);
    fs.writeFileSync(f('header.bin'), message);
    say(`   (header.bin: ${MESSAGE_BYTES} random bytes standing in for a block header body)`);
    const logBefore = agent.stdout.length;
    // The command's own output, as printed: one JSON object (the signature is long, but it is what a script gets).
    const signed = parseSignJson(await run(BIN.node, ['sign', '--message', f('header.bin'), '--json', '--cold-vkey', f('cold.vkey'), '--network', 'mainnet', '--socket', service]));
    say(`   (a ${signed.signature.length / 2}-byte signature, ${signed.signature.slice(0, SHOWN_HEX_CHARS)}…, at KES evolution ${signed.evolution})`);
    say('   the agent\'s log meanwhile:');
    indent(agent.stdout.slice(logBefore).split('\n').filter((l) => l.includes('service:')).join('\n'));

    step++;
    begin();
    const vk = readKesVerificationKeyFile(f('kes.vkey'));
    if (signed['kesVkey'] !== undefined && signed['kesVkey'] !== toHex(vk)) throw new StepFailed('the node signed with another key than kes.vkey');
    say(`   verifyKes(kes.vkey ${toHex(vk).slice(0, 16)}…, evolution ${signed.evolution}, header.bin, signature)`);
    const signature = fromHex(signed.signature);
    if (signature === undefined || !verifyKes(vk, signed.evolution, message, signature)) throw new StepFailed('the signature does NOT verify');
    say(`     ${SIGNATURE_VERIFIES}`);

    if (withPeer) {
      step++;
      begin();
      const peerArgs = ['run', '--cold-vkey', f('cold.vkey'), '--network', 'mainnet', '--control-socket', peerControl, '--service-socket', peerService, '--bootstrap', service];
      peer = startAgent(peerArgs);
      indent(await peer.waitFor(HEALED_LINE));

      step++;
      begin();
      say(`   $ kill -KILL ${agent.child.pid ?? '?'}`);
      await agent.stop('SIGKILL');
      say('     killed: no key anywhere on this host but in the second agent');

      step++;
      begin();
      agent = startAgent(agentArgs);
      await agent.waitFor('agent: started');
      indent(await agent.waitFor(HEALED_LINE));

      step++;
      begin();
      await run(BIN.ctl, ['status', '--socket', control]);
    }

    step++;
    begin();
    say(`   $ kill -TERM ${agent.child.pid ?? '?'}`);
    const { code } = await agent.stop();
    indent(agent.stdout.split('\n').filter((l) => /agent: (stopping|stopped)/.test(l)).join('\n'));
    if (code !== 0) throw new StepFailed(`the agent exited ${code}, expected 0`);
    say('     agent exited 0');
    if (peer !== undefined) {
      say(`   $ kill -TERM ${peer.child.pid ?? '?'}`);
      const { code: peerCode } = await peer.stop();
      if (peerCode !== 0) throw new StepFailed(`the second agent exited ${peerCode}, expected 0`);
      say('     second agent exited 0');
    }

    say();
    say(`demo complete: all ${steps.length} steps succeeded`);
  } catch (e) {
    // Interrupted, the step that failed is the interruption's doing: the signal handler reports it.
    if (children.interrupted === undefined) {
      const why = e instanceof Error ? e.message : String(e);
      process.stderr.write(`demo failed at step ${step + 1} (${steps[step] ?? 'set-up'}): ${why}\n`);
      process.exitCode = 1;
    }
  } finally {
    if (agent?.running) await agent.stop();
    if (peer?.running) await peer.stop();
    if (keep) say(`kept ${dir}`);
    else {
      fs.rmSync(dir, { recursive: true, force: true });
      say(`removed ${dir}`);
    }
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
