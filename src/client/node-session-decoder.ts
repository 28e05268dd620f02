/**
 * One service-socket session as the node sees it, after the handshake (spec/protocol.md §6):
 * read each push, hand it to key custody, and CONFIRM it with custody's result, until the
 * connection ends. The version handshake (ours or the Haskell agent's) is connect.ts's; what
 * follows it is always this protocol's messages.
 */
import {
  ConnectionClosedError,
  ProtocolError,
  ReceiveTimeoutError,
  WIRE_ERROR_CODES,
  wireErrorName,
  wipeMessage,
  type FramedSocket,
  type KeyMessage,
  type Message,
} from '../protocol';

/** What the session hands each push to (KeyCustody). */
export interface NodePushHandler {
  /** Validate and maybe install a KEY; returns the CONFIRM result (0 = accepted). */
  receiveKey(msg: KeyMessage): number;
  agentHasNoKey(): void;
  agentDroppedKey(): void;
}

export interface NodeSessionInit {
  /** How long the agent has to send its key state (KEY or NO_KEY) after WELCOME. */
  stateTimeoutMs: number;
  /** False once the client was stopped: the session then ends without handling anything more. */
  isRunning: () => boolean;
  pushes: NodePushHandler;
}

/**
 * Handle pushes until the connection ends; returns why it ended. `session.productive` becomes
 * true once the agent delivered a valid state message (what resets the reconnect backoff).
 */
export async function runNodeSession(framed: FramedSocket, init: NodeSessionInit, session: { productive: boolean }): Promise<string> {
  let first = true;
  for (;;) {
    let msg: Message;
    try {
      // The agent sends its state (KEY or NO_KEY) right after WELCOME; after that it may stay
      // silent for days, and the held key keeps working meanwhile.
      msg = await framed.receive(first ? init.stateTimeoutMs : undefined);
    } catch (e) {
      if (!init.isRunning()) return 'stopped';
      if (e instanceof ReceiveTimeoutError) return `the agent sent no key state within ${e.timeoutMs} ms of the handshake`;
      if (e instanceof ConnectionClosedError) return e.message.replace(/^the peer/, 'the agent');
      if (e instanceof ProtocolError) {
        await framed.closeWithError(e.wireCode, e.message);
        return `the agent sent an invalid frame: ${e.message} (${e.code})`;
      }
      return 'the connection failed';
    }
    first = false;
    if (!init.isRunning()) {
      wipeMessage(msg);
      return 'stopped';
    }
    let result: number;
    switch (msg.type) {
      case 'key':
        result = init.pushes.receiveKey(msg);
        if (result === 0) session.productive = true;
        break;
      case 'no_key':
        session.productive = true;
        result = 0;
        init.pushes.agentHasNoKey();
        break;
      case 'key_dropped':
        session.productive = true;
        result = 0;
        init.pushes.agentDroppedKey();
        break;
      case 'error': {
        const name = wireErrorName(msg.code) ?? `code ${msg.code}`;
        return `the agent sent ERROR ${name}: ${msg.message}`;
      }
      default:
        await framed.closeWithError(WIRE_ERROR_CODES.UNEXPECTED_MESSAGE, 'unexpected message on the service socket');
        return `the agent sent a message a node does not expect (${msg.type})`;
    }
    try {
      await framed.send({ type: 'confirm', seq: msg.seq, result });
    } catch {
      return init.isRunning() ? 'the connection closed while confirming a push' : 'stopped';
    }
  }
}
