/**
 * Where secret bytes live.
 *
 * Every long-lived buffer that holds key material is allocated here and released here, so the
 * storage policy (plain ArrayBuffer today; locked, no-dump memory from a native addon later)
 * changes in one place. `releaseSecret` wipes before letting go.
 */
export function allocSecret(length: number): Uint8Array {
  return new Uint8Array(length);
}

export function releaseSecret(buffer: Uint8Array | undefined): void {
  if (buffer) buffer.fill(0);
}
