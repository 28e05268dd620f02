/** `kes-cold keygen`: a new stake-pool cold key pair and its opcert issue counter (at 0). */
import * as fs from 'node:fs';
import { Command, Option } from 'clipanion';
import { ColdSigningKey, writeColdSigningKeyFile, writeColdVerificationKeyFile } from '../../cardano/cold-key';
import { counterDescription, writeCounterFile } from '../../cardano/counter';
import { toHex } from '../../crypto/bytes';
import { loadSodium } from '../../crypto/sodium';
import { EXIT } from '../exit-codes';
import { KesCommand } from '../common/base-command';
import { OVERWRITE_FLAG, checkOutputFile, overwriteOption, requireDistinctPaths } from '../common/files';

export class KeygenCommand extends KesCommand {
  static override paths = [['keygen']];
  static override usage = Command.Usage({
    description: 'Generate a stake-pool cold key pair and its opcert issue counter',
    details: `
      Writes the cold signing key (mode 0600), the cold verification key and an issue counter
      starting at 0, in the same formats as \`cardano-cli node key-gen\`. The key comes from
      libsodium's CSPRNG.

      An existing file is never replaced unless --overwrite is given (--force is an older name
      for it, kept for existing scripts), and a symbolic link at an output path is always
      refused. Keep the signing key offline: it is only needed to issue operational
      certificates.
    `,
    examples: [
      ['Create cold.vkey, cold.skey and opcert.counter', '$0 keygen --cold-vkey cold.vkey --cold-skey cold.skey --counter opcert.counter'],
    ],
  });

  coldVkey = Option.String('--cold-vkey', { required: true, description: 'Output: cold verification key file' });
  coldSkey = Option.String('--cold-skey', { required: true, description: 'Output: cold signing key file (secret, mode 0600)' });
  counter = Option.String('--counter', { required: true, description: 'Output: opcert issue counter file' });
  overwrite = overwriteOption(`${OVERWRITE_FLAG},--force`);

  async execute(): Promise<number> {
    requireDistinctPaths({ '--cold-vkey': this.coldVkey, '--cold-skey': this.coldSkey, '--counter': this.counter });
    // A fresh key: no existing file can already hold it, so any file there is refused up front.
    for (const f of [this.coldSkey, this.coldVkey, this.counter]) checkOutputFile(f, { overwrite: this.overwrite, mayBeUnchanged: false });
    await loadSodium();
    const key = ColdSigningKey.generate();
    const written: string[] = [];
    try {
      const opts = { overwrite: this.overwrite };
      writeColdSigningKeyFile(this.coldSkey, key, opts);
      written.push(this.coldSkey);
      writeColdVerificationKeyFile(this.coldVkey, key.verificationKey, opts);
      written.push(this.coldVkey);
      writeCounterFile(this.counter, { next: 0, coldVk: key.verificationKey }, opts);
      written.push(this.counter);
    } catch (e) {
      // Half a key set is worse than none: remove what this run wrote, then report.
      for (const f of written) fs.rmSync(f, { force: true });
      throw e;
    } finally {
      key.destroy();
    }
    this.print(
      [
        `cold signing key:      ${this.coldSkey} (secret: keep it offline)`,
        `cold verification key: ${this.coldVkey}`,
        `issue counter:         ${this.counter} (${counterDescription(0)})`,
        `cold vk:               ${toHex(key.verificationKey)}`,
      ].join('\n'),
    );
    return EXIT.OK;
  }
}
