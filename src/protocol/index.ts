/**
 * The kes-agent wire protocol: framing, typed messages, handshake (spec/protocol.md).
 *
 * Receiving:
 *
 *     const frames = new FrameDecoder();
 *     socket.on('data', (chunk) => {
 *       frames.push(chunk);                       // copies, then wipes `chunk`
 *       for (let f = frames.next(); f; f = frames.next()) handle(decodeFrame(f));
 *     });                                         // next()/decodeFrame throw ProtocolError
 *
 * Sending: `socket.write(encodeMessage(msg))`; for KEY, wipe the frame in the write callback.
 */
export * from './constants';
export * from './errors';
export { FrameDecoder, encodeFrame, writeFrameHeader, type DecodedFrame } from './frame';
export { MESSAGE_SCHEMAS, MESSAGE_TYPES, messageTypeOfKind, type MessageType, type Socket, type Sender } from './schema';
export * from './messages';
export * from './handshake';
export { ConnectionClosedError, FramedSocket, ReceiveTimeoutError, wipeMessage } from './framed-socket';
