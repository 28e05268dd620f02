/**
 * The daemon's resource limits, in one place. Each bounds what one peer can make the agent
 * hold or wait for; a peer that exceeds one is disconnected, and the agent carries on.
 *
 * None of them is a setting: no flag, no environment variable, no config-file key changes them.
 * The one exception is a test-only hook for NODE_CONFIRM_DEADLINE_MS (nodeConfirmDeadline below),
 * which a production agent refuses.
 */
import { KesError } from '../errors';

/** A client must send HELLO within this time after connecting. @default 5000 */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** A control connection with no request for this long is closed. @default 60000 */
export const CONTROL_IDLE_TIMEOUT_MS = 60_000;
/** Simultaneous control connections (kes-ctl is one-shot; a handful is plenty). @default 32 */
export const MAX_CONTROL_CONNECTIONS = 32;
/** Simultaneous service connections (nodes). Sized for a bench of 1,000 nodes with headroom. @default 2048 */
export const MAX_SERVICE_CONNECTIONS = 2048;
/**
 * Bytes queued to one node that the kernel has not taken yet. A node that stops reading reaches
 * it after a few pushes and is disconnected, so it cannot make the agent buffer without bound
 * or slow the others (each node has its own socket buffer). @default 262144
 */
export const MAX_NODE_PENDING_WRITE_BYTES = 256 * 1024;
/**
 * KEY frames one node's connection may have waiting for the kernel at once, each keeping a locked
 * frame alive: our nodes share one frame per push (wiped when its last write is done), a Haskell
 * node has its own copy. A node that reads never holds more than the push in flight; one that has
 * stopped reading fills its socket buffer and then its quota, and its next push fails and
 * disconnects it. @default 2
 */
export const MAX_LOCKED_KEY_COPIES_PER_NODE = 2;
/**
 * Locked bytes one queued KEY copy takes: the largest key frame of any service protocol (ours:
 * 769 bytes), rounded up to whole 64-byte granules of the secure arenas. @default 832
 */
export const LOCKED_KEY_COPY_BYTES = 832;
/**
 * The budget of the locked-memory pool that queued KEY copies come from: every allowed node
 * holding its whole quota at once, so that no connection can take another's share, and none can
 * take the memory keys are generated and evolved in (a separate pool). 2048 × 2 × 832 B = 3.25 MiB,
 * which fits beside libsodium's 4 MiB heap under the 8 MiB RLIMIT_MEMLOCK the agent requires.
 * @default 3407872
 */
export const WIRE_SECRET_BUDGET_BYTES = MAX_SERVICE_CONNECTIONS * MAX_LOCKED_KEY_COPIES_PER_NODE * LOCKED_KEY_COPY_BYTES;
/** How long a connection turned away with BUSY may linger before it is cut. @default 1000 */
export const BUSY_LINGER_MS = 1_000;
/** Pushes a node may leave unconfirmed before it is disconnected. @default 8 */
export const MAX_UNCONFIRMED_PUSHES = 8;
/**
 * A node that has not confirmed a push this long after it was written is disconnected: it has
 * stopped reading (or is wedged), and keeping it would keep a key frame queued for it, count it
 * as connected, and make every later upload wait for it. A working node confirms in
 * milliseconds; it gets the current key again when it reconnects. Twice the default upload wait,
 * so an upload reports such a node as unconfirmed before it is cut. @default 10000
 */
export const NODE_CONFIRM_DEADLINE_MS = 10_000;
/** Default wait for node confirmations after upload / drop-active. @default 5000 */
export const DEFAULT_CONFIRM_TIMEOUT_MS = 5_000;

/**
 * TEST-ONLY: the test suite's way to shorten NODE_CONFIRM_DEADLINE_MS, so that a test of the
 * deadline waits about a second instead of ten. It is NOT a setting, by design:
 *
 * - It is not in the settings table (src/config/settings.ts): no flag, no config-file key (the
 *   file cannot set it: unknown keys are an error), not shown by `kes-agent check-config`, not in
 *   deploy/kes-agent.env. An operator cannot tune the deadline, only the test suite can.
 * - It is honoured only together with a second, explicit switch, KES_AGENT_TEST_HOOKS=1: two
 *   variables that both say TEST have to be set on purpose. Not NODE_ENV=test: that is a generic
 *   variable other software on a host sets, and jest sets it in every process of the suite.
 * - Without the switch it is REFUSED, not ignored: the agent will not start (one line on stderr,
 *   CONFIG_INVALID, exit 3). An operator who put it in an environment file learns at once that
 *   it does nothing, instead of trusting a deadline that is not in force.
 * - When honoured, the agent says so in its log at start, with the deadline in force.
 *
 * Both variables start with KES_AGENT_, so scripts/child-env.ts strips them from whatever shell
 * runs the tests: only a test that passes them on purpose gets them.
 */
export const TEST_CONFIRM_DEADLINE_ENV = 'KES_AGENT_TEST_CONFIRM_DEADLINE_MS';
/** The switch without which TEST_CONFIRM_DEADLINE_ENV is refused; its only accepted value is "1". */
export const TEST_HOOKS_ENV = 'KES_AGENT_TEST_HOOKS';
/** The test hook's range: 1 ms (a test of the deadline itself) to one hour. */
const TEST_CONFIRM_DEADLINE_MAX_MS = 3_600_000;

/**
 * The node confirm deadline this process uses: NODE_CONFIRM_DEADLINE_MS, unless the test hook
 * above is set with its switch (`testHook: true`).
 * @throws KesError CONFIG_INVALID when the hook is set without the switch, or is not an integer
 *   1..3600000.
 */
export function nodeConfirmDeadline(env: NodeJS.ProcessEnv): { deadlineMs: number; testHook: boolean } {
  const raw = env[TEST_CONFIRM_DEADLINE_ENV];
  if (raw === undefined || raw === '') return { deadlineMs: NODE_CONFIRM_DEADLINE_MS, testHook: false };
  if (env[TEST_HOOKS_ENV] !== '1') {
    throw new KesError(
      'CONFIG_INVALID',
      `environment variable ${TEST_CONFIRM_DEADLINE_ENV} is a test-suite hook, not a setting, and is refused without ${TEST_HOOKS_ENV}=1: unset it (the node confirm deadline is ${NODE_CONFIRM_DEADLINE_MS} ms)`,
    );
  }
  const ms = /^[0-9]{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(ms >= 1 && ms <= TEST_CONFIRM_DEADLINE_MAX_MS)) {
    throw new KesError('CONFIG_INVALID', `environment variable ${TEST_CONFIRM_DEADLINE_ENV}: expected an integer 1..${TEST_CONFIRM_DEADLINE_MAX_MS} (ms), got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return { deadlineMs: ms, testHook: true };
}
