/** RTMP message type ids (RTMP §5.4, §6.2, §7.1). */
export const MessageType = {
  /** §5.4.1 Set Chunk Size. */
  SET_CHUNK_SIZE: 1,
  /** §5.4.2 Abort Message. */
  ABORT: 2,
  /** §5.4.3 Acknowledgement. */
  ACKNOWLEDGEMENT: 3,
  /** §6.2 User Control Message. */
  USER_CONTROL: 4,
  /** §5.4.4 Window Acknowledgement Size. */
  WINDOW_ACK_SIZE: 5,
  /** §5.4.5 Set Peer Bandwidth. */
  SET_PEER_BANDWIDTH: 6,
  /** §7.1.4 Audio Message. */
  AUDIO: 8,
  /** §7.1.5 Video Message. */
  VIDEO: 9,
  /** §7.1.2 Data Message, AMF3. */
  DATA_AMF3: 15,
  /** §7.1.3 Shared Object Message, AMF3. */
  SHARED_OBJECT_AMF3: 16,
  /** §7.1.1 Command Message, AMF3. */
  COMMAND_AMF3: 17,
  /** §7.1.2 Data Message, AMF0. */
  DATA_AMF0: 18,
  /** §7.1.3 Shared Object Message, AMF0. */
  SHARED_OBJECT_AMF0: 19,
  /** §7.1.1 Command Message, AMF0. */
  COMMAND_AMF0: 20,
  /** §7.1.6 Aggregate Message. */
  AGGREGATE: 22,
} as const;

/** User Control event types (RTMP §7.1.7). */
export const UserControlEvent = {
  /** Server: a stream became functional (data: stream id). */
  STREAM_BEGIN: 0,
  /** Server: playback over (data: stream id). */
  STREAM_EOF: 1,
  /** Server: no more data on the stream (data: stream id). */
  STREAM_DRY: 2,
  /** Client: buffer length (data: stream id, milliseconds). */
  SET_BUFFER_LENGTH: 3,
  /** Server: the stream is recorded (data: stream id). */
  STREAM_IS_RECORDED: 4,
  /** Server: are you there? (data: server timestamp). */
  PING_REQUEST: 6,
  /** Client: answer to PingRequest (data: the same timestamp). */
  PING_RESPONSE: 7,
} as const;

/**
 * Chunk stream ids we send on, one per kind of message so that header compression (fmt 1–3)
 * works per kind (RTMP §5.3.1.2). 2 is mandated for protocol control (§5.4); the others follow
 * FFmpeg's choice (commands 3, audio 4, video 6), data messages get their own stream 5.
 */
export const ChunkStreamId = {
  /** Protocol control and user control messages (RTMP §5.4, §6.2). */
  PROTOCOL_CONTROL: 2,
  /** AMF0 command messages (connect, createStream, publish, …). */
  COMMAND: 3,
  /** Audio messages. */
  AUDIO: 4,
  /** Data messages (`@setDataFrame onMetaData`). */
  DATA: 5,
  /** Video messages. */
  VIDEO: 6,
} as const;

/** The chunk size every RTMP peer starts with in each direction (RTMP §5.4.1). */
export const DEFAULT_CHUNK_SIZE = 128;

/** Largest valid message length and useful chunk size: 24 bits (RTMP §5.4.1). */
export const MAX_MESSAGE_LENGTH = 0xffffff;

/** Value of the 24-bit timestamp field that announces an Extended Timestamp (RTMP §5.3.1.3). */
export const EXTENDED_TIMESTAMP_MARKER = 0xffffff;

/** The RTMP version of C0/S0 (RTMP §5.2.2). */
export const RTMP_VERSION = 3;

/** Size of C1/S1/C2/S2 (RTMP §5.2.3). */
export const HANDSHAKE_SIZE = 1536;
