import type { EncodedPacket } from '../media/packet.js';

/** Anything that takes the session's encoded packets (an RTMP output, a file recorder). */
export interface PacketSink {
  /** Takes one packet; must return at once (never awaits I/O on the caller's path). */
  writePacket(packet: EncodedPacket): void;
}
