/**
 * Fuzzing the first exchange on a connection, the VersionHandshake (spec/protocol.md §4), and
 * the first bytes of the Haskell protocols behind it: what the fuzzer sends as its answer to the
 * agent's offer, and how many bytes the agent must send back before it closes.
 *
 * The fuzzer half-closes after writing, so every case ends: the agent reads EOF where it expected
 * more. None of these cases may change key state: Haskell control commands are limited to an
 * out-of-range one and QueryStagedKey.
 */
import { SERVICE_MESSAGE_BYTES, controlVersionId, serviceVersionId, type ServiceVersion } from '../../src/protocol/haskell';
import { offeredIds } from '../../src/server/version-negotiation';
import type { SocketRole } from '../../src/protocol';
import type { Rng } from './rng';

export const HANDSHAKE_CASES = ['bad-flag', 'decline', 'unknown-id', 'haskell-garbage', 'haskell-query'] as const;
export type HandshakeCase = (typeof HANDSHAKE_CASES)[number];

export interface HandshakePlan {
  readonly kind: HandshakeCase;
  readonly bytes: Uint8Array;
  /** Bytes the agent sends before it closes (the offer, and for a Haskell id what that protocol sends first). */
  readonly expectBytes: number;
}

/** The agent's offer on `role`'s socket, in bytes. */
export function offerBytes(role: SocketRole): number {
  return 4 + 32 * offeredIds(role).length;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.below(256));
}

/**
 * One answer. `keyActive`: the agent holds a key, so a Haskell service client is sent the bundle
 * right after the VersionMessage.
 */
export function handshakePlan(rng: Rng, role: SocketRole, keyActive: boolean): HandshakePlan {
  const kind = rng.pick(HANDSHAKE_CASES);
  const offer = offerBytes(role);
  const tail = (min: number): Uint8Array => randomBytes(rng, min + rng.below(64));
  switch (kind) {
    case 'bad-flag': {
      // Neither 00 (decline) nor 01 (accept): malformed.
      const b = tail(0);
      const out = new Uint8Array(1 + b.length);
      out[0] = 2 + rng.below(254);
      out.set(b, 1);
      return { kind, bytes: out, expectBytes: offer };
    }
    case 'decline':
      return { kind, bytes: Uint8Array.of(0, ...tail(0)), expectBytes: offer };
    case 'unknown-id': {
      // An id that is none of ours: its first byte is a control character.
      const id = randomBytes(rng, 32);
      id[0] = rng.below(32);
      return { kind, bytes: Uint8Array.of(1, ...id, ...tail(0)), expectBytes: offer };
    }
    case 'haskell-garbage': {
      if (role === 'service') {
        const version = rng.pick([0, 1, 2] as const) as ServiceVersion;
        // The agent sends the VersionMessage and the current bundle; the first 4 garbage bytes
        // answer it, the next 4 answer nothing: the agent closes (or it reads EOF).
        const bundle = keyActive ? (version === 2 ? SERVICE_MESSAGE_BYTES.keyV2 : SERVICE_MESSAGE_BYTES.keyV0V1) : 0;
        return { kind, bytes: Uint8Array.of(1, ...serviceVersionId(version), ...tail(8)), expectBytes: offer + 32 + bundle };
      }
      // Control: a VersionMessage that is not the accepted id (a control id starts with 'C').
      const version = rng.pick([0, 1, 2, 3] as const);
      const garbage = tail(1);
      garbage[0] = 0xff;
      return { kind, bytes: Uint8Array.of(1, ...controlVersionId(version), ...garbage), expectBytes: offer };
    }
    case 'haskell-query': {
      if (role === 'service') {
        // The right VersionMessage sent back by a confused client: 32 bytes the agent reads as 8
        // RecvResults, the second of which answers no push.
        const version = rng.pick([0, 1, 2] as const) as ServiceVersion;
        const bundle = keyActive ? (version === 2 ? SERVICE_MESSAGE_BYTES.keyV2 : SERVICE_MESSAGE_BYTES.keyV0V1) : 0;
        return { kind, bytes: Uint8Array.of(1, ...serviceVersionId(version), ...serviceVersionId(version)), expectBytes: offer + 32 + bundle };
      }
      // Control: VersionMessage, QueryStagedKey (nothing is staged during the fuzz: `00`), then an
      // out-of-range command: one byte back, then the close.
      const version = rng.pick([0, 1, 2, 3] as const);
      const id = controlVersionId(version);
      return { kind, bytes: Uint8Array.of(1, ...id, ...id, 0, 1, 0xff, 0xff), expectBytes: offer + 1 };
    }
  }
}
