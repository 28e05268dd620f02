/** The metrics address setting: what it accepts, what it refuses, and how it reads the address. */
import { describeAddress, isLoopback, isWildcard, METRICS_ADDRESS_KIND, parseMetricsAddress } from '../../src/metrics/address';

describe('parseMetricsAddress', () => {
  test.each([
    ['127.0.0.1:9101', { kind: 'tcp', host: '127.0.0.1', port: 9101 }],
    ['localhost:9101', { kind: 'tcp', host: '127.0.0.1', port: 9101 }],
    ['[::1]:0', { kind: 'tcp', host: '::1', port: 0 }],
    ['192.0.2.10:65535', { kind: 'tcp', host: '192.0.2.10', port: 65535 }],
    ['0.0.0.0:9101', { kind: 'tcp', host: '0.0.0.0', port: 9101 }],
    ['/run/kes-agent/metrics.sock', { kind: 'unix', path: '/run/kes-agent/metrics.sock' }],
    ['./metrics.sock', { kind: 'unix', path: './metrics.sock' }],
  ])('%s', (text, expected) => {
    expect(parseMetricsAddress(text)).toEqual(expected);
    expect(METRICS_ADDRESS_KIND.fromText(text)).toBe(text);
  });

  test.each([
    ['', 'empty'],
    ['9101', 'a port alone'],
    [':9101', 'no host'],
    ['127.0.0.1', 'no port'],
    ['127.0.0.1:65536', 'port out of range'],
    ['127.0.0.1:-1', 'negative port'],
    ['127.0.0.1:http', 'a service name'],
    ['prometheus.example:9101', 'a host name (the agent binds what was written, never a lookup)'],
    ['::1:9101', 'IPv6 without brackets'],
    ['[127.0.0.1]:9101', 'IPv4 in brackets'],
    ['[::1]', 'IPv6 without a port'],
    ['metrics.sock', 'a socket path without a slash (reads as a host)'],
    ['/a\0b', 'a NUL byte'],
  ])('refuses %j (%s)', (text) => {
    expect(parseMetricsAddress(text)).toBeUndefined();
    expect(METRICS_ADDRESS_KIND.fromText(text)).toBeUndefined();
    expect(METRICS_ADDRESS_KIND.rejection(text)).toMatch(/^expected HOST:PORT with an IP address or localhost .*, got /);
  });

  test('in the config file a socket path is relative to the file, a TCP address is kept as written', () => {
    expect(METRICS_ADDRESS_KIND.fromToml('./m.sock', '/etc/kes-agent')).toBe('/etc/kes-agent/m.sock');
    expect(METRICS_ADDRESS_KIND.fromToml('127.0.0.1:9101', '/etc/kes-agent')).toBe('127.0.0.1:9101');
    expect(METRICS_ADDRESS_KIND.fromToml(9101n, '/etc/kes-agent')).toBeUndefined();
  });
});

describe('scope', () => {
  const scope = (t: string): [boolean, boolean, string] => {
    const a = parseMetricsAddress(t)!;
    return [isLoopback(a), isWildcard(a), describeAddress(a)];
  };

  test('loopback, every interface, or one interface', () => {
    expect(scope('127.0.0.1:1')).toEqual([true, false, '127.0.0.1:1']);
    expect(scope('127.8.9.10:1')).toEqual([true, false, '127.8.9.10:1']);
    expect(scope('[::1]:1')).toEqual([true, false, '[::1]:1']);
    expect(scope('[0:0:0:0:0:0:0:1]:1')).toEqual([true, false, '[0:0:0:0:0:0:0:1]:1']);
    expect(scope('0.0.0.0:1')).toEqual([false, true, '0.0.0.0:1']);
    expect(scope('[::]:1')).toEqual([false, true, '[::]:1']);
    expect(scope('192.0.2.10:1')).toEqual([false, false, '192.0.2.10:1']);
    expect(scope('/run/m.sock')).toEqual([true, false, 'unix:/run/m.sock']);
  });
});
