/**
 * Shelley genesis files → ChainTiming (docs/kes-construction.md §7).
 *
 * Only four keys matter: systemStart, slotLength, slotsPerKESPeriod, maxKESEvolutions. A genesis
 * file says nothing about a Byron era, so a timing read from one assumes there was none:
 * shelleyStartSlot 0 at systemStart. That is right for preview and for private testnets, and WRONG
 * for mainnet and preprod, whose first Shelley slots came after 4492800 and 86400 Byron slots of
 * 20 s. Operators on mainnet/preprod must use the built-in presets (`networkTiming`), not the
 * genesis file; `byronPresetMatching` recognises those two files so the CLI can say so.
 *
 * Unlike the Haskell kes-agent (docs/kes-construction.md §7.4) we do read maxKESEvolutions: the ledger
 * rejects a header at `kp ≥ c0 + maxKESEvolutions` (62 on the public networks) although Sum6 could
 * go to 64.
 */
import * as path from 'node:path';
import { readFileBounded } from '../cardano/file-io';
import { KesError } from '../errors';
import { type ChainTiming, MAX_KES_EVOLUTIONS_LIMIT, MAX_KES_PERIOD_LENGTH_MS, makeChainTiming } from './chain-timing';

/** Real genesis files with large initialFunds run to a few MB; anything far bigger is not one. */
export const MAX_GENESIS_FILE_BYTES = 64 * 1024 * 1024;

/** Values echoed in error messages are cut so that a message stays one short line. */
const MAX_ECHOED_VALUE_CHARS = 40;

/** slotLength × 1000 within this of an integer counts as a whole number of ms (absorbs 0.1 × 1000 float noise). */
const SLOT_LENGTH_MS_TOLERANCE = 1e-6;

const MS_PER_SECOND = 1000;

/** The four keys we read, with what each must hold (used verbatim in error messages). */
const EXPECT = {
  systemStart: 'an ISO 8601 UTC date like "2022-10-25T00:00:00Z"',
  slotLength: 'a number of seconds > 0, a whole number of milliseconds (e.g. 1, 0.2)',
  slotsPerKESPeriod: 'a positive integer',
  maxKESEvolutions: `an integer 1..${MAX_KES_EVOLUTIONS_LIMIT}`,
} as const;

type Field = keyof typeof EXPECT;

/**
 * Parse the text of a Shelley genesis file. `label` names the file in errors (pass its path) and
 * gives the timing its name, `genesis:<basename>`.
 *
 * @throws KesError GENESIS_INVALID naming the file and the field
 */
export function parseGenesis(json: string, label: string): ChainTiming {
  return parseGenesisDoc(json, label).timing;
}

/** A Shelley genesis as far as we read it: its timing (no Byron era assumed) and its networkMagic. */
export interface GenesisContents {
  readonly timing: ChainTiming;
  /** `undefined` when the file has no integer networkMagic (it is not needed for the timing). */
  readonly networkMagic: number | undefined;
}

/**
 * Like parseGenesis, also returning networkMagic (which the timing does not need, so a missing
 * or odd one is no error here).
 *
 * @throws KesError GENESIS_INVALID naming the file and the field
 */
