import type { Clock } from '../core/clock.js';
import type { StreamConfig } from '../media/packet.js';
import { rtmpOutputDefaults, validateRtmpOutputOptions, type RtmpOutputOptions } from './output-options.js';
import { Output, type OutputEvents } from './output.js';
import { RtmpTransport } from './rtmp-transport.js';

export {
  rtmpOutputDefaults,
  validateRtmpOutputOptions,
  type OutputState,
  type RtmpOutputOptions,
  type RtmpOutputStats,
} from './output-options.js';

/** Events of an RtmpOutput (those of any Output). */
export type RtmpOutputEvents = OutputEvents;

/**
 * One RTMP/RTMPS destination: an Output on an RtmpTransport. `streamConfig` says what the metadata
 * and sequence headers announce on each connection: the streams as they are now (the bitrate in
 * use, not the one configured at start).
 */
export class RtmpOutput extends Output {
  /** The resolved RTMP options. */
  readonly rtmpOptions: Readonly<RtmpOutputOptions>;

  /** `nominalRateBps`: the stream's bitrate, video plus audio; default from `streamConfig` now. */
  constructor(
    clock: Clock,
    streamConfig: StreamConfig | (() => StreamConfig),
    options: Partial<RtmpOutputOptions> & { url: string },
    nominalRateBps?: number,
  ) {
    const resolved: RtmpOutputOptions = { ...rtmpOutputDefaults(), ...options };
    validateRtmpOutputOptions(resolved);
    const config = typeof streamConfig === 'function' ? streamConfig : () => streamConfig;
    const transport = new RtmpTransport(clock, {
      url: resolved.url,
      connection: resolved.connection,
      streamConfig: config,
      videoTracks: resolved.videoTracks,
    });
    const { url: _url, connection: _connection, ...common } = resolved;
    const initial = config();
    super(
      clock,
      transport,
      common,
      nominalRateBps ?? (initial.video?.bitrateBps ?? 0) + (initial.audio?.bitrateBps ?? 0),
    );
    this.rtmpOptions = Object.freeze(resolved);
  }
}
