/**
 * `kes-cold issue-opcert`: the same operation as `cardano-cli node issue-op-cert`
 * (docs/kes-construction.md §5.4), producing byte-identical files.
 */
import { Command, Option } from 'clipanion';
import { integerIn } from '../common/integer-option';
import { KesError } from '../../errors';
import { readColdSigningKeyFile, coldKeyMatches } from '../../cardano/cold-key';
import { readCounterFile, writeCounterFile } from '../../cardano/counter';
import { readKesVerificationKeyFile } from '../../cardano/kes-key-files';
import { issueOpcert, writeOpcertFile, MAX_OPCERT_INTEGER } from '../../cardano/opcert';
import type { WriteOutcome } from '../../cardano/file-io';
import { toHex } from '../../crypto/bytes';
import { loadSodium } from '../../crypto/sodium';
import { EXIT } from '../exit-codes';
import { KesCommand } from '../common/base-command';
import { checkOutputFile, describeWrite, overwriteOption, requireDistinctPaths } from '../common/files';

export class IssueOpcertCommand extends KesCommand {
  static override paths = [['issue-opcert']];
  static override usage = Command.Usage({
    description: 'Issue an operational certificate for a KES verification key',
    details: `
      Signs the KES verification key, the counter's next issue number and the start KES period
      with the cold signing key, writes the certificate, then advances the counter file by one.
      Same semantics and byte-identical output as \`cardano-cli node issue-op-cert\`.

      The counter must belong to the same cold key. The certificate is written first: if that
      fails the counter is left as it was. An existing --out file is replaced only with
      --overwrite (one that already holds this exact certificate is left unchanged); a symbolic
      link at --out or --counter is refused before anything is signed. Use \`kes-cold period\`
      for the current KES period.
    `,
    examples: [
      [
        'Issue opcert.cert starting at KES period 1430',
        '$0 issue-opcert --kes-vkey kes.vkey --cold-skey cold.skey --counter opcert.counter --kes-period 1430 --out opcert.cert',
      ],
    ],
  });

  kesVkey = Option.String('--kes-vkey', { required: true, description: 'KES verification key file' });
  coldSkey = Option.String('--cold-skey', { required: true, description: 'Cold signing key file' });
  counter = Option.String('--counter', { required: true, description: 'Opcert issue counter file (advanced by one)' });
  kesPeriod = Option.String('--kes-period', {
    required: true,
    description: 'First KES period of the certificate',
    validator: integerIn('--kes-period', 0, MAX_OPCERT_INTEGER),
  });
  out = Option.String('--out', { required: true, description: 'Output: the operational certificate file' });
  overwrite = overwriteOption();

  async execute(): Promise<number> {
    requireDistinctPaths({
      '--kes-vkey': this.kesVkey,
      '--cold-skey': this.coldSkey,
      '--counter': this.counter,
      '--out': this.out,
    });
    // Before anything is signed: a refused output must not cost an issue number.
    checkOutputFile(this.out, { overwrite: this.overwrite, mayBeUnchanged: true });
    // The counter is rewritten in place by design; only a link or a non-file there is refused.
    checkOutputFile(this.counter, { overwrite: true, mayBeUnchanged: true });
    await loadSodium();
    const hotVk = readKesVerificationKeyFile(this.kesVkey);
    const counter = readCounterFile(this.counter);
    if (counter.next >= MAX_OPCERT_INTEGER) {
      throw new KesError('OUT_OF_RANGE', `${this.counter}: issue number ${counter.next} cannot be advanced`);
    }
    const key = readColdSigningKeyFile(this.coldSkey);
    let next: number;
    let written: WriteOutcome;
    try {
      if (!coldKeyMatches(key, counter.coldVk)) {
        throw new KesError(
          'COUNTER_WRONG_COLD_KEY',
          `${this.counter}: belongs to cold vk ${toHex(counter.coldVk)}, but ${this.coldSkey} is the key of ${toHex(key.verificationKey)}`,
        );
      }
      const opcert = issueOpcert({ hotVk, counter: counter.next, kesPeriod: this.kesPeriod, coldSeed: key.seed });
      // Opcert first: a failed write must not consume an issue number.
      written = writeOpcertFile(this.out, opcert, { overwrite: this.overwrite });
      next = counter.next + 1;
      writeCounterFile(this.counter, { next, coldVk: counter.coldVk }, { overwrite: true });
    } finally {
      key.destroy();
    }
    this.print(
      [
        `${describeWrite(this.out, written, 'certificate')} (counter ${counter.next}, KES period ${this.kesPeriod}, KES vk ${toHex(hotVk)})`,
        `${this.counter}: next certificate issue number is now ${next}`,
      ].join('\n'),
    );
    return EXIT.OK;
  }
}
