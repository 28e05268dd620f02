/**
 * Golden hex the Haskell codec tests share, written by hand from the protocol description and
 * the cardano-cli vectors; never produced by the code under test.
 */
import { z } from './pair';

// --- Version identifiers (docs/haskell-protocol.md §2) --------------------------------------
export const SV0 = '536572766963653a5374616e6461726443727970746f3a302e34000000000000';
export const SV1 = '536572766963653a312e30' + z(21);
export const SV2 = '536572766963653a322e30' + z(21);
export const CV0 = '436f6e74726f6c3a5374616e6461726443727970746f3a302e35000000000000';
export const CV1 = '436f6e74726f6c3a312e30' + z(21);
export const CV2 = '436f6e74726f6c3a322e30' + z(21);
export const CV3 = '436f6e74726f6c3a332e30' + z(21);

// --- cardano-cli vector opcert.cert: vk df22…, counter 7, period 1430 -------------------------
export const VK = 'df22d655d82015c61cb62c8138dfe7a27238a60c1e1cd5bb18ec71a5dd71f39f';
export const SIGMA = '412db8487ff22463b8c901b623d0bc62acd30ae7e19f6717e0b57e9b0759b51c0baddf0a6d002aa814d26db064d4c6e7fefc4c98fbd8ca325baaf685aceaf406';
/** The opcert as the Haskell wire has it: vk ‖ counter u64 ‖ period u64 ‖ sigma. */
export const OCERT_HEX = VK + '0000000000000007' + '0000000000000596' + SIGMA;
