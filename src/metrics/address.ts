/**
 * Where the metrics endpoint listens: a TCP address (`127.0.0.1:9101`, `[::1]:9101`) or a Unix
 * socket path. Anything with a `/` is a path (`./metrics.sock` for one in the working
 * directory); anything else must be HOST:PORT with an IP address, or `localhost`, which means
 * 127.0.0.1. Host names are refused: the agent binds exactly the address the operator wrote,
 * never whatever a resolver returns at start-up.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { quoteValue, type FlagValue, type ValueKind } from '../config/value-kinds';

export type MetricsAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** Highest TCP port; 0 asks the kernel for a free one (the log line says which). */
export const MAX_TCP_PORT = 65_535;

/** What `localhost` binds: the IPv4 loopback address, whatever /etc/hosts says. */
export const LOCALHOST_ADDRESS = '127.0.0.1';

const IPV6_HOST_PORT = /^\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})$/;
const HOST_PORT = /^([^:[\]]+):([0-9]{1,5})$/;

export function parseMetricsAddress(text: string): MetricsAddress | undefined {
  if (text === '' || text.includes('\0')) return undefined;
  if (text.includes('/')) return { kind: 'unix', path: text };
  const v6 = IPV6_HOST_PORT.exec(text);
  const m = v6 ?? HOST_PORT.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port > MAX_TCP_PORT) return undefined;
  const host = m[1] === 'localhost' ? LOCALHOST_ADDRESS : m[1]!;
  // A bracketed host must be IPv6, a bare one IPv4 (or localhost).
  if (v6 !== null ? !net.isIPv6(host) : !net.isIPv4(host)) return undefined;
  return { kind: 'tcp', host, port };
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

const WILDCARD = new net.BlockList();
WILDCARD.addAddress('0.0.0.0', 'ipv4');
WILDCARD.addAddress('::', 'ipv6');

const family = (host: string): 'ipv4' | 'ipv6' => (net.isIPv6(host) ? 'ipv6' : 'ipv4');

/** Only this host can connect: 127.0.0.0/8, ::1, or a Unix socket. */
export function isLoopback(a: MetricsAddress): boolean {
  return a.kind === 'unix' || LOOPBACK.check(a.host, family(a.host));
}

/** Every interface of the host: 0.0.0.0 or ::. */
export function isWildcard(a: MetricsAddress): boolean {
  return a.kind === 'tcp' && WILDCARD.check(a.host, family(a.host));
}

/** How the address appears in logs and messages: a scrape URL, or the socket path. */
export function describeAddress(a: MetricsAddress): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  return net.isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

const EXPECTED = 'HOST:PORT with an IP address or localhost (127.0.0.1:9101, [::1]:9101), or a Unix socket path containing "/" (./metrics.sock)';

const fromText = (t: string): string | undefined => (parseMetricsAddress(t) === undefined ? undefined : t);

/**
 * The `metrics` setting's kind. The value stays text (as written, or a file-relative socket path
 * made absolute); the daemon parses it once more when it binds.
 */
export const METRICS_ADDRESS_KIND: ValueKind<string> = {
  type: 'address',
  expected: EXPECTED,
  fromText,
  fromFlag: (v: FlagValue) => (typeof v === 'string' ? fromText(v) : undefined),
  // A socket path in the file is relative to the file's directory, as every path there is.
  fromToml: (v, baseDir) => {
    if (typeof v !== 'string') return undefined;
    const a = parseMetricsAddress(v);
    if (a === undefined) return undefined;
    return a.kind === 'unix' ? path.resolve(baseDir, a.path) : v;
  },
  rejection: (raw) => `expected ${EXPECTED}, got ${quoteValue(raw)}`,
  show: (v) => v,
  json: (v) => v,
  equal: (a, b) => a === b,
};
