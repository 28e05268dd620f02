import { decodeCbor, encodeCbor, expectArray, expectBytes, expectUint, type CborValue } from '../../src/cardano/cbor';
import { KesError } from '../../src/errors';
import { toHex } from '../../src/crypto/bytes';
import { hex, readVectorJson } from '../helpers/vectors';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof KesError) return e.code;
    throw e;
  }
  return undefined;
}

describe('canonical integer heads', () => {
  test.each([
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [1430, '190596'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [2 ** 32 - 1, '1affffffff'],
    [2 ** 32, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
  ])('%d <-> %s', (n, h) => {
    expect(toHex(encodeCbor(n))).toBe(h);
    expect(decodeCbor(hex(h))).toBe(n);
  });
});

test('byte strings and nested arrays round-trip, byte strings are views into the input', () => {
  const v: CborValue = [[new Uint8Array(32).fill(7), 7, 1430, new Uint8Array(64)], new Uint8Array(0)];
  const enc = encodeCbor(v);
  expect(toHex(enc).slice(0, 8)).toBe('82845820');
  const dec = decodeCbor(enc) as CborValue[];
  expect(encodeCbor(dec)).toEqual(enc);
  const bytes = (dec[0] as CborValue[])[0] as Uint8Array;
  expect(bytes.buffer).toBe(enc.buffer);
});

test('the fixture opcert and counter CBOR re-encode exactly', () => {
  const v = readVectorJson<{ ocert_fixture: { opcert_cbor_hex: string; counter_file_cbor_hex: string } }>('kes-vectors.json');
  for (const h of [v.ocert_fixture.opcert_cbor_hex, v.ocert_fixture.counter_file_cbor_hex]) {
    expect(toHex(encodeCbor(decodeCbor(hex(h))))).toBe(h);
  }
});

describe('decoder rejects everything outside the strict subset', () => {
  test.each([
    ['empty', '', 'CBOR_MALFORMED'],
    ['trailing byte', '0000', 'CBOR_MALFORMED'],
    ['non-canonical 1-byte head for 5', '1805', 'CBOR_MALFORMED'],
    ['non-canonical 2-byte head for 255', '1900ff', 'CBOR_MALFORMED'],
    ['non-canonical 4-byte head for 65535', '1a0000ffff', 'CBOR_MALFORMED'],
    ['non-canonical 8-byte head for 2^32-1', '1b00000000ffffffff', 'CBOR_MALFORMED'],
    ['non-canonical byte-string length', '580100', 'CBOR_MALFORMED'],
    ['non-canonical array length', '9801' + '00', 'CBOR_MALFORMED'],
    ['indefinite byte string', '5fff', 'CBOR_MALFORMED'],
    ['indefinite array', '9f00ff', 'CBOR_MALFORMED'],
    ['reserved additional info', '1c', 'CBOR_MALFORMED'],
    ['negative integer', '20', 'CBOR_MALFORMED'],
    ['text string', '6161', 'CBOR_MALFORMED'],
    ['map', 'a0', 'CBOR_MALFORMED'],
    ['tag', 'c000', 'CBOR_MALFORMED'],
    ['simple/float', 'f4', 'CBOR_MALFORMED'],
    ['truncated head', '19', 'CBOR_MALFORMED'],
    ['truncated byte string', '5820' + '00'.repeat(31), 'CBOR_MALFORMED'],
    ['truncated array', '8200', 'CBOR_MALFORMED'],
    ['absurd array length', '9bffffffffffffffff', 'OUT_OF_RANGE'],
    ['absurd byte-string length', '5a7fffffff', 'CBOR_MALFORMED'],
    ['integer 2^53', '1b0020000000000000', 'OUT_OF_RANGE'],
    ['integer 2^64-1', '1bffffffffffffffff', 'OUT_OF_RANGE'],
    ['too deep', '8181818181818100', 'CBOR_MALFORMED'],
  ])('%s', (_name, h, code) => {
    expect(codeOf(() => decodeCbor(hex(h), 'x'))).toBe(code);
  });

  test('errors name the input and the offset', () => {
    expect(() => decodeCbor(hex('820018'), 'opcert.cert')).toThrow(/^opcert\.cert: truncated: .*offset 3/);
    expect(() => decodeCbor(hex('0000'), 'f')).toThrow('f: 1 trailing byte(s) after the value at offset 1');
  });
});

describe('encoder refuses values it cannot represent exactly', () => {
  test.each([[-1], [1.5], [NaN], [Number.MAX_SAFE_INTEGER + 1], [Infinity]])('%p', (n) => {
    expect(codeOf(() => encodeCbor(n))).toBe('OUT_OF_RANGE');
  });
  test.each([['string'], [null], [{}], [10n]])('%p', (v) => {
    expect(codeOf(() => encodeCbor(v as unknown as CborValue))).toBe('INVALID_ARGUMENT');
  });
});

test('shape helpers name the field and what they got', () => {
  expect(() => expectArray(5, 2, 'opcert')).toThrow('opcert: expected an array of 2, got an integer');
  expect(() => expectBytes(new Uint8Array(31), 32, 'vk')).toThrow('vk: expected a byte string of 32 bytes, got a byte string of 31 bytes');
  expect(() => expectUint([], 'counter')).toThrow('counter: expected an unsigned integer, got an array of 0');
  expect(codeOf(() => expectUint(new Uint8Array(1), 'c'))).toBe('CBOR_MALFORMED');
});

describe('error messages never carry values read from the input (it may be a damaged secret key file)', () => {
  // Each input starts with a head whose argument is made of "key bytes" 20 a1 b2 c3 d4 e5 f6 07.
  const KEY_BYTES = '20a1b2c3d4e5f607';
  test.each([
    ['a u64 integer above 2^53-1', `1b${KEY_BYTES}`],
    ['a byte string whose u64 length runs past the end', `5b00${KEY_BYTES.slice(2)}`],
    ['a byte string whose u32 length runs past the end', `5a${KEY_BYTES.slice(0, 8)}`],
    ['an unsupported major type', `f7${KEY_BYTES}`],
  ])('%s', (_name, input) => {
    let message = '';
    try {
      decodeCbor(hex(input), 'cold.skey: cborHex');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^cold\.skey: cborHex: /);
    const argument = input.slice(2);
    // Neither the argument's value in decimal nor any 2-byte run of it in hex.
    for (const n of [BigInt(`0x${argument}`), BigInt(`0x${argument.slice(0, 8)}`)]) expect(message).not.toContain(n.toString());
    for (let i = 0; i + 4 <= argument.length; i += 2) expect(message.toLowerCase()).not.toContain(argument.slice(i, i + 4));
  });
});