export function parseGenesisDoc(json: string, label: string): GenesisContents {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    // The parser's message quotes file content; the position is not worth a second line.
    throw new KesError('GENESIS_INVALID', `${label}: not JSON, expected a Shelley genesis JSON object`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new KesError('GENESIS_INVALID', `${label}: expected a JSON object at the top level, got ${describe(doc)}`);
  }
  const obj = doc as Record<string, unknown>;
  const field = (name: Field): unknown => {
    if (!Object.hasOwn(obj, name)) {
      throw new KesError('GENESIS_INVALID', `${label}: ${name}: missing, expected ${EXPECT[name]}`);
    }
    return obj[name];
  };
  const invalid = (name: Field, got: unknown, expected: string = EXPECT[name]): never => {
    throw new KesError('GENESIS_INVALID', `${label}: ${name}: expected ${expected}, got ${describe(got)}`);
  };

  const systemStart = field('systemStart');
  const systemStartMs = typeof systemStart === 'string' ? parseIsoUtcMs(systemStart) : undefined;
  if (systemStartMs === undefined) invalid('systemStart', systemStart);

  const slotLength = field('slotLength');
  if (typeof slotLength !== 'number' || !Number.isFinite(slotLength) || slotLength <= 0) invalid('slotLength', slotLength);
  const slotLengthMs = Math.round((slotLength as number) * MS_PER_SECOND);
  // Rounding a 1.5 ms slot to 2 ms would drift by a slot every few thousand slots; refuse instead.
  if (slotLengthMs < 1 || Math.abs((slotLength as number) * MS_PER_SECOND - slotLengthMs) > SLOT_LENGTH_MS_TOLERANCE) {
    invalid('slotLength', slotLength);
  }

  const slotsPerKESPeriod = field('slotsPerKESPeriod');
  if (typeof slotsPerKESPeriod !== 'number' || !Number.isSafeInteger(slotsPerKESPeriod) || slotsPerKESPeriod < 1) {
    invalid('slotsPerKESPeriod', slotsPerKESPeriod);
  }
  if (slotLengthMs * (slotsPerKESPeriod as number) > MAX_KES_PERIOD_LENGTH_MS) {
    invalid('slotsPerKESPeriod', slotsPerKESPeriod, `slotLength × slotsPerKESPeriod ≤ ${MAX_KES_PERIOD_LENGTH_MS / MS_PER_SECOND} s`);
  }

  const maxKESEvolutions = field('maxKESEvolutions');
  if (
    typeof maxKESEvolutions !== 'number' ||
    !Number.isSafeInteger(maxKESEvolutions) ||
    maxKESEvolutions < 1 ||
    maxKESEvolutions > MAX_KES_EVOLUTIONS_LIMIT
  ) {
    invalid('maxKESEvolutions', maxKESEvolutions);
  }

  const magic = obj['networkMagic'];
  const timing = makeChainTiming({
    name: `genesis:${path.basename(label)}`,
    systemStartMs: systemStartMs as number,
    // No Byron era can be seen from a Shelley genesis (see module comment).
    shelleyStartMs: systemStartMs as number,
    shelleyStartSlot: 0,
    slotLengthMs,
    slotsPerKESPeriod: slotsPerKESPeriod as number,
    maxKESEvolutions: maxKESEvolutions as number,
  });
  return { timing, networkMagic: typeof magic === 'number' && Number.isSafeInteger(magic) ? magic : undefined };
}

/**
 * Read and parse a Shelley genesis file.
 *
 * @throws KesError FILE_UNREADABLE / FILE_TOO_LARGE naming the file; GENESIS_INVALID naming the file and the field
 */
export function readGenesisFile(file: string): ChainTiming {
  return readGenesisDoc(file).timing;
}

/**
 * Read a Shelley genesis file: its timing and networkMagic.
 *
 * @throws KesError FILE_UNREADABLE / FILE_TOO_LARGE naming the file; GENESIS_INVALID naming the file and the field
 */
export function readGenesisDoc(file: string): GenesisContents {
  const bytes = readFileBounded(file, MAX_GENESIS_FILE_BYTES, 'a Shelley genesis file');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new KesError('GENESIS_INVALID', `${file}: not UTF-8 text, expected a Shelley genesis JSON object`);
  }
  return parseGenesisDoc(text, file);
}

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
const MIN_YEAR = 1970;

/**
 * Strict ISO 8601 with a zone (what aeson writes for UTCTime). Date.parse alone is too lenient:
 * it accepts "2022-02-30" (as March 2) and date-only strings.
 *
 * A fraction below 1 ms is rounded UP: a boundary computed late only delays an evolution by <1 ms,
 * while one computed early would erase an evolution the node might still need (forward security).
 */
export function parseIsoUtcMs(s: string): number | undefined {
  const m = ISO_UTC.exec(s);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss = '0', frac = '', z, sign, ohs, omis] = m;
  const y = Number(ys), mo = Number(mos), d = Number(ds), h = Number(hs), mi = Number(mis), sec = Number(ss);
  if (y < MIN_YEAR || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return undefined;
  const dayMs = Date.UTC(y, mo - 1, d);
  if (new Date(dayMs).getUTCDate() !== d) return undefined;
  let offsetMin = 0;
  if (z === undefined) {
    const oh = Number(ohs), om = Number(omis);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const fracMs = Number(frac.slice(0, 3).padEnd(3, '0')) + (/[1-9]/.test(frac.slice(3)) ? 1 : 0);
  const ms = dayMs + ((h * 60 + mi - offsetMin) * 60 + sec) * MS_PER_SECOND + fracMs;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = typeof v;
  }
  return s.length > MAX_ECHOED_VALUE_CHARS ? `${s.slice(0, MAX_ECHOED_VALUE_CHARS)}…` : s;
}
