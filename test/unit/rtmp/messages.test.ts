import { describe, expect, it } from 'vitest';
import { Amf0EcmaArray, decodeAmf0, encodeAmf0 } from '../../../src/amf0/amf0.js';
import { ChunkStreamId, MessageType } from '../../../src/rtmp/constants.js';
import { RtmpProtocolError } from '../../../src/rtmp/errors.js';
import * as msg from '../../../src/rtmp/messages.js';

describe('protocol control messages', () => {
  it('puts control messages on chunk stream 2, message stream 0 (RTMP §5.4)', () => {
    for (const m of [
      msg.setChunkSizeMessage(4096),
      msg.windowAckSizeMessage(32768),
      msg.acknowledgementMessage(1),
      msg.pingResponseMessage(9),
    ]) {
      expect(m.chunkStreamId).toBe(ChunkStreamId.PROTOCOL_CONTROL);
      expect(m.messageStreamId).toBe(0);
    }
  });

  it('encodes their payloads as the spec draws them', () => {
    expect(msg.setChunkSizeMessage(4096).payload.toString('hex')).toBe('00001000');
    expect(msg.windowAckSizeMessage(32768).payload.toString('hex')).toBe('00008000');
    expect(msg.acknowledgementMessage(2 ** 32 + 5).payload.toString('hex')).toBe('00000005');
    expect(msg.pingResponseMessage(0xdeadbeef).payload.toString('hex')).toBe('0007deadbeef');
  });

  it('parses user control, peer bandwidth and 32-bit payloads, rejecting short ones', () => {
    expect(msg.parseUserControl(Buffer.from('000600000010', 'hex'))).toEqual({ event: 6, value: 16 });
    expect(msg.parseSetPeerBandwidth(Buffer.from('004c4b4002', 'hex'))).toEqual({
      windowBytes: 5000000,
      limitType: 2,
    });
    expect(msg.parseUint32Payload(Buffer.from('00004000', 'hex'), 'x')).toBe(16384);
    expect(() => msg.parseUint32Payload(Buffer.from('00', 'hex'), 'x')).toThrow(RtmpProtocolError);
    expect(() => msg.parseUserControl(Buffer.from('00', 'hex'))).toThrow(RtmpProtocolError);
    expect(() => msg.parseSetPeerBandwidth(Buffer.from('0000', 'hex'))).toThrow(RtmpProtocolError);
  });
});

describe('commands', () => {
  it('builds connect with app, type nonprivate, flashVer and tcUrl', () => {
    const m = msg.connectCommand({ app: 'live', tcUrl: 'rtmp://h/live' });
    expect(m.messageTypeId).toBe(MessageType.COMMAND_AMF0);
    expect(decodeAmf0(m.payload)).toEqual([
      'connect',
      1,
      { app: 'live', type: 'nonprivate', flashVer: msg.DEFAULT_FLASH_VER, tcUrl: 'rtmp://h/live' },
    ]);
  });

  it('builds the publish sequence commands with the key and stream ids', () => {
    expect(decodeAmf0(msg.releaseStreamCommand(2, 'k').payload)).toEqual(['releaseStream', 2, null, 'k']);
    expect(decodeAmf0(msg.fcPublishCommand(3, 'k').payload)).toEqual(['FCPublish', 3, null, 'k']);
    expect(decodeAmf0(msg.createStreamCommand(4).payload)).toEqual(['createStream', 4, null]);
    const publish = msg.publishCommand(7, 'k');
    expect(publish.messageStreamId).toBe(7);
    expect(decodeAmf0(publish.payload)).toEqual(['publish', 0, null, 'k', 'live']);
    expect(decodeAmf0(msg.fcUnpublishCommand(5, 'k').payload)).toEqual(['FCUnpublish', 5, null, 'k']);
    expect(decodeAmf0(msg.deleteStreamCommand(7).payload)).toEqual(['deleteStream', 0, null, 7]);
  });

  it('builds @setDataFrame onMetaData on the data chunk stream', () => {
    const m = msg.setDataFrameMessage(1, new Amf0EcmaArray({ width: 2 }));
    expect(m.messageTypeId).toBe(MessageType.DATA_AMF0);
    expect(decodeAmf0(m.payload)).toEqual(['@setDataFrame', 'onMetaData', new Amf0EcmaArray({ width: 2 })]);
  });

  it('parses _result, _error and onStatus replies', () => {
    const reply = (typeId: number, payload: Buffer) => ({
      chunkStreamId: 3,
      messageTypeId: typeId,
      messageStreamId: 0,
      timestamp: 0,
      payload,
    });
    const status = { level: 'error', code: 'NetStream.Publish.BadName', description: 'Already publishing' };
    const parsed = msg.parseCommand(reply(20, encodeAmf0('onStatus', 0, null, status)));
    expect(parsed).toEqual({ name: 'onStatus', transactionId: 0, commandObject: null, args: [status] });
    expect(msg.parseStatus(parsed.args[0])).toEqual(status);
    const amf3 = msg.parseCommand(
      reply(17, Buffer.concat([Buffer.from([0]), encodeAmf0('_result', 4, null, 1)])),
    );
    expect(amf3).toEqual({ name: '_result', transactionId: 4, commandObject: null, args: [1] });
    expect(msg.parseStatus(null)).toEqual({ level: '', code: '', description: '' });
    expect(() => msg.parseCommand(reply(20, encodeAmf0(5)))).toThrow(RtmpProtocolError);
  });

  it('reports a command whose AMF0 does not decode as an RTMP protocol error', () => {
    // A string marker that promises 16 bytes and carries 3.
    const truncated = Buffer.from('0200106f6e53', 'hex');
    const message = {
      chunkStreamId: 3,
      messageTypeId: 20,
      messageStreamId: 0,
      timestamp: 0,
      payload: truncated,
    };
    expect(() => msg.parseCommand(message)).toThrow(RtmpProtocolError);
    expect(() => msg.parseCommand(message)).toThrow(/AMF0/);
  });
});
