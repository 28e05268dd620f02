/**
 * A peer on the service socket trying to spend the agent's locked memory: many connections, each
 * starting a 64-KiB frame whose first payload byte is the KEY kind and then going quiet. A KEY
 * never travels towards the agent, so the agent refuses each at its first payload byte, before
 * allocating anything, and closes the connection; its locked memory does not move and keygen
 * still works.
 */
import * as net from 'node:net';
import { KIND, MAX_FRAME_PAYLOAD_BYTES } from '../../src/protocol/constants';
import { nativeAccept } from '../../src/protocol';
import { agentForEachDescribe, ctlJson } from '../helpers/agent-env';
import { statusKiB } from '../../scripts/proc-stat';

/** The reported attack took locked memory from 4.1 MiB to the 8-MiB limit with 70 connections. */
const CONNECTIONS = 70;
/** What one refused frame may still cost the agent in locked memory, at most (one arena). */
const ARENA_KIB = 64;

/**
 * Pick our protocol in the version handshake, start a KEY-kind frame of the largest size, send
 * its first 1,000 bytes, and wait for the agent to close.
 */
function halfKeyFrame(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath, () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(MAX_FRAME_PAYLOAD_BYTES);
      const start = Buffer.alloc(1_000, 0x41);
      start[0] = KIND.KEY;
      s.write(Buffer.concat([nativeAccept('service'), header, start]));
    });
    s.on('data', () => undefined);
    s.on('error', () => undefined); // a reset after the agent's ERROR is a close too
    s.on('close', () => resolve());
    s.setTimeout(30_000, () => {
      s.destroy();
      reject(new Error('the agent kept a half KEY frame open for 30 s'));
    });
  });
}

describe('locked memory and KEY frames sent to the agent', () => {
  const agent = agentForEachDescribe({ timingArgs: ['--network', 'preview'] });

  test(`${CONNECTIONS} connections each starting a 64-KiB KEY frame: each refused and closed, locked memory unchanged, keygen still works`, async () => {
    const e = agent();
    const pid = e.agent!.child.pid!;
    const before = statusKiB(pid, 'VmLck');
    const mark = e.agent!.mark();
    await Promise.all(Array.from({ length: CONNECTIONS }, () => halfKeyFrame(e.serviceSocket)));
    expect(statusKiB(pid, 'VmLck')).toBeLessThanOrEqual(before + ARENA_KIB);
    await ctlJson(e, 'keygen');
    expect(e.agent!.stdout.slice(mark.stdout)).toMatch(/UNEXPECTED_MESSAGE|carries a key/);
  });
});
