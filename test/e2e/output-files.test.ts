/**
 * Every command that writes a file, through the built binaries on real files: an existing file
 * with other content is refused unless --overwrite, a file that already holds the exact bytes is
 * left unchanged (exit 0, said so), and a symbolic link at the output path is refused even with
 * --overwrite (its target untouched). A refusal loses nothing: keygen's staged key stays staged,
 * issue-opcert's counter does not move.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes';
import { readCounterFile } from '../../src/cardano';
import { cold, ctl, ctlJson, makeAgentEnv, startAgent, stopAgentEnv, type AgentEnv } from '../helpers/agent-env';
import { BIN, run, type RunResult } from '../helpers/processes';

const CONTROL_BIN = path.join(path.dirname(BIN.ctl), 'kes-agent-control.js');
/** kes-agent-control's exit code for bad input (src/cli/haskell-control/exit-codes.ts). */
const HS_BAD_INPUT = 21;

let e: AgentEnv;
let precious: string;
let preciousText: string;

beforeAll(async () => {
  e = await makeAgentEnv({ timingArgs: ['--network', 'preview'] });
  await startAgent(e);
  // The files an operator must never lose: the pool's cold keys.
  precious = e.coldSkey;
  preciousText = fs.readFileSync(precious, 'utf8');
});
afterAll(async () => stopAgentEnv(e));

const hsctl = (...args: string[]): Promise<RunResult> => run(CONTROL_BIN, [...args, '-c', e.controlSocket], { env: e.env });
const stagedVk = async (): Promise<string> => (await ctlJson<{ kesVkey: string }>(e, 'export-verkey')).kesVkey;
const oneErrorLine = (r: RunResult): string => {
  expect(r.stderr.split('\n')).toHaveLength(2);
  return r.stderr.trimEnd();
};

/** A symbolic link in the env's dir to `target`; returns the link's path. */
function linkTo(target: string, name: string): string {
  const link = path.join(e.dir, name);
  fs.rmSync(link, { force: true });
  fs.symlinkSync(target, link);
  return link;
}

function expectPreciousIntact(): void {
  expect(fs.readFileSync(precious, 'utf8')).toBe(preciousText);
  expect(fs.lstatSync(precious).isFile()).toBe(true);
}

describe('kes-ctl keygen --out', () => {
  test('an existing file is refused before the key is staged, even with --force: the staged key and the file stay', async () => {
    const first = await ctlJson<{ kesVkey: string }>(e, 'keygen', '--force');
    for (const args of [['--out', precious], ['--force', '--out', precious]]) {
      const r = await ctl(e, 'keygen', ...args);
      expect(r.code).toBe(EXIT.BAD_INPUT);
      expect(oneErrorLine(r)).toBe(`kes-ctl: error: ${precious}: already exists; refusing to replace it (pass --overwrite to replace it) [FILE_EXISTS]`);
      expect(await stagedVk()).toBe(first.kesVkey);
      expectPreciousIntact();
    }
  });

  test('a symbolic link is refused even with --overwrite; neither the link, its target nor the staged key change', async () => {
    const staged = await stagedVk();
    const link = linkTo(precious, 'kes-link.vkey');
    const r = await ctl(e, 'keygen', '--force', '--overwrite', '--out', link);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(oneErrorLine(r)).toMatch(new RegExp(`^kes-ctl: error: ${link}: is a symbolic link; refusing to write through it or replace it, with or without --overwrite .*\\[FILE_IS_SYMLINK\\]$`));
    expect(fs.readlinkSync(link)).toBe(precious);
    expect(await stagedVk()).toBe(staged);
    expectPreciousIntact();
  });

  test('--overwrite replaces an existing file (atomically, a regular file with mode 0644) and says so', async () => {
    const out = path.join(e.dir, 'replace-me.vkey');
    fs.writeFileSync(out, 'old', { mode: 0o600 });
    const r = await ctl(e, 'keygen', '--force', '--overwrite', '--out', out);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain(`verification key written to ${out} (replaced the previous file)`);
    const vk = await ctlJson<{ kesVkey: string }>(e, 'export-verkey', '--out', out);
    expect(vk).toMatchObject({ out, outWritten: 'unchanged' });
    expect(fs.statSync(out).mode & 0o777).toBe(0o644);
  });
});

