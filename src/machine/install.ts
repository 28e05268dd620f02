/**
 * A staged key becoming the active one: UPLOAD (the staged key and its imported opcert) and
 * INSTALL (IMPORT_OPCERT and UPLOAD as one event, the Haskell control protocol's InstallKey).
 * The new key is evolved to the current period inside the same transition, so nobody can read
 * it before it is evolved.
 */
import { toHex } from '../crypto/bytes';
import { ActiveSlot } from '../slots';
import { localTimestampUs } from './bundle-age';
import { refuseIf } from './outcomes';
import { opcertExpiresAtMs } from './rules';
import { assignContext, nowOf, type MachineEnv } from './setup';
import type { ActiveEntry, BundleSource } from './types';

/** The context entry of a new active slot. */
export function activeEntry(env: MachineEnv, slot: ActiveSlot, timestampUs: bigint, source: BundleSource | null): ActiveEntry {
  return {
    timestampUs,
    source,
    slot,
    kesVkHex: toHex(slot.kesVk),
    counter: slot.counter,
    startKesPeriod: slot.startKesPeriod,
    evolution: slot.evolution,
    installedAtMs: slot.installedAtMs,
    expiresAtMs: opcertExpiresAtMs(env.timing, slot.startKesPeriod),
  };
}

export function installActions(env: MachineEnv) {
  return {
    // Moves the staged key into a new active slot; the staging slot is left empty.
    installStaged: assignContext(({ context, event }) => {
      if (context.staged === null) throw new Error('bug: installStaged without a staged key');
      const { key, opcert } = context.staged.slot.takeBundle();
      let slot: ActiveSlot;
      try {
        slot = new ActiveSlot(key, opcert, nowOf(event));
      } catch (e) {
        key.destroy();
        throw e;
      }
      // Guards refused a counter below the floor, so this is the new highest (or equal).
      const counterFloor = Math.max(context.counterFloor ?? 0, slot.counter);
      const timestampUs = localTimestampUs(context, nowOf(event));
      return { staged: null, active: activeEntry(env, slot, timestampUs, null), expired: null, counterFloor, tombstone: null, lastTimestampUs: timestampUs };
    }),
  };
}

/**
 * The two ways a staged key becomes active (replacing an active key or not), after `first`:
 * UPLOAD and INSTALL differ only in attaching the opcert first.
 */
const becomeActive = <const F extends readonly ('attachOpcert' | 'recordOpcert')[]>(command: 'upload' | 'install', first: F) => {
  const install = ['installStaged', 'evolveActiveKey', 'recordEvolution', 'nextChangeSeq', 'announceInstalled'] as const;
  return [
    {
      guard: 'hasActiveKey' as const,
      target: '.activeKey',
      actions: [...first, 'destroyActiveKey' as const, ...install, { type: 'reportUpload' as const, params: { replacedActive: true, command } }],
    },
    { target: '.activeKey', actions: [...first, ...install, { type: 'reportUpload' as const, params: { replacedActive: false, command } }] },
  ];
};

/**
 * IMPORT_OPCERT's checks, in the order spec/protocol.md §5 lists the codes; the first failure
 * wins. INSTALL runs the same, answering as `install`.
 */
export const importOpcertChecks = <const C extends 'importOpcert' | 'install'>(command: C) =>
  [
    refuseIf('noStagedKey', command, 'NO_STAGED_KEY'),
    refuseIf('opcertWrongColdKey', command, 'OPCERT_WRONG_COLD_KEY'),
    refuseIf('opcertBadSignature', command, 'OPCERT_BAD_SIGNATURE'),
    refuseIf('opcertWrongKesKey', command, 'OPCERT_WRONG_KES_KEY'),
    refuseIf('candidateOpcertExpired', command, 'OPCERT_EXPIRED'),
    refuseIf('candidateCounterTooLow', command, 'OPCERT_COUNTER_TOO_LOW'),
  ] as const;

/**
 * INSTALL: IMPORT_OPCERT's checks, in its order, then UPLOAD's last one; one event, so no other
 * client can act between them. A refusal changes nothing (the staged key stays, with any opcert
 * it had).
 */
export const INSTALL_TRANSITIONS = [
  ...importOpcertChecks('install'),
  refuseIf('replacesUsableWithNotYetValid', 'install', 'OPCERT_NOT_YET_VALID'),
  ...becomeActive('install', ['attachOpcert', 'recordOpcert'] as const),
] as const;

/**
 * UPLOAD: expiry and counter are checked again (time has passed since the import). Last, whether
 * the upload would swap a key that signs now for one that cannot yet (unless forced).
 */
export const UPLOAD_TRANSITIONS = [
  refuseIf('noStagedKey', 'upload', 'NO_STAGED_KEY'),
  refuseIf('stagedHasNoOpcert', 'upload', 'NO_OPCERT'),
  refuseIf('candidateOpcertExpired', 'upload', 'OPCERT_EXPIRED'),
  refuseIf('candidateCounterTooLow', 'upload', 'OPCERT_COUNTER_TOO_LOW'),
  refuseIf('replacesUsableWithNotYetValid', 'upload', 'OPCERT_NOT_YET_VALID'),
  ...becomeActive('upload', [] as const),
] as const;
