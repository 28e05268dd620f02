/**
 * The errno name (ENOENT, EACCES, ENOMEM, ...) a failed system call carries in `.code`: Node's
 * fs/net errors and the native addon's both put it there. Error messages name it so an operator
 * can look it up; the exception text itself never goes into a message.
 */

/** What errnoOf returns for an error that carries no errno name (not a system-call failure). */
export const UNKNOWN_ERRNO = 'unknown error';

export function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : UNKNOWN_ERRNO;
}
