import { loadSodium, sodium } from '../src/crypto/sodium';
import { toHex } from '../src/crypto/bytes';

// Blake2b-256 is crypto_generichash(32), not truncated Blake2b-512 (docs/kes-construction.md §2 KAT).
test('libsodium loads and Blake2b-256("") matches the spec KAT', async () => {
  await loadSodium();
  expect(toHex(sodium().crypto_generichash(32, new Uint8Array(0), null))).toBe(
    '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
  );
});
