import { hexDecodeInto, hexEncodeInto } from '../../src/cardano/hex-bytes';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('every byte value encodes to lowercase hex and decodes back (both cases)', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = new Uint8Array(512);
  hexEncodeInto(all, hex, 0);
  expect(Buffer.from(hex).toString('latin1')).toBe(Buffer.from(all).toString('hex'));
  for (const text of [Buffer.from(all).toString('hex'), Buffer.from(all).toString('hex').toUpperCase()]) {
    const back = new Uint8Array(256);
    expect(hexDecodeInto(ascii(text), 0, 512, back)).toBe(true);
    expect(back).toEqual(all);
  }
});

test('exactly 0-9, a-f, A-F are hex digits', () => {
  let accepted = '';
  for (let c = 0; c < 256; c++) {
    const d = new Uint8Array(1);
    if (hexDecodeInto(Uint8Array.of(c, 0x30), 0, 2, d)) accepted += String.fromCharCode(c);
  }
  expect(accepted).toBe('0123456789ABCDEFabcdef');
});

test('decodes a sub-range and encodes at an offset', () => {
  const dst = new Uint8Array(2);
  expect(hexDecodeInto(ascii('xx0aFFyy'), 2, 6, dst)).toBe(true);
  expect([...dst]).toEqual([0x0a, 0xff]);
  const out = ascii('[....]');
  hexEncodeInto(Uint8Array.of(0xbe, 0xef), out, 1);
  expect(Buffer.from(out).toString('latin1')).toBe('[beef]');
});

test('a bad digit anywhere is reported; bad ranges throw', () => {
  const dst = new Uint8Array(3);
  expect(hexDecodeInto(ascii('00000g'), 0, 6, dst)).toBe(false);
  expect(() => hexDecodeInto(ascii('000'), 0, 3, new Uint8Array(1))).toThrow(RangeError);
  expect(() => hexDecodeInto(ascii('0000'), 0, 4, new Uint8Array(1))).toThrow(RangeError);
  expect(() => hexEncodeInto(new Uint8Array(2), new Uint8Array(3), 0)).toThrow(RangeError);
});
