/**
 * What would stop `kes-agent run` at start-up, checked without changing anything: no socket is
 * bound or removed, no directory created, no memory locked. `run` calls this before it starts,
 * and `check-config` calls the same function, so the two refuse the same things with the same
 * error (and so the same exit code and message).
 *
 * run still makes each check again where it acts (hardenProcess, listenUnix): things can change
 * between the two, and those are the checks that guard the key.
 */
import * as path from 'node:path';
import { checkProtectionPossible } from '../platform/hardening';
import { defaultSocketDir } from '../platform/socket-paths';
import { assertSocketParentSafe, assertSocketPathFits, checkDefaultSocketDir, inspectSocketPath } from './unix-listener';

export interface StartupPlan {
  /** `null`: no control socket. */
  readonly controlSocket: string | null;
  readonly serviceSocket: string;
  readonly allowUnlockedMemory: boolean;
}

/**
 * @throws KesError MEMORY_LOCK_FAILED / NATIVE_ADDON_MISSING (exit 11), SOCKET_PATH_TOO_LONG,
 * SOCKET_DIR_UNSAFE (missing or unsafe directory), SOCKET_IN_USE (a live agent, or something
 * that is not a socket, at the path): the first of these, in the order run would meet them.
 */
export async function checkStartup(plan: StartupPlan): Promise<void> {
  checkProtectionPossible({ allowUnlockedMemory: plan.allowUnlockedMemory });
  const defaultDir = defaultSocketDir();
  for (const socketPath of [plan.controlSocket, plan.serviceSocket]) {
    if (socketPath === null) continue;
    assertSocketPathFits(socketPath);
    // run creates the default directory when it is missing, so only an existing one is judged.
    if (path.dirname(socketPath) === defaultDir && checkDefaultSocketDir(defaultDir) === 'absent') continue;
    assertSocketParentSafe(socketPath);
    await inspectSocketPath(socketPath);
  }
}
