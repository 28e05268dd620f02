/** `kes-node sign`: sign a file with the agent's key at the current KES period, as a node would. */
import { Command, Option } from 'clipanion';
import { integerIn } from '../common/integer-option';
import { readFileBounded } from '../../cardano/file-io';
import { toHex } from '../../crypto/bytes';
import { KesError, isKesError, type ErrorCode } from '../../errors';
import { EXIT } from '../exit-codes';
import type { MismatchCode } from '../../client/node-client';
import { DEFAULT_NETWORK } from '../../time';
import { NodeCommand } from './node-command';

/** Default bound on the wait for a usable key. @default 10000 */
export const DEFAULT_SIGN_TIMEOUT_MS = 10_000;
/** Longest --timeout accepted. @default 3600000 */
export const MAX_SIGN_TIMEOUT_MS = 3_600_000;
/** A block header body is about 1 KB; this is plenty for any test message. @default 1048576 */
export const MAX_SIGN_MESSAGE_BYTES = 1024 * 1024;

export class SignCommand extends NodeCommand {
  static override paths = [['sign']];
  static override usage = Command.Usage({
    description: 'Sign a file with the agent\'s key at the current KES period',
    details: `
      Connects to the agent's service socket as a node does, waits (at most --timeout ms) for a
      key that is valid now, checks it like a node (with --cold-vkey: that the pool's cold key
      signed its opcert), evolves it to the current KES period, signs the file's bytes, prints
      the result and wipes the key. Use it to check, end to end, that a node would be able to
      forge with what the agent serves.

      With --json: \`{"kesPeriod": n, "evolution": e, "kesVkey": hex, "signature": hex}\`;
      verify with the KES vk at evolution e (= kesPeriod − the opcert's start period).
      Exit codes: 5 when the agent could not be reached at all within the timeout (no socket
      file, permission denied, nothing listening, handshake refused), 7 when it was reached
      but no usable key arrived in time (no key, key refused, opcert not valid yet). Without
      waiting: 4 when the agent's key is certified by another cold key than --cold-vkey (or its
      opcert signature does not verify), 14 when the key is at another public network's KES
      period than --network / --genesis gives (the agent runs another network).
    `,
    examples: [
      ['Sign header.bin on mainnet', '$0 sign --message header.bin --cold-vkey cold.vkey'],
      ['Sign with a 3 s bound, JSON output', '$0 sign --message header.bin --socket /run/kes-agent/service.sock --timeout 3000 --json'],
    ],
  });

  message = Option.String('--message', { required: true, description: 'File whose bytes are signed' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON object' });
  timeout = Option.String('--timeout', String(DEFAULT_SIGN_TIMEOUT_MS), {
    description: `Longest wait for a usable key, in ms (default ${DEFAULT_SIGN_TIMEOUT_MS})`,
    validator: integerIn('--timeout', 0, MAX_SIGN_TIMEOUT_MS),
  });

  async execute(): Promise<number> {
    const message = readFileBounded(this.message, MAX_SIGN_MESSAGE_BYTES, 'a message to sign');
    const client = await this.makeClient();
    let everConnected = false;
    let lastFailure: { code: ErrorCode; reason: string } | undefined;
    client.on('connected', () => {
      everConnected = true;
    });
    // A possible impostor, or a key this node's settings refuse (another cold key, another
    // network), is not something to wait out: the answer will not change.
    let failNow!: (e: KesError) => void;
    const final = new Promise<never>((_, reject) => (failNow = reject));
    client.on('disconnected', (d) => {
      if (d.code !== 'AGENT_CONNECTION_LOST') lastFailure = { code: d.code, reason: d.reason };
      if (d.code === 'AGENT_NOT_TRUSTED') failNow(new KesError(d.code, d.reason));
    });
    client.on('mismatch', (m) => failNow(new KesError(m.error, this.mismatchMessage(m.error, m.reason))));
    client.start();
    try {
      try {
        await Promise.race([client.waitForKey(this.timeout), final]);
      } catch (e) {
        if (isKesError(e, 'AGENT_NOT_TRUSTED') || isKesError(e, 'OPCERT_WRONG_COLD_KEY') || isKesError(e, 'OPCERT_BAD_SIGNATURE') || isKesError(e, 'NETWORK_MISMATCH')) throw e;
        if (!isKesError(e, 'TIMEOUT') || everConnected) throw e;
        // Never got as far as a session: that is "unreachable" (exit 5), and which way matters.
        throw lastFailure !== undefined
          ? new KesError(lastFailure.code, `could not reach the agent within ${this.timeout} ms: ${lastFailure.reason}`)
          : new KesError('AGENT_UNREACHABLE', `${client.socketPath}: no connection to the agent within ${this.timeout} ms`);
      }
      const s = client.sign(message);
      const info = client.keyInfo();
      if (info === null) throw new KesError('NO_KEY', 'the key was dropped while signing');
      const out = { kesPeriod: s.kesPeriod, evolution: s.evolution, kesVkey: info.kesVk, signature: toHex(s.signature) };
      if (this.json) {
        this.printJson(out);
      } else {
        this.print(
          [
            `KES period:  ${out.kesPeriod}`,
            `evolution:   ${out.evolution} (opcert counter ${info.counter}, start KES period ${info.startKesPeriod})`,
            `KES vkey:    ${out.kesVkey}`,
            `signature:   ${out.signature}`,
          ].join('\n'),
        );
      }
      return EXIT.OK;
    } finally {
      await client.stop();
    }
  }

  /** The client's reason, with the flag the operator gave: that is what to check first. */
  private mismatchMessage(error: MismatchCode, reason: string): string {
    switch (error) {
      case 'OPCERT_WRONG_COLD_KEY':
        return `cold key mismatch: ${reason} (--cold-vkey ${this.coldVkey ?? ''})`;
      case 'NETWORK_MISMATCH':
        return `${reason} (--${this.genesis !== undefined ? `genesis ${this.genesis}` : `network ${this.network ?? DEFAULT_NETWORK}`})`;
      case 'OPCERT_BAD_SIGNATURE':
        return `the agent's key is refused: ${reason}`;
    }
  }
}
