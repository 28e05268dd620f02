/**
 * ControlHandler's `protection` option, the hook through which the daemon reports the memory and
 * access protections in force: a real agent, a real control socket, the real client.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { negotiate } from '../../src/server/version-negotiation';
import * as path from 'node:path';
import { ControlClient } from '../../src/client/control-client';
import { KesSignKey } from '../../src/crypto/kes';
import { loadSodium } from '../../src/crypto/sodium';
import { Agent } from '../../src/machine/agent';
import { NO_PROTECTION, type Protection } from '../../src/protocol';
import { ControlHandler } from '../../src/server/control-handler';
import type { Logger } from '../../src/platform/logger';
import { ServiceHub } from '../../src/server/service-hub';
import { networkTiming } from '../../src/time';
import { tempDir } from '../helpers/processes';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** An agent behind a control socket served by a ControlHandler built with `protection`. */
async function serve(protection?: () => Protection): Promise<{ socketPath: string; close: () => Promise<void> }> {
  const dir = tempDir('kes-status-protection-');
  const socketPath = path.join(dir, 'control.sock');
  const agent = new Agent({ timing: networkTiming('mainnet'), coldVk: new Uint8Array(32).fill(7), now: Date.now, generateKey: () => KesSignKey.generate() });
  agent.start();
  const hub = new ServiceHub({ agent, logger: quiet, agentVersion: '0.1.0' });
  const handler = new ControlHandler({ agent, hub, logger: quiet, agentVersion: '0.1.0', ...(protection ? { protection } : {}) });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    // As the daemon does: the version handshake first, then our protocol's handler.
    void negotiate(s, 'control', 5_000).then((n) => (n.kind === 'native' ? handler.serve(s) : void s.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

beforeAll(async () => {
  await loadSodium();
});

test('without the option every protection is reported false', async () => {
  const srv = await serve();
  const ctl = await ControlClient.connect({ socketPath: srv.socketPath });
  try {
    expect((await ctl.status()).protection).toEqual(NO_PROTECTION);
    expect(Object.values(NO_PROTECTION).every((v) => v === false)).toBe(true);
    expect(Object.isFrozen(NO_PROTECTION)).toBe(true);
  } finally {
    ctl.close();
    await srv.close();
  }
});

test('the provider is asked at every STATUS, and each field travels in its own place', async () => {
  const seen: Protection[] = [
    { keyMemoryLocked: true, sodiumHeapLocked: false, coreDumpsDisabled: false, peerCredentialsChecked: false, unlockedMemoryAllowed: false },
    { keyMemoryLocked: false, sodiumHeapLocked: true, coreDumpsDisabled: false, peerCredentialsChecked: false, unlockedMemoryAllowed: false },
    { keyMemoryLocked: false, sodiumHeapLocked: false, coreDumpsDisabled: true, peerCredentialsChecked: false, unlockedMemoryAllowed: false },
    { keyMemoryLocked: false, sodiumHeapLocked: false, coreDumpsDisabled: false, peerCredentialsChecked: true, unlockedMemoryAllowed: false },
    { keyMemoryLocked: false, sodiumHeapLocked: false, coreDumpsDisabled: false, peerCredentialsChecked: false, unlockedMemoryAllowed: true },
  ];
  let calls = 0;
  const srv = await serve(() => seen[calls++ % seen.length]!);
  const ctl = await ControlClient.connect({ socketPath: srv.socketPath });
  try {
    for (const expected of seen) expect((await ctl.status()).protection).toEqual(expected);
    expect(calls).toBe(seen.length);
  } finally {
    ctl.close();
    await srv.close();
  }
});
