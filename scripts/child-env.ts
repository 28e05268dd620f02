/**
 * The environment for kes-agent's own binaries when tests, the demo, the fuzzer and the
 * benchmarks run them as children: nothing inherited that changes what they do. No KES_AGENT_*
 * variable from the caller's shell, no NODE_OPTIONS (kes-agent refuses inspector flags), no
 * NODE_EXTRA_CA_CERTS (none of them makes a TLS connection, and Node 20 parses that bundle at
 * every start-up: ~40 ms per process on a host that sets it, which would also inflate the
 * benchmarks' `node -e 0` floor), no colour, and KES_AGENT_CONFIG pointing at an empty file (scripts/no-config.toml), so a host
 * where the agent is installed (/etc/kes-agent/agent.toml) does not configure the agents under
 * test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * scripts/no-config.toml, found from the source (scripts/) or the build (dist/scripts/): a file in
 * the checkout rather than one made per process, so nothing is left in the temp dir when a
 * process (a jest worker, say) ends without running its exit handlers.
 */
function emptyConfigFile(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'scripts', 'no-config.toml');
    if (path.dirname(dir) === dir) throw new Error(`child-env: no package.json above ${__dirname}`);
  }
}

export function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('KES_AGENT_')) delete env[k];
  delete env['NODE_OPTIONS'];
  delete env['NODE_EXTRA_CA_CERTS'];
  env['KES_AGENT_CONFIG'] = emptyConfigFile();
  return { ...env, ...extra };
}
