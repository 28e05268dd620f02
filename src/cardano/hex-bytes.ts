/**
 * Hex <-> bytes without ever making a JS string, for the cborHex of secret key files.
 *
 * Both directions are branch-free on the data (the libsodium sodium_hex2bin / sodium_bin2hex
 * technique), so neither timing nor the string heap learns the secret. Whether the input is
 * valid hex is not secret: it is reported once, after the whole range is processed.
 */

/** ASCII code of a lowercase hex digit for a nibble 0..15, without a table lookup. */
function nibbleToAscii(n: number): number {
  // ((n - 10) >> 8) is -1 iff n < 10: then 87 + n - 39 = '0' + n, else 87 + n = 'a' + n - 10.
  return 87 + n + (((n - 10) >> 8) & ~38);
}

/**
 * Write lowercase hex of `src` into `dst` at `offset` (2 bytes per input byte).
 * Used to build secret envelope files directly in a wipeable buffer.
 */
export function hexEncodeInto(src: Uint8Array, dst: Uint8Array, offset: number): void {
  if (offset < 0 || offset + 2 * src.length > dst.length) throw new RangeError('hexEncodeInto: destination too small');
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    dst[offset + 2 * i] = nibbleToAscii(b >> 4);
    dst[offset + 2 * i + 1] = nibbleToAscii(b & 15);
  }
}

/**
 * Decode the hex digits `src[start..end)` into `dst` (which must be exactly (end-start)/2 long).
 * Accepts upper and lower case. Returns false (after touching every byte) if any character is
 * not a hex digit; `dst` then holds garbage that the caller wipes.
 */
export function hexDecodeInto(src: Uint8Array, start: number, end: number, dst: Uint8Array): boolean {
  if ((end - start) % 2 !== 0 || dst.length !== (end - start) / 2 || start < 0 || end > src.length) {
    throw new RangeError('hexDecodeInto: bad range');
  }
  let bad = 0;
  for (let i = 0; i < dst.length; i++) {
    const hi = hexValue(src[start + 2 * i]!);
    const lo = hexValue(src[start + 2 * i + 1]!);
    bad |= (hi | lo) & 0x100;
    dst[i] = ((hi << 4) | lo) & 0xff;
  }
  return bad === 0;
}

/** 0..15 for a hex digit; bit 0x100 set for anything else. */
function hexValue(c: number): number {
  const num = c ^ 48; // '0'..'9' -> 0..9
  const numOk = ((num - 10) >> 8) & 0xff; // 0xff iff num < 10
  const alpha = ((c & ~32) - 55) & 0xff; // 'A'..'F' and 'a'..'f' -> 10..15
  const alphaOk = (((alpha - 10) ^ (alpha - 16)) >> 8) & 0xff; // 0xff iff 10 <= alpha < 16
  const bad = (((numOk | alphaOk) - 1) >> 8) & 0x100; // 0x100 iff neither matched
  return (numOk & num) | (alphaOk & alpha) | bad;
}
