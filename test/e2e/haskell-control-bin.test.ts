/**
 * Our kes-agent-control (the Haskell tool's drop-in, speaking its Control protocol) and kes-ctl
 * taking turns on one agent through whole rotations, with a Service V2 peer (the node's client,
 * test/helpers/haskell-peer.ts) and kes-node watching, then across an agent restart. All built
 * binaries on real sockets; opcerts come from kes-cold.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toHex } from '../../src/crypto/bytes';
import { readKesVerificationKeyFile } from '../../src/cardano';
import { HaskellServiceClient } from '../helpers/haskell-peer';
import { cold, ctlJson, currentPeriod, makeAgentEnv, startAgent, stopAgentEnv, type AgentEnv } from '../helpers/agent-env';
import { BIN, run, type RunResult } from '../helpers/processes';

const CONTROL_BIN = path.join(path.dirname(BIN.ctl), 'kes-agent-control.js');
/**
 * About 35 process spawns run one after another here (each rotation: a tool, kes-cold twice,
 * status, info). A ceiling, not a goal: 4x the 0.6-s spawn measured with both cores busy, each.
 */
const TEST_CEILING_MS = 35 * 4 * 600;

describe('kes-agent-control and kes-ctl take turns on one agent', () => {
  let e: AgentEnv;
  const peers: HaskellServiceClient[] = [];
  beforeAll(async () => {
    e = await makeAgentEnv();
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close().catch(() => undefined)));
    await stopAgentEnv(e);
  });

  const hsctl = (...args: string[]): Promise<RunResult> => run(CONTROL_BIN, [...args, '-c', e.controlSocket], { env: e.env });

  async function issue(vkey: string, name: string): Promise<string> {
    const opcert = path.join(e.dir, `${name}.opcert`);
    const r = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, `--kes-period=${await currentPeriod(e)}`, '--out', opcert);
    if (r.code !== 0) throw new Error(`issue-opcert: ${r.stderr}`);
    return opcert;
  }

  /** Rotation with kes-agent-control: gen-staged-key, kes-cold, install-key. Returns the new vk (hex). */
  async function rotateHaskell(name: string): Promise<string> {
    const vkey = path.join(e.dir, `${name}.vkey`);
    const gen = await hsctl('gen-staged-key', '--kes-verification-key-file', vkey);
    expect(gen).toMatchObject({ code: 0, stderr: '' });
    const install = await hsctl('install-key', '--opcert-file', await issue(vkey, name));
    expect(install.code).toBe(0);
    expect(install.stderr).toBe('');
    return toHex(readKesVerificationKeyFile(vkey));
  }

  /** Rotation with kes-ctl: keygen, kes-cold, import-opcert, upload. */
  async function rotateNative(name: string): Promise<string> {
    const vkey = path.join(e.dir, `${name}.vkey`);
    const k = await ctlJson<{ kesVkey: string }>(e, 'keygen', '--out', vkey);
    await ctlJson(e, 'import-opcert', await issue(vkey, name));
    await ctlJson(e, 'upload');
    return k.kesVkey;
  }

  test('four rotations, alternating tools; the V2 client takes every key; info and status agree; drop-key; then an agent restart and a fresh rotation', async () => {
    await startAgent(e);
    const node = await HaskellServiceClient.connect({ socketPath: e.serviceSocket });
    peers.push(node);
    const installed: string[] = [];
    for (const [i, rotate] of [rotateHaskell, rotateNative, rotateHaskell, rotateNative].entries()) {
      const mark = node.mark();
      const vk = await rotate(`kes${i}`);
      installed.push(vk);
      const key = await node.waitFor('key', { after: mark });
      expect(toHex(key.ocert.hotVk)).toBe(vk);
      expect(key.ocert.counter).toBe(BigInt(i));
      expect((await node.waitFor('answer', { after: mark })).result).toBe(0);
      // Both tools see the same installed key.
      const status = await ctlJson<{ active: { kesVkey: string; counter: number } }>(e, 'status');
      expect(status.active).toMatchObject({ kesVkey: vk, counter: i });
      const info = await hsctl('info');
      expect(info.code).toBe(0);
      expect(info.stdout).toContain(vk);
    }
    // Timestamps rose with every install: the node's client took each one.
    const stamps = node.keys().map((k) => k.timestampUs);
    expect(stamps).toEqual([...stamps].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(stamps).size).toBe(stamps.length);

    // drop-key: the node is told; a second drop-key has nothing to drop.
    let mark = node.mark();
    expect((await hsctl('drop-key')).code).toBe(0);
    await node.waitFor('drop', { after: mark });
    const again = await hsctl('drop-key');
    expect(again.code).toBe(3); // NoKey
    expect((await ctlJson<{ active: unknown }>(e, 'status')).active).toBeNull();

    // Restart: the key is gone (RAM only); the node's client reconnects and takes the next key.
    await e.agent!.stop();
    await startAgent(e);
    const reconnected = await HaskellServiceClient.connect({ socketPath: e.serviceSocket });
    peers.push(reconnected);
    await reconnected.waitFor('version');
    mark = reconnected.mark();
    const vk = await rotateHaskell('after-restart');
    expect(toHex((await reconnected.waitFor('key', { after: mark })).ocert.hotVk)).toBe(vk);
    expect((await reconnected.waitFor('answer', { after: mark })).result).toBe(0);
    expect(fs.existsSync(e.controlSocket)).toBe(true);
  }, TEST_CEILING_MS);
});
