/**
 * What the agent must do with one connection's bytes, worked out with the same decoder and
 * handshake code the agent runs (src/server/control-handler.ts, service-hub.ts), so the fuzzer
 * can check every connection's outcome, not only that the agent survived:
 *
 *   - the connection has chosen our protocol in the version handshake (the fuzzer sends that
 *     answer before the units), so the agent's WELCOME (and on the service socket its first push)
 *     comes first, and a HELLO is no more than an unexpected message;
 *   - control: each request gets one reply; anything that is not a control request is ERROR
 *     UNEXPECTED_MESSAGE; service: every frame is UNEXPECTED_MESSAGE, CONFIRM included, since
 *     the fuzzer's CONFIRMs never name the push its connection got (generate.ts neverPushedSeq);
 *   - the first bad frame (framing or body, or a KEY-kind frame, which never travels towards the
 *     agent) is ERROR with its wire code, and close.
 *
 * The model also finds control requests that would change key state (keygen, import-opcert,
 * upload, drops): the fuzzer replaces those, since the control socket is the operator's and a
 * valid DROP_ACTIVE is not an attack on the parser.
 */
import { FrameDecoder } from '../../src/protocol/frame';
import { decodeFrame, type Message } from '../../src/protocol/messages';
import { ProtocolError, WIRE_ERROR_CODES } from '../../src/protocol/errors';
import type { SocketRole } from '../../src/protocol/handshake';
import { releaseSecret } from '../../src/crypto/secret-memory';

/** Control requests the agent answers without changing any key. */
const READ_ONLY_REQUESTS: ReadonlySet<Message['type']> = new Set(['status', 'export_verkey']);
/** Control requests that change key state: never sent by the fuzzer in decodable form. */
const STATE_CHANGING_REQUESTS: ReadonlySet<Message['type']> = new Set(['keygen', 'import_opcert', 'upload', 'upload_v2', 'drop_staged', 'drop_active']);

export interface Expectation {
  /** Frames (or length fields) the agent decodes and acts on before it stops, the refused one included. */
  decodedFrames: number;
  /** Frames the agent sends back before its ERROR (WELCOME, replies, the service socket's first push). */
  replies: number;
  /** The ERROR code the agent closes with, or undefined when it keeps the connection open. */
  closeCode: number | undefined;
  /** Index of the unit whose bytes completed a state-changing control request. */
  hazardUnit: number | undefined;
  /** A decoder failure that was not a ProtocolError (a bug: the agent would mask it as MALFORMED_FRAME). */
  escaped: string | undefined;
}

export function expectAgent(role: SocketRole, units: readonly Uint8Array[]): Expectation {
  // The agent's decoders: a KEY-kind frame is refused at its first payload byte.
  const d = new FrameDecoder({ receivesSecrets: false });
  const x: Expectation = { decodedFrames: 0, replies: 0, closeCode: undefined, hazardUnit: undefined, escaped: undefined };
  // WELCOME, and on the service socket KEY or NO_KEY.
  x.replies = role === 'service' ? 2 : 1;
  try {
    for (let u = 0; u < units.length; u++) {
      d.push(units[u]!.slice()); // push wipes its input
      for (;;) {
        let m: Message;
        try {
          const f = d.next(); // a bad length field throws here, after the frames before it
          if (f === undefined) break;
          try {
            m = decodeFrame(f);
          } finally {
            releaseSecret(f.payload);
          }
          x.decodedFrames++;
        } catch (e) {
          x.decodedFrames++;
          if (e instanceof ProtocolError) x.closeCode = e.wireCode;
          else x.escaped = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          return x;
        }
        if (m.type === 'key') releaseSecret(m.secret);
        if (role === 'control' && STATE_CHANGING_REQUESTS.has(m.type)) {
          x.hazardUnit = u;
          return x;
        }
        if (role === 'control' && READ_ONLY_REQUESTS.has(m.type)) {
          x.replies++;
          continue;
        }
        x.closeCode = WIRE_ERROR_CODES.UNEXPECTED_MESSAGE;
        return x;
      }
    }
    return x;
  } finally {
    d.destroy();
  }
}
