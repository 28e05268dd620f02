/**
 * spec/protocol.md is executable: every worked example must encode to its hex byte for byte and
 * decode back to its JSON, and every message type the codec knows must have an example.
 */
import * as fs from 'node:fs';
import { loadSodium } from '../../src/crypto/sodium';
import { blake2b256, ed25519Verify } from '../../src/crypto/ed25519';
import { concatBytes, toHex, u64be } from '../../src/crypto/bytes';
import { encodeMessage, KES_SECRET_BYTES, MESSAGE_SCHEMAS, MESSAGE_TYPES } from '../../src/protocol';
import { encodedBytesRange } from '../../src/protocol/schema';
import { readVectorJson } from '../helpers/vectors';
import { SPEC_PATH, decodeOne, messageFromJson, messageToJson, readSpecExamples } from './spec-parse';

const examples = readSpecExamples();

beforeAll(async () => {
  await loadSodium();
});

test('the spec has exactly one worked example for every message type, and none for unknown types', () => {
  const types = examples.map((e) => e.type).sort();
  expect(types).toEqual([...MESSAGE_TYPES].sort());
});

test.each(examples.map((e) => ({ id: e.type, ...e })))('$id: encodeMessage(json) equals the hex', ({ json, frame }) => {
  expect(toHex(encodeMessage(messageFromJson(json)))).toBe(toHex(frame));
});

test.each(examples.map((e) => ({ id: e.type, ...e })))('$id: decoding the hex gives the json', ({ json, frame }) => {
  expect(messageToJson(decodeOne(frame))).toEqual(json);
});

test('every example block is paired and tagged with a known type', () => {
  const text = fs.readFileSync(SPEC_PATH, 'utf8');
  const tags = [...text.matchAll(/^```(hex|json) example=([a-z0-9_]+)/gm)].map((m) => `${m[1]}:${m[2]}`);
  expect(tags.length).toBe(2 * MESSAGE_TYPES.length);
  for (const t of MESSAGE_TYPES) {
    expect(tags).toContain(`hex:${t}`);
    expect(tags).toContain(`json:${t}`);
  }
});

test('the KEY example carries the public vector seed_00_1f at period 0 with a valid opcert for it', () => {
  const v = readVectorJson<{
    seed_00_1f: { vk_hex: string; sk_by_period: Record<string, string> };
    ocert_fixture: { cold_vk_hex: string };
  }>('kes-vectors.json');
  const key = examples.find((e) => e.type === 'key')!;
  const secretHex = toHex(key.frame.subarray(key.frame.length - KES_SECRET_BYTES));
  expect(secretHex).toBe(v.seed_00_1f.sk_by_period['0']);
  const msg = messageFromJson(key.json);
  if (msg.type !== 'key') throw new Error('not a key example');
  expect(toHex(msg.opcert.hotVk)).toBe(v.seed_00_1f.vk_hex);
  // Sum6 root vk = Blake2b-256 of the last 64 bytes of the sign key (docs/kes-construction.md §4.3, §4.4).
  expect(toHex(blake2b256(msg.secret.subarray(KES_SECRET_BYTES - 64)))).toBe(v.seed_00_1f.vk_hex);
  expect(toHex(msg.opcert.coldVk)).toBe(v.ocert_fixture.cold_vk_hex);
  const signable = concatBytes(msg.opcert.hotVk, u64be(msg.opcert.counter), u64be(msg.opcert.kesPeriod));
  expect(ed25519Verify(msg.opcert.coldVk, signable, msg.opcert.sigma)).toBe(true);
});

test('the IMPORT_OPCERT example is the cardano-cli fixture opcert', () => {
  const f = readVectorJson<{ ocert_fixture: { kes_vk_hex: string; counter: number; kes_period: number; sigma_hex: string; cold_vk_hex: string } }>(
    'kes-vectors.json',
  ).ocert_fixture;
  const ex = examples.find((e) => e.type === 'import_opcert')!;
  expect(ex.json['opcert']).toEqual({
    hotVk: f.kes_vk_hex,
    counter: f.counter,
    kesPeriod: f.kes_period,
    sigma: f.sigma_hex,
    coldVk: f.cold_vk_hex,
  });
});

test('the message kinds table (section 9) lists every kind with its name, socket, sender and payload size', () => {
  const text = fs.readFileSync(SPEC_PATH, 'utf8');
  const section = text.slice(text.indexOf('## 9. Message kinds'), text.indexOf('## 10. Limits'));
  const rows = [...section.matchAll(/^\| 0x([0-9a-f]{2}) \| `([A-Z0-9_]+)` \| (\w+)[^|]* \| (\w+) \| (\d+)(?:\.\.(\d+))? \|$/gm)];
  expect(rows.map((r) => r[2]).sort()).toEqual(MESSAGE_TYPES.map((t) => MESSAGE_SCHEMAS[t].wireName).sort());
  for (const [, kind, name, socket, sender, min, max] of rows) {
    const type = MESSAGE_TYPES.find((t) => MESSAGE_SCHEMAS[t].wireName === name)!;
    const schema = MESSAGE_SCHEMAS[type];
    const secret = schema.secret ? KES_SECRET_BYTES : 0;
    const body = encodedBytesRange(schema.body);
    expect({ name, kind: parseInt(kind!, 16), socket, sender, min: Number(min), max: Number(max ?? min) }).toEqual({
      name,
      kind: schema.kind,
      socket: schema.socket,
      sender: schema.from,
      min: 1 + body.min + secret,
      max: 1 + body.max + secret,
    });
  }
});
