/**
 * The metrics endpoint: GET /metrics over node:http, on one address, and nothing else.
 *
 * Bounded like everything else the agent serves: a few concurrent connections, small request
 * headers, no request body, timeouts on slow clients. Other paths answer 404, other methods on
 * /metrics 405. It reads state through `render` only; it can change nothing.
 */
import type * as http from 'node:http';
import type * as net from 'node:net';
import { KesError } from '../errors';
import type { Logger } from '../platform/logger';
import { listenUnix } from '../server/unix-listener';
import { describeAddress, isLoopback, isWildcard, type MetricsAddress } from './address';
import { TEXT_FORMAT_CONTENT_TYPE } from './text-format';

/** The one path served. */
export const METRICS_PATH = '/metrics';
/** Scrapers at once: Prometheus uses one connection per target; a few allow an HA pair and curl. */
export const MAX_METRICS_CONNECTIONS = 8;
/** Request line and headers; a scrape request is a few hundred bytes. */
export const MAX_METRICS_HEADER_BYTES = 8 * 1024;
/** Header lines in one request. */
export const MAX_METRICS_HEADERS = 32;
/** A client has this long to send its request headers. */
export const METRICS_HEADERS_TIMEOUT_MS = 5_000;
/** ... and this long for the whole request. */
export const METRICS_REQUEST_TIMEOUT_MS = 10_000;
/** An idle kept-alive connection is closed after this (Prometheus reconnects at its next scrape). */
export const METRICS_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often the header and request timeouts are checked (Node's default, 30 s, would let them run 6x over). */
export const METRICS_TIMEOUT_CHECK_MS = 1_000;
/** Any connection with no traffic for this long is cut. */
export const METRICS_IDLE_TIMEOUT_MS = 30_000;
/** The Unix socket's mode: the agent's user and group (a scraping proxy in the group). */
export const METRICS_SOCKET_MODE = 0o660;

export interface MetricsServerOptions {
  address: MetricsAddress;
  /** The exposition text now; throws when the agent cannot answer (stopping): 503. */
  render(): string;
  log: Logger;
}

export interface MetricsServer {
  /** Where it listens, with the port the kernel chose for port 0. */
  readonly address: MetricsAddress;
  close(): Promise<void>;
}

/**
 * node:http, loaded by the first metrics server rather than with the agent: an agent run without
 * --metrics never serves HTTP, and loading it cost every agent 0.8 MiB of RSS.
 */
function nodeHttp(): typeof http {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:http') as typeof http;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server = nodeHttp().createServer(
    {
      maxHeaderSize: MAX_METRICS_HEADER_BYTES,
      requestTimeout: METRICS_REQUEST_TIMEOUT_MS,
      headersTimeout: METRICS_HEADERS_TIMEOUT_MS,
      keepAliveTimeout: METRICS_KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: METRICS_TIMEOUT_CHECK_MS,
    },
    (req, res) => answer(req, res, opts),
  );
  server.maxConnections = MAX_METRICS_CONNECTIONS;
  server.maxHeadersCount = MAX_METRICS_HEADERS;
  server.timeout = METRICS_IDLE_TIMEOUT_MS;
  server.on('clientError', (e: NodeJS.ErrnoException, socket: net.Socket) => {
    // Malformed, oversized or timed-out requests: answer if the socket can take it, then cut.
    const status = e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  const a = opts.address;
  let bound: MetricsAddress;
  if (a.kind === 'unix') {
    await listenUnix(server, a.path, METRICS_SOCKET_MODE);
    bound = a;
  } else {
    await listenTcp(server, a);
    const port = (server.address() as net.AddressInfo).port;
    bound = { ...a, port };
  }
  const where = describeAddress(bound);
  const scope = a.kind === 'unix' ? 'unix socket' : isLoopback(a) ? 'loopback' : 'network';
  opts.log.info('metrics: listening', { address: where, path: METRICS_PATH, scope });
  if (isWildcard(bound)) {
    opts.log.warn('metrics: listening on every interface; firewall the port so only your Prometheus reaches it, or give one interface\'s address', { address: where });
  }
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, opts: MetricsServerOptions): void {
  const reply = (status: number, headers: Record<string, string> = {}): void => {
    const text = `${nodeHttp().STATUS_CODES[status] ?? ''}\n`;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  // A scrape has no body; one announced anyway is never read: answer, then cut the connection.
  const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
  if (hasBody) {
    res.on('finish', () => req.socket.destroy());
    return reply(400, { Connection: 'close' });
  }
  const pathname = (req.url ?? '').split('?')[0];
  if (pathname !== METRICS_PATH) return reply(404);
  if (req.method !== 'GET') return reply(405, { Allow: 'GET' });
  let body: string;
  try {
    body = opts.render();
  } catch {
    return reply(503);
  }
  res.writeHead(200, { 'Content-Type': TEXT_FORMAT_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

function listenTcp(server: http.Server, a: Extract<MetricsAddress, { kind: 'tcp' }>): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const where = describeAddress(a);
      const hint =
        e.code === 'EADDRINUSE'
          ? 'another process listens there; choose another port'
          : e.code === 'EAFNOSUPPORT' || e.code === 'EPERM' || e.code === 'EACCES'
            ? 'the service manager may forbid IP sockets (kes-agent.service allows only Unix sockets: see deploy/systemd/kes-agent.service.d/metrics.conf), or the port is privileged'
            : 'is it an address of this host?';
      reject(new KesError('METRICS_LISTEN_FAILED', `metrics ${where}: cannot listen (${e.code ?? e.message}); ${hint}`));
    };
    server.once('error', onError);
    server.listen({ host: a.host, port: a.port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
