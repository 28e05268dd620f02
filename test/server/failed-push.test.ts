/**
 * A push that cannot be written to one node (the write of the shared KEY frame fails for it) must
 * not leave that node holding a wiped or stale key: the agent disconnects it, it reconnects, and
 * it gets the current key. The other nodes are not touched, and the shared frame is wiped once
 * every write has let go of it. In-process daemon on real sockets; the write failure is injected
 * once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { ColdSigningKey, issueOpcert, writeColdVerificationKeyFile } from '../../src/cardano';
import { ControlClient } from '../../src/client/control-client';
import { KesNodeClient } from '../../src/client';
import { toHex } from '../../src/crypto/bytes';
import { ConnectionClosedError, FramedSocket } from '../../src/protocol/framed-socket';
import { loadSodium } from '../../src/crypto/sodium';
import { startDaemon, type Daemon } from '../../src/server/daemon';
import { createLogger } from '../../src/platform/logger';
import { nextEvent } from '../helpers/node-events';
import { tempDir } from '../helpers/processes';
import { testChain } from '../helpers/test-chain';

/** A KEY frame's length: 4-byte length field + 765-byte payload. */
const KEY_FRAME_BYTES = 769;

test('a node whose KEY write fails is disconnected, reconnects and gets the current key; the other node keeps it; the shared frame is wiped', async () => {
  await loadSodium();
  const dir = tempDir('kes-failed-push-');
  const cold = ColdSigningKey.generate();
  let daemon: Daemon | undefined;
  const nodes: KesNodeClient[] = [];
  let log = '';
  try {
    const coldVkFile = path.join(dir, 'cold.vkey');
    writeColdVerificationKeyFile(coldVkFile, cold.verificationKey, { overwrite: false });
    const chain = testChain(dir, { periodMs: 3_600_000, maxKESEvolutions: 62, period: 100 });
    const controlSocket = path.join(dir, 'control.sock');
    const serviceSocket = path.join(dir, 'service.sock');
    const out = new Writable({ write: (chunk: Buffer, _enc, cb) => { log += chunk.toString('utf8'); cb(); } });
    daemon = await startDaemon({ coldVkFile, timing: chain.timing, controlSocket, serviceSocket, logger: createLogger({ out, level: 'debug' }), agentVersion: 'failed-push-test' });
    for (let i = 0; i < 2; i++) {
      const n = new KesNodeClient({ socketPath: serviceSocket, timing: chain.timing, coldVk: cold.verificationKey, backoff: { initialMs: 20, maxMs: 200 } });
      const up = nextEvent(n, 'noKey');
      n.start();
      await up;
      nodes.push(n);
    }

    // The upload encodes one KEY frame and writes it to each node without a copy: the first
    // node's write fails. Every frame handed to a write is kept, to see that it ends wiped.
    const real = FramedSocket.prototype.postShared;
    let keyFrames = 0;
    const shared: Uint8Array[] = [];
    jest.spyOn(FramedSocket.prototype, 'postShared').mockImplementation(function (this: FramedSocket, frame: Uint8Array, done: (err?: Error) => void) {
      if (frame.length !== KEY_FRAME_BYTES) return real.call(this, frame, done);
      shared.push(frame);
      if (++keyFrames === 1) {
        done(new ConnectionClosedError(false));
        return;
      }
      return real.call(this, frame, done);
    });
    const keys = nodes.map((n) => nextEvent(n, 'key', 20_000));
    const disconnects = nodes.map((n) => {
      let count = 0;
      n.on('disconnected', () => count++);
      return () => count;
    });
    const c = await ControlClient.connect({ socketPath: controlSocket });
    let kesVk: Uint8Array;
    try {
      kesVk = (await c.keygen({ force: false })).kesVk;
      await c.importOpcert(issueOpcert({ hotVk: kesVk, counter: 0, kesPeriod: 100, coldSeed: cold.seed }));
      expect(await c.upload({ confirmTimeoutMs: 5_000 })).toMatchObject({ nodesConnected: 2, nodesConfirmed: 1 });
    } finally {
      c.close();
    }
    expect(keyFrames).toBeGreaterThanOrEqual(2);
    // The upload's two writes shared one frame, and it was wiped when both had let go of it.
    expect(shared[0]).toBe(shared[1]);
    expect(shared[0]!.every((b) => b === 0)).toBe(true);
    // Both end up with the key: one at once, the other after it was disconnected and came back.
    for (const k of keys) expect((await k).kesVk).toBe(toHex(kesVk));
    expect(disconnects.map((count) => count()).sort()).toEqual([0, 1]);
    expect(log).toMatch(/service: push to node failed; disconnecting it so it reconnects for the current key/);
    for (const n of nodes) expect(n.keyInfo()?.kesVk).toBe(toHex(kesVk));
  } finally {
    jest.restoreAllMocks();
    for (const n of nodes) await n.stop();
    await daemon?.stop();
    cold.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
