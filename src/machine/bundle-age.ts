/**
 * Which of two bundles (a key or a drop, each with a timestamp) wins: the rule that lets agents
 * that feed each other settle. Pure functions of the machine context.
 */
import type { AgentContext } from './types';

export type HeldBundle = { kind: 'key' | 'drop' | 'none'; timestampUs: bigint };

/** The Haskell kes-agent's `isTaggedBundleAgeValid` (github.com/input-output-hk/kes-agent, Processes/Agent.hs): a drop wins ties against a key, everything else must be strictly newer. */
export function isNewer(current: HeldBundle, incoming: { kind: 'key' | 'drop'; timestampUs: bigint }): boolean {
  if (current.kind === 'none') return true;
  if (incoming.kind === 'drop' && current.kind === 'key') return current.timestampUs <= incoming.timestampUs;
  return current.timestampUs < incoming.timestampUs;
}

/** What the agent holds now, as the conflict rule sees it. */
export function heldBundle(context: AgentContext): HeldBundle {
  if (context.active !== null) return { kind: 'key', timestampUs: context.active.timestampUs };
  if (context.tombstone !== null) return { kind: 'drop', timestampUs: context.tombstone.timestampUs };
  return { kind: 'none', timestampUs: 0n };
}

/** The timestamp of a local install or drop at nowMs: max(now µs, last + 1). */
export function localTimestampUs(context: AgentContext, nowMs: number): bigint {
  const now = BigInt(nowMs) * 1000n;
  return now > context.lastTimestampUs ? now : context.lastTimestampUs + 1n;
}

export const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
