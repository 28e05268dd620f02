/**
 * The Control protocol after the version handshake. The control client (kes-agent-control) is
 * the typed-protocols Server that sends commands; the agent is the Client that answers
 * (kes-agent/src/Cardano/KESAgent/Protocols/Control/V{0,1,2,3}/Driver.hs).
 *
 *   client → VersionMessage: the 32-byte version id (the agent checks it: RawUtil.hs `checkVersion`);
 *   client → Command Word16 BE (Protocols/Types.hs `Command`, serdoc default enum encoding), and
 *            for InstallKeyCmd the raw OCert (112);
 *   agent  → GenStagedKey / QueryStagedKey / DropStagedKey: PublicKeyMessage `Maybe VerKeyKES`;
 *            InstallKey / DropKey: RecvResult Word16 BE (fromEnum, 0..5);
 *            RequestInfo: AgentInfo of the version (agent-info.ts).
 * The agent loops on commands until EOF. V0/V1 have no DropKeyCmd (the agent closes: Haskell's
 * `ProtocolErrorMessage`).
 */
import type { ByteReader, ReadOptions } from './byte-reader';
import {
  COMMANDS,
  CONTROL_RECV_RESULT_CODES,
  HS_OCERT_BYTES,
  HS_VK_BYTES,
  RECV_RESULTS,
  VERSION_ID_BYTES,
  type Command,
  type ControlVersion,
  type RecvResult,
} from './constants';
import { HaskellProtocolError } from './errors';
import { decodeOCert, encodeOCert, type WireOCert, type WireOCertInput } from './ocert';
import { ByteWriter, enumAt } from './primitives';
import { controlVersionId } from './version-handshake';

export type ControlRequest =
  | { cmd: 'GenStagedKeyCmd' }
  | { cmd: 'QueryStagedKeyCmd' }
  | { cmd: 'DropStagedKeyCmd' }
  | { cmd: 'InstallKeyCmd'; ocert: WireOCert }
  | { cmd: 'RequestInfoCmd' }
  | { cmd: 'DropKeyCmd' };

// ---------------------------------------------------------------------------------------------
// Agent side

/**
 * Read the client's VersionMessage and check it is `version`; a mismatch is VERSION_MISMATCH
 * (`ReadVersionMismatch`, the agent aborts). A Haskell V0/V1 `drop-key` sends the accept and
 * closes before this: PeerClosedError clean, a normal disconnect.
 */
export async function readControlVersionMessage(r: ByteReader, version: ControlVersion, opts: ReadOptions = {}): Promise<void> {
  r.beginMessage();
  const got = await r.readExact(VERSION_ID_BYTES, opts);
  const want = controlVersionId(version);
  if (!got.every((b, i) => b === want[i])) throw new HaskellProtocolError('VERSION_MISMATCH', 'the VersionMessage is not the negotiated version');
}

/**
 * Read one command (Control/V{0,1,2,3}/Driver.hs `recvMessage` in SIdleState). A value above 5 is
 * ENUM_OUT_OF_RANGE; DropKeyCmd on V0/V1 is UNSUPPORTED. EOF before the first byte is a clean
 * close (the client's End).
 */
export async function readControlRequest(r: ByteReader, version: ControlVersion, opts: ReadOptions = {}): Promise<ControlRequest> {
  r.beginMessage();
  const cmd = enumAt(COMMANDS, await r.readU16(opts), 'Command');
  switch (cmd) {
    case 'InstallKeyCmd':
      return { cmd, ocert: decodeOCert(await r.readExact(HS_OCERT_BYTES, opts)) };
    case 'DropKeyCmd':
      if (version <= 1) throw new HaskellProtocolError('UNSUPPORTED', `DropKeyCmd does not exist in control version ${version}`);
      return { cmd };
    default:
      return { cmd };
  }
}

/** PublicKeyMessage: `Maybe VerKeyKES` = 00, or 01 ‖ vk(32). */
export function encodePublicKeyMessage(vk: Uint8Array | undefined): Uint8Array {
  return new ByteWriter().maybe(vk, (w, k) => void w.bytes(k, HS_VK_BYTES, 'KES vk')).finish();
}

/** InstallResultMessage / DropKeyResultMessage: RecvResult as Word16 BE (`fromEnum`). */
export function encodeControlRecvResult(result: RecvResult): Uint8Array {
  if (!RECV_RESULTS.includes(result)) throw new RangeError('not a RecvResult');
  return new ByteWriter().u16(CONTROL_RECV_RESULT_CODES[result]).finish();
}

// ---------------------------------------------------------------------------------------------
// Client side

/** VersionMessage the client sends after the handshake. */
export function encodeControlVersionMessage(version: ControlVersion): Uint8Array {
  return controlVersionId(version);
}

/** A command: Word16 BE, then the OCert (112) for InstallKeyCmd. */
export function encodeControlRequest(req: { cmd: Exclude<Command, 'InstallKeyCmd'> } | { cmd: 'InstallKeyCmd'; ocert: WireOCertInput }): Uint8Array {
  const w = new ByteWriter().u16(COMMANDS.indexOf(req.cmd));
  if (req.cmd === 'InstallKeyCmd') w.bytes(encodeOCert(req.ocert));
  return w.finish();
}

/** Read a PublicKeyMessage (bad Bool: MALFORMED). */
export async function readPublicKeyMessage(r: ByteReader, opts: ReadOptions = {}): Promise<Uint8Array | undefined> {
  r.beginMessage();
  return r.readMaybe(() => r.readExact(HS_VK_BYTES, opts), opts);
}

/** Read an install/drop result: Word16 BE; above 5 is ENUM_OUT_OF_RANGE (`toEnum`). */
export async function readControlRecvResult(r: ByteReader, opts: ReadOptions = {}): Promise<RecvResult> {
  r.beginMessage();
  return enumAt(RECV_RESULTS, await r.readU16(opts), 'RecvResult');
}
