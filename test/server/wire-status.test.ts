/**
 * The control protocol's Status from a real agent's status: the wire's limits on warnings are
 * applied here, not in the key-state machine.
 */
import { loadSodium } from '../../src/crypto/sodium';
import { MAX_STATUS_WARNINGS, MAX_WARNING_BYTES, NO_PROTECTION } from '../../src/protocol';
import { toWireStatus } from '../../src/server/wire-status';
import { parseGenesis } from '../../src/time';
import { Harness, periodMs, testTiming, TEST_SYSTEM_START_MS } from '../machine/harness';
import { makeTestGenesis } from '../helpers/test-genesis';

const SERVER = { agentVersion: '0.1.0', protocolVersion: 3, serviceClients: 2, protection: NO_PROTECTION };

let h: Harness | undefined;
beforeAll(async () => {
  await loadSodium();
});
afterEach(() => h?.stop());

test('warnings stay within the wire limits: each cut with …, the agent first, then the peers, at most MAX_STATUS_WARNINGS', () => {
  // A 400-byte network name makes the agent's own warnings longer than the wire allows.
  const label = 'x'.repeat(400);
  const far = parseGenesis(
    makeTestGenesis({ systemStart: new Date(TEST_SYSTEM_START_MS + 1000 * periodMs(testTiming())), slotLength: 1, slotsPerKESPeriod: 10, maxKESEvolutions: 6 }),
    label,
  );
  h = new Harness(far, TEST_SYSTEM_START_MS);
  h.agent.keygen({ force: false });
  const agentStatus = h.agent.status();
  expect(Buffer.byteLength(agentStatus.warnings[0]!, 'utf8')).toBeGreaterThan(MAX_WARNING_BYTES);

  const peers = Array.from({ length: MAX_STATUS_WARNINGS }, (_, i) => `bootstrap peer ${i}: down`);
  const { counterFloor, status } = toWireStatus(agentStatus, { ...SERVER, peerWarnings: peers });
  expect(counterFloor).toBe(agentStatus.counterFloor);
  expect(status.warnings).toHaveLength(MAX_STATUS_WARNINGS);
  for (const w of status.warnings) expect(Buffer.byteLength(w, 'utf8')).toBeLessThanOrEqual(MAX_WARNING_BYTES);
  expect(status.warnings[0]!.endsWith('…')).toBe(true);
  expect(status.warnings[0]!.startsWith(`the chain (${far.name.slice(0, 50)}`)).toBe(true);
  const own = agentStatus.warnings.length;
  expect(status.warnings.slice(own)).toEqual(peers.slice(0, MAX_STATUS_WARNINGS - own));
  expect(status).toMatchObject({ ...SERVER, network: far.name, chainStarted: false, staged: { kesVk: agentStatus.staged!.kesVk } });
});
