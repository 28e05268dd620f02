/** What a pushed key's evolution says about the agent's network (src/client/network-mismatch.ts). */
import { BOUNDARY_SKEW_PERIODS, describeNetworkMismatch, networkMismatchOf } from '../../src/client/network-mismatch';
import { kesTimeAt, networkTiming, periodStartMs } from '../../src/time';

const mainnet = networkTiming('mainnet');
const preview = networkTiming('preview');
/** 2026-12-03T12:00Z: a fixed instant, so the periods below are exact. */
const NOW = Date.UTC(2026, 11, 3, 12);
const kpOf = (t: typeof mainnet): number => {
  const k = kesTimeAt(t, NOW);
  if (!k.started) throw new Error('not started');
  return k.kesPeriod;
};

test('a mainnet key (evolution 3) read by a preview node names both networks and periods', () => {
  const m = networkMismatchOf(preview, kpOf(mainnet) - 3, 3, NOW);
  expect(m).toEqual({ agentNetwork: 'mainnet', agentKesPeriod: kpOf(mainnet), nodeNetwork: 'preview', nodeKesPeriod: kpOf(preview) });
  expect(describeNetworkMismatch(m!)).toMatch(/^network mismatch: the agent runs mainnet \(its key is at KES period \d+, the current period of mainnet\), this node preview/);
});

test('the same network is no mismatch, even a period apart (a push across a boundary)', () => {
  const kp = kpOf(mainnet);
  expect(networkMismatchOf(mainnet, kp - 3, 3, NOW)).toBeUndefined();
  expect(networkMismatchOf(mainnet, kp - 3, 3 + BOUNDARY_SKEW_PERIODS, NOW)).toBeUndefined();
  expect(networkMismatchOf(mainnet, kp, 0, periodStartMs(mainnet, kp + 1) - 1)).toBeUndefined();
});

test('evolution 0 tells nothing (the opcert may simply start later); a period of no public network is not named', () => {
  expect(networkMismatchOf(preview, kpOf(mainnet), 0, NOW)).toBeUndefined();
  expect(networkMismatchOf(preview, kpOf(mainnet) + 200, 3, NOW)).toBeUndefined();
});