describe('kes-ctl export-verkey --out', () => {
  test('another file is refused without --overwrite; the same content is left unchanged (exit 0, said so); --overwrite replaces', async () => {
    const r = await ctl(e, 'export-verkey', '--out', precious);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(oneErrorLine(r)).toBe(`kes-ctl: error: ${precious}: already exists with other content; refusing to replace it (pass --overwrite to replace it) [FILE_EXISTS]`);
    expectPreciousIntact();

    const out = path.join(e.dir, 'exported.vkey');
    fs.rmSync(out, { force: true });
    expect((await ctl(e, 'export-verkey', '--out', out)).code).toBe(EXIT.OK);
    const written = fs.readFileSync(out, 'utf8');
    const again = await ctl(e, 'export-verkey', '--out', out);
    expect(again.code).toBe(EXIT.OK);
    expect(again.stdout).toBe(`${out} unchanged: it already held exactly this verification key (${await stagedVk()})\n`);
    expect(fs.readFileSync(out, 'utf8')).toBe(written);

    fs.writeFileSync(out, 'stale');
    expect((await ctl(e, 'export-verkey', '--out', out)).code).toBe(EXIT.BAD_INPUT);
    expect(fs.readFileSync(out, 'utf8')).toBe('stale');
    const replaced = await ctl(e, 'export-verkey', '--out', out, '--overwrite');
    expect(replaced.code).toBe(EXIT.OK);
    expect(replaced.stdout).toContain('(replaced the previous file)');
    expect(fs.readFileSync(out, 'utf8')).toBe(written);
  });

  test('a symbolic link is refused with --overwrite too, even one whose target holds the same key', async () => {
    const real = path.join(e.dir, 'real.vkey');
    fs.rmSync(real, { force: true });
    expect((await ctl(e, 'export-verkey', '--out', real)).code).toBe(EXIT.OK);
    for (const target of [precious, real]) {
      const link = linkTo(target, 'export-link.vkey');
      const r = await ctl(e, 'export-verkey', '--overwrite', '--out', link);
      expect(r.code).toBe(EXIT.BAD_INPUT);
      expect(r.stderr).toContain('[FILE_IS_SYMLINK]');
      expect(fs.readlinkSync(link)).toBe(target);
    }
    expectPreciousIntact();
  });
});

describe('kes-agent-control gen-staged-key and export-staged-vkey', () => {
  test('gen-staged-key: an existing file is refused before the agent is asked (exit 21), so the staged key stays', async () => {
    const staged = await stagedVk();
    const r = await hsctl('gen-staged-key', '--kes-verification-key-file', precious);
    expect(r.code).toBe(HS_BAD_INPUT);
    expect(oneErrorLine(r)).toBe(`kes-agent-control: error: ${precious}: already exists; refusing to replace it (pass --overwrite to replace it) [FILE_EXISTS]`);
    expect(r.stdout).toBe('');
    expect(await stagedVk()).toBe(staged);
    expectPreciousIntact();

    const link = linkTo(precious, 'hs-link.vkey');
    const viaLink = await hsctl('gen-staged-key', '--overwrite', '--kes-verification-key-file', link);
    expect(viaLink.code).toBe(HS_BAD_INPUT);
    expect(viaLink.stderr).toContain('[FILE_IS_SYMLINK]');
    expect(await stagedVk()).toBe(staged);
    expectPreciousIntact();
  });

  test('export-staged-vkey: other content refused, the same content unchanged, --overwrite replaces, a link refused', async () => {
    const refused = await hsctl('export-staged-vkey', '--kes-verification-key-file', precious);
    expect(refused.code).toBe(HS_BAD_INPUT);
    expect(refused.stderr).toContain('[FILE_EXISTS]');
    expectPreciousIntact();

    const out = path.join(e.dir, 'hs-export.vkey');
    fs.rmSync(out, { force: true });
    expect(await hsctl('export-staged-vkey', '--kes-verification-key-file', out)).toMatchObject({ code: 0, stdout: `KES VerKey written to ${out}\n` });
    expect(await hsctl('export-staged-vkey', '--kes-verification-key-file', out)).toMatchObject({ code: 0, stdout: `KES VerKey in ${out} unchanged (it already held this key)\n` });
    fs.writeFileSync(out, 'stale');
    expect((await hsctl('export-staged-vkey', '--kes-verification-key-file', out)).code).toBe(HS_BAD_INPUT);
    expect(await hsctl('export-staged-vkey', '--overwrite', '--kes-verification-key-file', out)).toMatchObject({ code: 0, stdout: `KES VerKey written to ${out}\n` });
    expect(fs.readFileSync(out, 'utf8')).toContain('KesVerificationKey_ed25519_kes_2^6');

    const link = linkTo(out, 'hs-export-link.vkey');
    const viaLink = await hsctl('export-staged-vkey', '--overwrite', '--kes-verification-key-file', link);
    expect(viaLink.code).toBe(HS_BAD_INPUT);
    expect(viaLink.stderr).toContain('[FILE_IS_SYMLINK]');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  });
});

