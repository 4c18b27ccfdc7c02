/** ProtocolControl: what we owe the server and what it tells us, with no socket. */
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../src/rtmp/constants.js';
import { RtmpProtocolError } from '../../../src/rtmp/errors.js';
import * as msg from '../../../src/rtmp/messages.js';
import { ProtocolControl } from '../../../src/rtmp/protocol-control.js';

describe('ProtocolControl', () => {
  it('owes an acknowledgement once a whole window has been received, carrying the total, then not again until the next', () => {
    const control = new ProtocolControl();
    control.received(5000);
    expect(control.acknowledgementDue()).toBeNull(); // no window from the server yet
    control.onMessage(msg.windowAckSizeMessage(10_000));
    expect(control.serverWindowAckSize).toBe(10_000);
    control.received(4999);
    expect(control.acknowledgementDue()).toBeNull();
    control.received(1);
    const ack = control.acknowledgementDue();
    expect(ack?.messageTypeId).toBe(MessageType.ACKNOWLEDGEMENT);
    expect(ack && msg.parseUint32Payload(ack.payload, 'ack')).toBe(10_000);
    expect(control.acknowledgementDue()).toBeNull();
    control.received(9999);
    expect(control.acknowledgementDue()).toBeNull();
    control.received(1);
    expect(control.acknowledgementDue()).not.toBeNull();
    expect(control.bytesReceived).toBe(20_000);
  });

  it("records the server's Set Peer Bandwidth window (not enforced)", () => {
    const control = new ProtocolControl();
    expect(control.peerBandwidthBytes).toBe(0);
    const payload = Buffer.from([0x00, 0x26, 0x25, 0xa0, 2]); // 2 500 000 bytes, dynamic
    const message = {
      ...msg.windowAckSizeMessage(0),
      messageTypeId: MessageType.SET_PEER_BANDWIDTH,
      payload,
    };
    expect(control.onMessage(message)).toEqual({ kind: 'control' });
    expect(control.peerBandwidthBytes).toBe(2_500_000);
  });

  it("counts the server's acknowledgements and hands out their sequence numbers", () => {
    const control = new ProtocolControl();
    expect(control.onMessage(msg.acknowledgementMessage(123))).toEqual({
      kind: 'control',
      acknowledged: 123,
    });
    control.onMessage(msg.acknowledgementMessage(456));
    expect(control.acknowledgementsReceived).toBe(2);
  });

  it('answers a ping request with a ping response of the same timestamp, and sorts the rest by kind', () => {
    const control = new ProtocolControl();
    const outcome = control.onMessage(msg.userControlMessage(6, 777)); // PingRequest
    expect(outcome.kind === 'control' && outcome.reply).toEqual(msg.pingResponseMessage(777));
    expect(control.onMessage(msg.userControlMessage(0, 1))).toEqual({ kind: 'control' }); // StreamBegin
    expect(control.onMessage(msg.createStreamCommand(4)).kind).toBe('command');
    expect(control.onMessage(msg.audioMessage(1, 0, Buffer.alloc(2))).kind).toBe('other');
  });

  it('throws RtmpProtocolError naming the message on a truncated control message', () => {
    const control = new ProtocolControl();
    const truncated = (message: ReturnType<typeof msg.acknowledgementMessage>) => () =>
      control.onMessage({ ...message, payload: Buffer.alloc(2) });
    expect(truncated(msg.windowAckSizeMessage(1000))).toThrow(RtmpProtocolError);
    expect(truncated(msg.windowAckSizeMessage(1000))).toThrow(
      /Window Acknowledgement Size payload of 2 bytes/,
    );
    expect(truncated(msg.acknowledgementMessage(1000))).toThrow(/^Acknowledgement payload of 2 bytes/);
    expect(control.acknowledgementsReceived).toBe(0); // a malformed one is not counted
  });
});
