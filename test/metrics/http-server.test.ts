/**
 * The metrics endpoint's bounds, over real sockets: only GET /metrics, no request bodies, small
 * headers, a cap on connections, 503 when the agent cannot answer, and a Unix socket with its
 * mode. The agent's own metrics are checked end to end in test/e2e/metrics.test.ts.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { isKesError } from '../../src/errors';
import { createLogger } from '../../src/platform/logger';
import { MAX_METRICS_CONNECTIONS, MAX_METRICS_HEADER_BYTES, METRICS_SOCKET_MODE, startMetricsServer, type MetricsServer } from '../../src/metrics/http-server';
import { TEXT_FORMAT_CONTENT_TYPE } from '../../src/metrics/text-format';
import { tempDir } from '../helpers/processes';

const BODY = '# HELP t T\n# TYPE t gauge\nt 1\n';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(target: { port: number } | { socketPath: string }, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...('port' in target ? { host: '127.0.0.1', port: target.port } : { socketPath: target.socketPath }), method: opts.method ?? 'GET', path: opts.path ?? '/metrics', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Send raw bytes on a fresh connection; resolve with everything the server wrote before closing. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => (got += d));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(bytes);
  });
}

describe('over TCP', () => {
  let server: MetricsServer;
  let port: number;
  let renders = 0;
  let failing = false;
  let log = '';

  beforeAll(async () => {
    const out = new Writable({ write: (chunk: Buffer, _enc, cb) => { log += chunk.toString('utf8'); cb(); } });
    server = await startMetricsServer({
      address: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      render: () => {
        renders++;
        if (failing) throw new Error('the agent is stopping');
        return BODY;
      },
      log: createLogger({ out }),
    });
    if (server.address.kind !== 'tcp') throw new Error('expected a TCP address');
    port = server.address.port;
  });
  afterAll(() => server.close());

  test('the kernel-chosen port is reported and logged with the scope', () => {
    expect(port).toBeGreaterThan(0);
    expect(log).toContain(`metrics: listening address=127.0.0.1:${port} path=/metrics scope=loopback`);
  });

  test('GET /metrics: 200, the 0.0.4 content type, the rendered text with its length', async () => {
    const r = await request({ port });
    expect(r).toMatchObject({ status: 200, body: BODY });
    expect(r.headers['content-type']).toBe(TEXT_FORMAT_CONTENT_TYPE);
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(BODY)));
    expect((await request({ port }, { path: '/metrics?name[]=x' })).status).toBe(200);
  });

  test('another path is 404, another method 405 with Allow: GET; neither reads the agent', async () => {
    const before = renders;
    expect((await request({ port }, { path: '/' })).status).toBe(404);
    expect((await request({ port }, { path: '/metrics/' })).status).toBe(404);
    expect((await request({ port }, { path: '/debug/pprof' })).status).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']) {
      const r = await request({ port }, { method });
      expect([method, r.status, r.headers['allow']]).toEqual([method, 405, 'GET']);
    }
    expect(renders).toBe(before);
  });

  test('a request with a body is refused with 400 and the connection closed', async () => {
    const before = renders;
    const sized = await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(1000)}`);
    expect(sized).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n(.*\r\n)*Connection: close\r\n/);
    const chunked = await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(chunked).toMatch(/^HTTP\/1\.1 400 /);
    expect(renders).toBe(before);
  });

  test(`headers over ${MAX_METRICS_HEADER_BYTES} bytes: 431, connection closed`, async () => {
    const reply = await raw(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_METRICS_HEADER_BYTES)}\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
  });

  test('garbage instead of HTTP: 400, connection closed', async () => {
    expect(await raw(port, 'HELLO\0\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
  });

  test(`at most ${MAX_METRICS_CONNECTIONS} connections: one more is closed unanswered; a slot freed is usable again`, async () => {
    const held: net.Socket[] = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_METRICS_CONNECTIONS });
    try {
      // Each connection answered a request and stays open (keep-alive): the server holds all of them.
      const replies = await Promise.all(
        Array.from({ length: MAX_METRICS_CONNECTIONS }, () =>
          new Promise<http.IncomingMessage>((resolve, reject) => {
            const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
              held.push(req.socket!);
              res.resume();
              res.on('end', () => resolve(res));
            });
            req.on('error', reject);
          }),
        ),
      );
      expect(replies.map((r) => r.statusCode)).toEqual(Array(MAX_METRICS_CONNECTIONS).fill(200));
      expect(new Set(held).size).toBe(MAX_METRICS_CONNECTIONS);
      expect(await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('');
    } finally {
      agent.destroy();
    }
    // The server counts a connection gone when it sees it close; retry until it has.
    const deadline = Date.now() + 10_000;
    let reply = '';
    while (reply === '' && Date.now() < deadline) reply = await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
  });

  test('when the agent cannot answer (stopping): 503', async () => {
    failing = true;
    try {
      expect((await request({ port })).status).toBe(503);
    } finally {
      failing = false;
    }
  });

  test('a port in use: METRICS_LISTEN_FAILED naming the address and the cause', async () => {
    const err = await startMetricsServer({ address: { kind: 'tcp', host: '127.0.0.1', port }, render: () => BODY, log: createLogger({ out: new Writable({ write: (_c, _e, cb) => cb() }) }) }).catch((e: unknown) => e);
    expect(isKesError(err, 'METRICS_LISTEN_FAILED')).toBe(true);
    expect((err as Error).message).toBe(`metrics 127.0.0.1:${port}: cannot listen (EADDRINUSE); another process listens there; choose another port`);
  });
});

test('on a Unix socket: mode 0660, scraped through the socket, removed on close', async () => {
  const dir = tempDir('kes-metrics-');
  const socketPath = path.join(dir, 'metrics.sock');
  let log = '';
  const out = new Writable({ write: (chunk: Buffer, _enc, cb) => { log += chunk.toString('utf8'); cb(); } });
  try {
    const server = await startMetricsServer({ address: { kind: 'unix', path: socketPath }, render: () => BODY, log: createLogger({ out }) });
    expect(fs.lstatSync(socketPath).mode & 0o777).toBe(METRICS_SOCKET_MODE);
    expect(log).toContain(`metrics: listening address=unix:${socketPath} path=/metrics scope="unix socket"`);
    expect(await request({ socketPath })).toMatchObject({ status: 200, body: BODY });
    await server.close();
    expect(fs.existsSync(socketPath)).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
