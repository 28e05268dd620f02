/**
 * The kes-agent wire protocol: framing, typed messages, handshake (spec/protocol.md).
 *
 * Both sides talk through FramedSocket: `await conn.receive(timeoutMs)` for the next decoded
 * message (ProtocolError on bad input; reading pauses while a message waits), `conn.send(msg)`
 * (a KEY frame is wiped once written), `conn.postShared(frame, done)` to write one encoding to
 * many sockets without a copy each, and `conn.closeWithError(code, message)` to refuse a peer.
 */
export * from './constants';
export * from './errors';
export { FrameDecoder, encodeFrame, writeFrameHeader, type DecodedFrame } from './frame';
export { MESSAGE_SCHEMAS, MESSAGE_TYPES, messageTypeOfKind, type MessageType, type Socket, type Sender } from './schema';
export * from './messages';
export * from './handshake';
export { ConnectionClosedError, FramedSocket, ReceiveTimeoutError, wipeMessage } from './framed-socket';
export { nativeAccept, nativeVersionId, openNative } from './native-version';