describe('kes-cold', () => {
  test('keygen: a symbolic link at any output is refused with --overwrite too; nothing is written', async () => {
    const dir = path.join(e.dir, 'cold2');
    fs.mkdirSync(dir);
    const f = (x: string): string => path.join(dir, x);
    fs.symlinkSync(precious, f('cold.skey'));
    const r = await cold(e, 'keygen', '--cold-vkey', f('cold.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('c'), '--overwrite');
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(oneErrorLine(r)).toMatch(/^kes-cold: error: .*cold\.skey: is a symbolic link; .*\[FILE_IS_SYMLINK\]$/);
    expect(fs.readdirSync(dir)).toEqual(['cold.skey']);
    expectPreciousIntact();
  });

  test('keygen: an existing file is refused and nothing is written; --overwrite (or its older name --force) replaces all three', async () => {
    const dir = path.join(e.dir, 'cold3');
    fs.mkdirSync(dir);
    const f = (x: string): string => path.join(dir, x);
    fs.writeFileSync(f('cold.vkey'), 'keep me');
    const args = ['keygen', '--cold-vkey', f('cold.vkey'), '--cold-skey', f('cold.skey'), '--counter', f('c')];
    const r = await cold(e, ...args);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(oneErrorLine(r)).toBe(`kes-cold: error: ${f('cold.vkey')}: already exists; refusing to replace it (pass --overwrite to replace it) [FILE_EXISTS]`);
    expect(fs.readdirSync(dir)).toEqual(['cold.vkey']);
    expect(fs.readFileSync(f('cold.vkey'), 'utf8')).toBe('keep me');
    for (const flag of ['--overwrite', '--force']) {
      expect((await cold(e, ...args, flag)).code).toBe(EXIT.OK);
      expect(fs.readFileSync(f('cold.vkey'), 'utf8')).toContain('StakePoolVerificationKey_ed25519');
      expect(fs.statSync(f('cold.skey')).mode & 0o777).toBe(0o600);
    }
  });

  test('issue-opcert: an existing --out is refused before signing (the counter does not move); the same certificate is left unchanged; links at --out or --counter are refused', async () => {
    const vkey = path.join(e.dir, 'for-opcert.vkey');
    fs.rmSync(vkey, { force: true });
    expect((await ctl(e, 'export-verkey', '--out', vkey)).code).toBe(EXIT.OK);
    const opcert = path.join(e.dir, 'issued.opcert');
    fs.rmSync(opcert, { force: true });
    const issue = (...extra: string[]): Promise<RunResult> =>
      cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, '--kes-period=5', '--out', opcert, ...extra);
    const counterBefore = fs.readFileSync(e.counter, 'utf8');
    const next = readCounterFile(e.counter).next;
    expect((await issue()).code).toBe(EXIT.OK);
    expect(readCounterFile(e.counter).next).toBe(next + 1);
    const cert = fs.readFileSync(opcert, 'utf8');

    // Another certificate at --out: refused, and no issue number is spent.
    const counterAfter = fs.readFileSync(e.counter, 'utf8');
    const refused = await issue();
    expect(refused.code).toBe(EXIT.BAD_INPUT);
    expect(oneErrorLine(refused)).toBe(`kes-cold: error: ${opcert}: already exists with other content; refusing to replace it (pass --overwrite to replace it) [FILE_EXISTS]`);
    expect(fs.readFileSync(e.counter, 'utf8')).toBe(counterAfter);
    expect(fs.readFileSync(opcert, 'utf8')).toBe(cert);

    // The counter rolled back to where it was: Ed25519 is deterministic, so the same bytes.
    fs.writeFileSync(e.counter, counterBefore);
    const same = await issue();
    expect(same.code).toBe(EXIT.OK);
    expect(same.stdout).toContain(`${opcert} unchanged: it already held exactly this certificate`);
    expect(readCounterFile(e.counter).next).toBe(next + 1);

    const link = linkTo(opcert, 'issued-link.opcert');
    const viaLink = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', e.counter, '--kes-period=6', '--out', link, '--overwrite');
    expect(viaLink.code).toBe(EXIT.BAD_INPUT);
    expect(viaLink.stderr).toContain('[FILE_IS_SYMLINK]');
    expect(readCounterFile(e.counter).next).toBe(next + 1);

    const counterLink = linkTo(e.counter, 'counter-link');
    const other = path.join(e.dir, 'other.opcert');
    const viaCounterLink = await cold(e, 'issue-opcert', '--kes-vkey', vkey, '--cold-skey', e.coldSkey, '--counter', counterLink, '--kes-period=6', '--out', other);
    expect(viaCounterLink.code).toBe(EXIT.BAD_INPUT);
    expect(viaCounterLink.stderr).toMatch(/counter-link: is a symbolic link; .*\[FILE_IS_SYMLINK\]/);
    expect(fs.existsSync(other)).toBe(false);
    expect(readCounterFile(e.counter).next).toBe(next + 1);
  });
});
