import type { NegotiationOutcome } from './enhanced-negotiation.js';
import type { Amf0Object } from '../amf0/amf0.js';
import type { HandshakeInfo } from './handshake.js';
import type { RtmpStatus } from './messages.js';
import type { ReconnectRequestInfo } from './publish-sequence.js';

/** Lifecycle: new → connecting → handshaking → negotiating → publishing → closing → closed. */
export type RtmpConnectionState =
  'new' | 'connecting' | 'handshaking' | 'negotiating' | 'publishing' | 'closing' | 'closed';

/** What the server told us while we connected. */
export interface ServerInfo {
  /** Message stream id from createStream, on which media is published. */
  readonly streamId: number;
  /** `fmsVer` of the connect `_result`, e.g. `FMS/3,0,1,123`, if the server sent one. */
  readonly fmsVer: string | undefined;
  /** The connect `_result` properties object. */
  readonly connectProperties: Amf0Object;
  /** The connect `_result` status (e.g. `NetConnection.Connect.Success`). */
  readonly connectStatus: RtmpStatus;
  /** The handshake facts (S2 echo check etc.). */
  readonly handshake: HandshakeInfo;
  /** What the Enhanced RTMP negotiation settled (codec to send, whether the server confirmed it). */
  readonly negotiation: NegotiationOutcome;
}

/** Result of a media write. */
export interface WriteResult {
  /** `bytesWritten` after this message: the server's acknowledgement reaching it means delivered. */
  readonly endOffset: number;
  /** `socket.write()`'s answer: false means wait for `'drain'` before writing more. */
  readonly ok: boolean;
}

/** Events of RtmpConnection. */
export type RtmpConnectionEvents = {
  /** Every state change, `prev → next`. */
  statechange: [RtmpConnectionState, RtmpConnectionState];
  /** `NetStream.Publish.Start` received: media may be written. */
  publishing: [ServerInfo];
  /** The server acknowledged this many bytes (raw uint32 sequence number, RTMP §5.4.3). */
  acknowledgement: [number];
  /** A non-error `onStatus` from the server (description redacted). */
  status: [RtmpStatus];
  /**
   * While publishing, the server asked us to reconnect, to its `tcUrl` or to the same server (Enhanced
   * RTMP v2, "Reconnect Request"). The connection goes on as it was: moving is for its owner.
   */
  reconnectRequest: [ReconnectRequestInfo];
  /** The socket's buffer drained after a write returned `ok: false`. */
  drain: [];
  /** The connection ended: `undefined` for `close()`/abort, else the cause. Emitted once. */
  closed: [Error | undefined];
};
