import {
  Amf0EcmaArray,
  Amf0Error,
  decodeAmf0,
  encodeAmf0,
  type Amf0Object,
  type Amf0Value,
} from '../amf0/amf0.js';
import type { RtmpMessage } from './chunk-writer.js';
import { ChunkStreamId, MessageType, UserControlEvent } from './constants.js';
import { RtmpProtocolError } from './errors.js';

// ---------------------------------------------------------------- protocol control (RTMP §5.4)

function control(typeId: number, payload: Buffer): RtmpMessage {
  // RTMP §5.4: control messages use message stream 0 on chunk stream 2; timestamps are ignored.
  return {
    chunkStreamId: ChunkStreamId.PROTOCOL_CONTROL,
    messageTypeId: typeId,
    messageStreamId: 0,
    timestamp: 0,
    payload,
  };
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

/** Set Chunk Size (RTMP §5.4.1). */
export function setChunkSizeMessage(chunkSize: number): RtmpMessage {
  return control(MessageType.SET_CHUNK_SIZE, u32(chunkSize & 0x7fffffff));
}

/** Window Acknowledgement Size: the peer must acknowledge every `windowBytes` (RTMP §5.4.4). */
export function windowAckSizeMessage(windowBytes: number): RtmpMessage {
  return control(MessageType.WINDOW_ACK_SIZE, u32(windowBytes));
}

/** Acknowledgement of `sequenceNumber` bytes received (RTMP §5.4.3), wrapped to 32 bits. */
export function acknowledgementMessage(sequenceNumber: number): RtmpMessage {
  return control(MessageType.ACKNOWLEDGEMENT, u32(sequenceNumber % 0x1_0000_0000));
}

/** User Control message with 32-bit event data values (RTMP §6.2, §7.1.7). */
export function userControlMessage(event: number, ...data: number[]): RtmpMessage {
  const payload = Buffer.allocUnsafe(2 + 4 * data.length);
  payload.writeUInt16BE(event, 0);
  data.forEach((value, i) => payload.writeUInt32BE(value >>> 0, 2 + 4 * i));
  return control(MessageType.USER_CONTROL, payload);
}

/** PingResponse echoing a PingRequest's timestamp (RTMP §7.1.7). */
export function pingResponseMessage(timestamp: number): RtmpMessage {
  return userControlMessage(UserControlEvent.PING_RESPONSE, timestamp);
}

/** Reads a 4-byte big-endian control payload (Set Chunk Size, Acknowledgement, Window Ack Size). */
export function parseUint32Payload(payload: Buffer, what: string): number {
  if (payload.length < 4) throw new RtmpProtocolError(`${what} payload of ${payload.length} bytes, need 4`);
  return payload.readUInt32BE(0);
}

/** A Set Peer Bandwidth payload (RTMP §5.4.5). */
export interface PeerBandwidth {
  /** Window size, bytes. */
  readonly windowBytes: number;
  /** 0 hard, 1 soft, 2 dynamic. */
  readonly limitType: number;
}

/** Parses Set Peer Bandwidth. */
export function parseSetPeerBandwidth(payload: Buffer): PeerBandwidth {
  if (payload.length < 5)
    throw new RtmpProtocolError(`Set Peer Bandwidth of ${payload.length} bytes, need 5`);
  return { windowBytes: payload.readUInt32BE(0), limitType: payload[4] as number };
}

/** A User Control event and its first 32-bit datum (RTMP §7.1.7). */
export interface UserControl {
  /** Event type, see `UserControlEvent`. */
  readonly event: number;
  /** First 4 bytes of event data (a stream id or a timestamp); 0 if absent. */
  readonly value: number;
}

/** Parses a User Control message. */
export function parseUserControl(payload: Buffer): UserControl {
  if (payload.length < 2) throw new RtmpProtocolError(`User Control of ${payload.length} bytes, need 2`);
  return { event: payload.readUInt16BE(0), value: payload.length >= 6 ? payload.readUInt32BE(2) : 0 };
}

// ---------------------------------------------------------------- commands (RTMP §7.2)

/** A decoded AMF0 command (RTMP §7.1.1). */
export interface RtmpCommand {
  /** Command name: `_result`, `_error`, `onStatus`, … */
  readonly name: string;
  /** Transaction id: matches a reply to its request. */
  readonly transactionId: number;
  /** Command object (often null). */
  readonly commandObject: Amf0Value;
  /** Further arguments, e.g. the info object of `onStatus` or the stream id of `createStream`. */
  readonly args: readonly Amf0Value[];
}

/** Builds an AMF0 command message. */
export function commandMessage(
  messageStreamId: number,
  name: string,
  transactionId: number,
  commandObject: Amf0Value,
  ...args: Amf0Value[]
): RtmpMessage {
  return {
    chunkStreamId: ChunkStreamId.COMMAND,
    messageTypeId: MessageType.COMMAND_AMF0,
    messageStreamId,
    timestamp: 0,
    payload: encodeAmf0(name, transactionId, commandObject, ...args),
  };
}

/** Parses an AMF0 (type 20) or AMF3-wrapped (type 17, leading 0x00) command. */
export function parseCommand(message: RtmpMessage): RtmpCommand {
  const body =
    message.messageTypeId === MessageType.COMMAND_AMF3 ? message.payload.subarray(1) : message.payload;
  const [name, transactionId, commandObject, ...args] = decodeAmf0OrFail(body);
  if (typeof name !== 'string') throw new RtmpProtocolError('command without a name');
  return {
    name,
    transactionId: typeof transactionId === 'number' ? transactionId : 0,
    commandObject: commandObject ?? null,
    args,
  };
}

/** AMF0 from the peer that does not decode is a broken RTMP message (`ERR_RTMP_PROTOCOL`). */
function decodeAmf0OrFail(body: Buffer): Amf0Value[] {
  try {
    return decodeAmf0(body);
  } catch (error) {
    if (error instanceof Amf0Error) throw new RtmpProtocolError(error.message, { cause: error });
    throw error;
  }
}

/** The `connect` command object fields we send (RTMP §7.2.1.1). */
export interface ConnectParams {
  /** Application name, e.g. `live` or `app/instance`. */
  readonly app: string;
  /** Server URL without the stream key, e.g. `rtmp://host/live`. */
  readonly tcUrl: string;
  /** Flash Player version string; FMLE's is what ingest servers expect from encoders. */
  readonly flashVer?: string;
  /** More command object properties (Enhanced RTMP: fourCcList, FourCcInfoMaps, capsEx). */
  readonly extra?: Amf0Object;
}

/** The flashVer we send: encoders identify as FMLE-compatible, as OBS and FFmpeg do. */
export const DEFAULT_FLASH_VER = 'FMLE/3.0 (compatible; steadycast)';

/** `connect` (transaction 1, RTMP §7.2.1.1) as a publishing encoder sends it. */
export function connectCommand(params: ConnectParams, transactionId = 1): RtmpMessage {
  const commandObject: Amf0Object = {
    app: params.app,
    type: 'nonprivate',
    flashVer: params.flashVer ?? DEFAULT_FLASH_VER,
    tcUrl: params.tcUrl,
    ...params.extra,
  };
  return commandMessage(0, 'connect', transactionId, commandObject);
}

/** `releaseStream(key)`: asks the server to drop a stale publisher of the key (FMLE convention). */
export function releaseStreamCommand(transactionId: number, streamKey: string): RtmpMessage {
  return commandMessage(0, 'releaseStream', transactionId, null, streamKey);
}

/** `FCPublish(key)`: announces the publish to CDN edges (FMLE convention). */
export function fcPublishCommand(transactionId: number, streamKey: string): RtmpMessage {
  return commandMessage(0, 'FCPublish', transactionId, null, streamKey);
}

/** `createStream` (RTMP §7.2.1.3): `_result` carries the new message stream id. */
export function createStreamCommand(transactionId: number): RtmpMessage {
  return commandMessage(0, 'createStream', transactionId, null);
}

/** `publish(key, 'live')` on the created stream (RTMP §7.2.2.6: transaction id 0). */
export function publishCommand(messageStreamId: number, streamKey: string, type = 'live'): RtmpMessage {
  return commandMessage(messageStreamId, 'publish', 0, null, streamKey, type);
}

/** `FCUnpublish(key)`: the counterpart of FCPublish, sent when stopping. */
export function fcUnpublishCommand(transactionId: number, streamKey: string): RtmpMessage {
  return commandMessage(0, 'FCUnpublish', transactionId, null, streamKey);
}

/** `deleteStream(id)` (RTMP §7.2.2.3: transaction id 0). */
export function deleteStreamCommand(messageStreamId: number): RtmpMessage {
  return commandMessage(0, 'deleteStream', 0, null, messageStreamId);
}

/** A status object of `onStatus` or `_error` (RTMP §7.2.2). */
export interface RtmpStatus {
  /** `status`, `warning` or `error`. */
  readonly level: string;
  /** E.g. `NetStream.Publish.Start`. */
  readonly code: string;
  /** Human-readable text from the server (may be empty). */
  readonly description: string;
}

/** The `onStatus` code of a server asking the client to reconnect (Enhanced RTMP v2, "Reconnect Request"). */
export const RECONNECT_REQUEST_CODE = 'NetConnection.Connect.ReconnectRequest';

/**
 * The `tcUrl` of a ReconnectRequest's info object: undefined when absent (reconnect to the current
 * server); a value that is not a string reads as `''`, which no URL resolution accepts.
 */
export function reconnectTcUrl(info: Amf0Value): string | undefined {
  const object = info instanceof Amf0EcmaArray ? info.properties : info;
  if (object === null || typeof object !== 'object' || object instanceof Date || Array.isArray(object)) {
    return undefined;
  }
  const value = (object as Amf0Object).tcUrl;
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : '';
}

/** Extracts a status from an info object; missing fields become `''`. */
export function parseStatus(info: Amf0Value): RtmpStatus {
  const object = info instanceof Amf0EcmaArray ? info.properties : info;
  const field = (key: string): string => {
    if (object === null || typeof object !== 'object' || object instanceof Date || Array.isArray(object)) {
      return '';
    }
    const value = (object as Amf0Object)[key];
    return typeof value === 'string' ? value : '';
  };
  return { level: field('level'), code: field('code'), description: field('description') };
}

// ---------------------------------------------------------------- media and data

/** `@setDataFrame('onMetaData', metadata)`: the stream's metadata, as FMLE and OBS send it. */
export function setDataFrameMessage(
  messageStreamId: number,
  metadata: Amf0EcmaArray | Amf0Object,
  timestamp = 0,
): RtmpMessage {
  return {
    chunkStreamId: ChunkStreamId.DATA,
    messageTypeId: MessageType.DATA_AMF0,
    messageStreamId,
    timestamp,
    payload: encodeAmf0('@setDataFrame', 'onMetaData', metadata),
  };
}

/** An audio message carrying an FLV audio tag body (RTMP §7.1.4). */
export function audioMessage(messageStreamId: number, timestamp: number, body: Buffer): RtmpMessage {
  return {
    chunkStreamId: ChunkStreamId.AUDIO,
    messageTypeId: MessageType.AUDIO,
    messageStreamId,
    timestamp,
    payload: body,
  };
}

/** A video message carrying an FLV video tag body (RTMP §7.1.5). */
export function videoMessage(messageStreamId: number, timestamp: number, body: Buffer): RtmpMessage {
  return {
    chunkStreamId: ChunkStreamId.VIDEO,
    messageTypeId: MessageType.VIDEO,
    messageStreamId,
    timestamp,
    payload: body,
  };
}
