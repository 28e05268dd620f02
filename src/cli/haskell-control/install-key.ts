/** `kes-agent-control install-key --opcert-file FILE`: install the staged key with its opcert. */
import { Command, Option, UsageError } from 'clipanion';
import { readOpcertFile, verifyOpcert } from '../../cardano';
import { loadSodium } from '../../crypto/sodium';
import { KesError } from '../../errors';
import { readAgentInfo, readControlRecvResult, type DecodedAgentInfo } from '../../protocol/haskell';
import { HS_EXIT, REASON_TEXT, exitForRecvResult } from './exit-codes';
import { HsControlCommand } from './options';

export class InstallKeyCommand extends HsControlCommand {
  static override paths = [['install-key']];
  static override usage = Command.Usage({
    description: 'Install the staged KES key with its operational certificate',
    details: `
      Reads --opcert-file (a cardano-cli NodeOperationalCertificate text envelope; required:
      the Haskell tool silently defaults to kes.vkey), checks that its signature verifies under
      the cold key it names (a broken file is refused before the agent sees it, so the staged key
      is kept), and sends it to the agent, which installs the staged key with it and pushes it to
      the block producers.

      Prints "KES key installed." (exit 0), or "Error: <reason>" with the Haskell tool's exit
      codes: 1 KES key outdated, 2 OpCert validation failed, 3 No KES key found (nothing staged),
      4 Operation not supported, 5 unknown error. When the opcert starts after the agent's
      current KES period while its installed key can sign now (kes-agent refuses to replace a
      working key with one nodes cannot use yet), a second line says so, naming both periods.
    `,
    examples: [['Install', '$0 install-key --opcert-file node.cert']],
  });

  opcertFile = Option.String('--opcert-file', { description: 'The opcert (cardano-cli NodeOperationalCertificate envelope); required' });

  async execute(): Promise<number> {
    this.checkCommonOptions();
    if (this.opcertFile === undefined || this.opcertFile === '') {
      throw new UsageError('--opcert-file: expected FILE, the cardano-cli NodeOperationalCertificate to install, got nothing (it has no default)');
    }
    const file = this.opcertFile;
    const opcert = readOpcertFile(file);
    await loadSodium();
    if (!verifyOpcert(opcert)) {
      throw new KesError(
        'OPCERT_BAD_SIGNATURE',
        `${file}: the opcert's signature does not verify under the cold key in the file; nothing was sent to the agent, so its staged key is kept`,
      );
    }
    const ocert = { hotVk: opcert.hotVk, counter: opcert.counter, kesPeriod: opcert.kesPeriod, sigma: opcert.sigma };
    const result = await this.withSession((s) => s.request({ cmd: 'InstallKeyCmd', ocert }, 'install-key', (r) => readControlRecvResult(r)));
    if (result === 'RecvOK') {
      this.print('KES key installed.');
      return HS_EXIT.OK;
    }
    this.print(`Error: ${REASON_TEXT[result]}`);
    if (result === 'RecvErrorInvalidOpCert') {
      const hint = await this.notYetValidHint(opcert.kesPeriod);
      if (hint !== undefined) this.print(hint);
    }
    return exitForRecvResult(result);
  }

  /**
   * The answer is a bare code; the agent's state (one more session: the protocol has one
   * command per VersionMessage) tells whether a later start period was the reason. Best effort:
   * if the agent cannot be asked, the Haskell tool's line stands alone.
   */
  async notYetValidHint(startKesPeriod: number): Promise<string | undefined> {
    try {
      const info = await this.withSession((s) => s.request({ cmd: 'RequestInfoCmd' }, 'info', (r) => readAgentInfo(r, s.version)));
      return notYetValidHint(startKesPeriod, info);
    } catch {
      return undefined;
    }
  }
}

/**
 * Why an opcert that verifies was refused, when the agent's state shows it: the opcert starts
 * after the agent's current KES period while its installed key already signs. kes-agent refuses
 * that install (spec/protocol.md §12) so that nodes keep a working key.
 */
export function notYetValidHint(startKesPeriod: number, info: DecodedAgentInfo): string | undefined {
  const installed = info.installed?.bundle;
  const kp = info.currentKesPeriod;
  if (installed === undefined || BigInt(startKesPeriod) <= kp || installed.startKesPeriod > kp) return undefined;
  return (
    `The opcert starts at KES period ${startKesPeriod}, after the agent's current KES period ${kp}, while the installed key ` +
    `(opcert counter ${installed.ocertCounter}, start period ${installed.startKesPeriod}) can sign now: the agent keeps the working key. ` +
    `Install at period ${startKesPeriod}, or replace it anyway with kes-ctl upload --force.`
  );
}
