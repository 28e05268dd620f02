/**
 * statusOnce (the blocking status exchange of `kes-ctl status`) against a real agent and against
 * listeners that are not one. statusOnce blocks its process, so it runs in a child here, and
 * every listener is another process too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ControlClient } from '../../src/client/control-client';
import { nativeVersionId } from '../../src/protocol';
import { encodeOffer } from '../../src/protocol/haskell';
import { agentForEachDescribe } from '../helpers/agent-env';
import { Proc, ROOT, cleanEnv, run, tempDir } from '../helpers/processes';

jest.setTimeout(60_000);

const STATUS_ONCE = path.join(ROOT, 'dist', 'src', 'client', 'status-once.js');

type Outcome = { ok: true; report: Record<string, unknown> } | { ok: false; code: string; message: string };

/** statusOnce in a child process, as kes-ctl runs it. */
async function statusOnceIn(socketPath: string, extra: Record<string, unknown> = {}): Promise<Outcome> {
  const script = `
    const { statusOnce } = require(${JSON.stringify(STATUS_ONCE)});
    let out;
    try { out = { ok: true, report: statusOnce({ socketPath: ${JSON.stringify(socketPath)}, ...${JSON.stringify(extra)} }) }; }
    catch (e) { out = { ok: false, code: e.code, message: e.message }; }
    process.stdout.write(JSON.stringify(out));`;
  const r = await run('-e', [script], { env: cleanEnv() });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as Outcome;
}

describe('statusOnce against a real agent', () => {
  const agent = agentForEachDescribe();

  test('reports what ControlClient.status reports', async () => {
    const e = agent();
    const once = await statusOnceIn(e.controlSocket);
    const ctl = await ControlClient.connect({ socketPath: e.controlSocket });
    let full: Record<string, unknown>;
    try {
      full = JSON.parse(JSON.stringify(await ctl.status())) as Record<string, unknown>;
    } finally {
      ctl.close();
    }
    expect(once.ok).toBe(true);
    const { currentSlot: a, ...onceRest } = (once as { report: Record<string, unknown> }).report;
    const { currentSlot: b, ...fullRest } = full;
    expect(typeof a).toBe('number');
    expect(typeof b).toBe('number');
    expect(onceRest).toEqual(fullRest);
  });
});

/** The version offer a real agent sends on its control socket, as hex. */
const OFFER_HEX = Buffer.from(encodeOffer([nativeVersionId('control'), nativeVersionId('service')])).toString('hex');
const SERVICE_ONLY_OFFER_HEX = Buffer.from(encodeOffer([nativeVersionId('service')])).toString('hex');

/**
 * A listener that is not an agent, in a process of its own: `behaviour` is what it does with
 * each connection. It prints `got N` with the bytes each connection sent when it ends.
 */
const FAKE = `
const net = require('node:net');
const [socketPath, behaviour] = process.argv.slice(1);
net.createServer((s) => {
  let n = 0;
  s.on('data', (d) => {
    n += d.length;
    if (behaviour === 'offer-then-close') s.end();
  });
  s.on('error', () => {});
  s.on('close', () => console.log('got ' + n));
  if (behaviour === 'offer-then-close' || behaviour === 'offer-then-silent') s.write(Buffer.from('${OFFER_HEX}', 'hex'));
  if (behaviour === 'service-offer') s.write(Buffer.from('${SERVICE_ONLY_OFFER_HEX}', 'hex'));
  if (behaviour === 'huge-offer') s.write(Buffer.from('ffffffff', 'hex'));
  if (behaviour === 'garbage-after-offer') s.write(Buffer.concat([Buffer.from('${OFFER_HEX}', 'hex'), Buffer.from('00000000', 'hex')]));
}).listen(socketPath, () => console.log('listening'));`;

describe('statusOnce against listeners that are not an agent', () => {
  let dir: string;
  const fakes: Proc[] = [];
  beforeEach(() => {
    dir = tempDir('kes-status-once-');
  });
  afterEach(async () => {
    for (const f of fakes.splice(0)) await f.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function fake(behaviour: string): Promise<{ socketPath: string; proc: Proc }> {
    const socketPath = path.join(dir, `${behaviour}.sock`);
    const proc = new Proc('-e', [FAKE, socketPath, behaviour]);
    fakes.push(proc);
    await proc.waitFor('listening');
    return { socketPath, proc };
  }

  test.each([
    ['silent', 'AGENT_TIMEOUT'],
    ['offer-then-silent', 'AGENT_TIMEOUT'],
    ['offer-then-close', 'AGENT_CONNECTION_LOST'],
    ['service-offer', 'AGENT_HANDSHAKE_FAILED'],
    ['huge-offer', 'AGENT_HANDSHAKE_FAILED'],
    ['garbage-after-offer', 'AGENT_PROTOCOL'],
  ])('a listener that is %s: %s, naming the socket', async (behaviour, code) => {
    const { socketPath } = await fake(behaviour);
    // A silent peer never answers, whatever the speed: a short deadline only saves time.
    const r = await statusOnceIn(socketPath, { timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, code });
    expect((r as { message: string }).message).toContain(socketPath);
  });

  test('no socket, a regular file, a path too long: the codes connectToAgent gives', async () => {
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, '');
    expect(await statusOnceIn(path.join(dir, 'missing.sock'))).toMatchObject({ ok: false, code: 'AGENT_SOCKET_MISSING' });
    expect(await statusOnceIn(file)).toMatchObject({ ok: false, code: 'AGENT_UNREACHABLE', message: expect.stringContaining('not a socket') });
    expect(await statusOnceIn(`/${'a'.repeat(120)}`)).toMatchObject({ ok: false, code: 'SOCKET_PATH_TOO_LONG' });
  });
});
