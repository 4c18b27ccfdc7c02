import type { RtmpMessage } from './chunk-writer.js';
import { MessageType, UserControlEvent } from './constants.js';
import * as msg from './messages.js';

/** What a message from the server asks of the connection, once ProtocolControl has taken its part. */
export type ControlOutcome =
  /** A protocol or user control message, taken here; `reply` goes back to the server. */
  | { readonly kind: 'control'; readonly reply?: RtmpMessage; readonly acknowledged?: number }
  /** A command (AMF0/AMF3): the publish sequence's. */
  | { readonly kind: 'command' }
  /** Anything else: Set Chunk Size and Abort (the chunk reader applied them), data, media, aggregate. */
  | { readonly kind: 'other' };

/**
 * The connection's side of RTMP's protocol control (§5.4) and user control (§6.2) toward the server,
 * with no I/O: bytes received and the acknowledgements we owe for them, the server's acknowledgements
 * and windows, ping replies. Throws RtmpProtocolError on a malformed control message.
 */
export class ProtocolControl {
  #bytesReceived = 0;
  #lastAckSent = 0;
  #acknowledgements = 0;
  #serverWindowAckSize = 0;
  #peerBandwidthBytes = 0;

  /** Bytes of chunk stream received since the handshake. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** How many acknowledgements the server has sent. */
  get acknowledgementsReceived(): number {
    return this.#acknowledgements;
  }

  /** The server's Window Acknowledgement Size, 0 before it sent one. */
  get serverWindowAckSize(): number {
    return this.#serverWindowAckSize;
  }

  /** The server's Set Peer Bandwidth window, 0 before it sent one. */
  get peerBandwidthBytes(): number {
    return this.#peerBandwidthBytes;
  }

  /** Counts `bytes` more received. */
  received(bytes: number): void {
    this.#bytesReceived += bytes;
  }

  /** The Acknowledgement due now (RTMP §5.4.3: after every window's worth of bytes received), or null. */
  acknowledgementDue(): RtmpMessage | null {
    const window = this.#serverWindowAckSize;
    if (window === 0 || this.#bytesReceived - this.#lastAckSent < window) return null;
    this.#lastAckSent = this.#bytesReceived;
    return msg.acknowledgementMessage(this.#bytesReceived);
  }

  /** Takes a message from the server: control messages here, the rest said by kind. */
  onMessage(message: RtmpMessage): ControlOutcome {
    switch (message.messageTypeId) {
      case MessageType.ACKNOWLEDGEMENT: {
        const acknowledged = msg.parseUint32Payload(message.payload, 'Acknowledgement');
        this.#acknowledgements++;
        return { kind: 'control', acknowledged };
      }
      case MessageType.WINDOW_ACK_SIZE:
        this.#serverWindowAckSize = msg.parseUint32Payload(message.payload, 'Window Acknowledgement Size');
        return { kind: 'control' };
      case MessageType.SET_PEER_BANDWIDTH:
        // RTMP §5.4.5 suggests answering with our Window Ack Size = theirs; we keep our small window
        // instead (it drives the acknowledgements we measure latency with), as FFmpeg does.
        this.#peerBandwidthBytes = msg.parseSetPeerBandwidth(message.payload).windowBytes;
        return { kind: 'control' };
      case MessageType.USER_CONTROL: {
        const control = msg.parseUserControl(message.payload);
        return control.event === UserControlEvent.PING_REQUEST
          ? { kind: 'control', reply: msg.pingResponseMessage(control.value) }
          : { kind: 'control' };
      }
      case MessageType.COMMAND_AMF0:
      case MessageType.COMMAND_AMF3:
        return { kind: 'command' };
      default:
        return { kind: 'other' };
    }
  }
}
