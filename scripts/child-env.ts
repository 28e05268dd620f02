/**
 * The environment for kes-agent's own binaries when tests, the demo, the fuzzer and the
 * benchmarks run them as children: nothing inherited that changes what they do. No KES_AGENT_*
 * variable from the caller's shell, no NODE_OPTIONS (kes-agent refuses inspector flags), no
 * colour, and KES_AGENT_CONFIG pointing at an empty file, so a host where the agent is installed
 * (/etc/kes-agent/agent.toml) does not configure the agents under test.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

let emptyConfig: string | undefined;

/** An empty TOML file private to this process, removed when it exits. */
function emptyConfigFile(): string {
  if (emptyConfig === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kes-agent-no-config-'));
    emptyConfig = path.join(dir, 'empty.toml');
    fs.writeFileSync(emptyConfig, '');
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return emptyConfig;
}

export function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('KES_AGENT_')) delete env[k];
  delete env['NODE_OPTIONS'];
  env['KES_AGENT_CONFIG'] = emptyConfigFile();
  return { ...env, ...extra };
}
