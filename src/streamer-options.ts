import type { AudioSourceChoice, VideoSourceChoice } from './capture/source-choice.js';
import type { DeviceHealthStats } from './capture/device-read-loop.js';
import type { Clock } from './core/clock.js';
import type { ErrorCode } from './core/errors.js';
import type { LatenessSummary } from './core/lateness.js';
import type { VideoEncoderOptions } from './encode/video-encoder.js';
import type { VideoCodec } from './media/packet.js';
import { MEDIA_DEFAULTS } from './media/defaults.js';
import type { BitrateChange } from './output/bitrate-controller.js';
import type { CodecFallback } from './output/codec-choice.js';
import type { LogLevel, LogRecord } from './observe/ffmpeg-log.js';
import type { DropState } from './output/drop-policy.js';
import type { FileRecorderStats } from './output/file-recorder.js';
import type { OutputState, RtmpOutputOptions, RtmpOutputStats } from './output/rtmp-output.js';
import type { RenditionChangeReason } from './output/rendition-switch.js';
import type { ServerReconnectOutcome } from './output/server-reconnect.js';
import type { RenditionSpec } from './session/video-renditions.js';
import type { InterleaverStats } from './session/interleaver.js';

/** Video settings of a Streamer: the encoder's settings (defaults in MEDIA_DEFAULTS), plus these. */
export interface StreamerVideoOptions extends Pick<
  VideoEncoderOptions,
  'width' | 'height' | 'fps' | 'bitrateBps' | 'keyframeIntervalS' | 'encoder' | 'preset' | 'encoderOptions'
> {
  /**
   * Video codec (`h264` default, `hevc`, `av1`), or codecs in order of preference, e.g.
   * `['hevc', 'h264']`: the session then sends the first one every destination's server takes (asked
   * in the Enhanced RTMP connect, before the encoder opens; see `videoCodecFallback` in the stats).
   */
  codec: VideoCodec | readonly VideoCodec[];
  /**
   * `test` (moving pattern, default), `push` (frames from `pushVideoFrame()`), `screen` or
   * `{ screen, region, drawMouse }` (screen capture), `{ file, loop }` (a media file in real time),
   * or your own VideoSource.
   */
  source: VideoSourceChoice;
  /**
   * Shared adaptive bitrate: one encoder's bitrate follows the slowest destination (see
   * BitrateController); `bitrateBps` is the most it uses. Default false. `adaptiveQuality` supersedes it.
   */
  adaptiveBitrate: boolean;
  /**
   * Per-destination quality: a destination whose path falls behind gets a lower rendition of its own
   * (made on demand from its delivery rate, or a rung of `renditions`), and the others keep the full
   * quality; with one destination, its bitrate follows the path. Default false.
   */
  adaptiveQuality: boolean;
  /**
   * A fixed ladder: the first rung is the main encode (its size and bitrate replace `width`, `height`
   * and `bitrateBps`), the others are what destinations move to (`adaptiveQuality`) or pin (an
   * output's `rendition`). Rungs start on demand. Default none: renditions are made on demand at the
   * main size.
   */
  renditions: RenditionSpec[];
  /** At most this many encodes besides the main one run at once; default 2. */
  maxExtraEncoders: number;
}

/** Audio settings of a Streamer. */
export interface StreamerAudioOptions {
  /**
   * Sources to mix: `tone` (440 Hz, default), `silence`, `push` (PCM from `pushAudioSamples()`),
   * `system` / `mic` or `{ device, name, gain, muted }` (capture devices), `file` (the video file's
   * audio) or `{ file, loop }`, or your own AudioSource.
   */
  sources: AudioSourceChoice[];
  /** Bits per second; default MEDIA_DEFAULTS.audio.bitrateBps (160_000). */
  bitrateBps: number;
  /** AAC encoder: `libfdk_aac` (default; `aac` when this FFmpeg build lacks it, see the stats) or `aac`. */
  encoder: string;
}

/** Options of a Streamer; every field but `outputs` has a default. */
export interface StreamerOptions {
  /**
   * RTMP/RTMPS destinations: URLs, or per-output options (`rendition`: always carry that rung of
   * `video.renditions`; `multitrack`: carry every rung at once as Enhanced RTMP video tracks, track 0
   * the lowest, the highest dropped first under congestion). One capture feeds them all.
   */
  outputs: (
    | string
    | (Partial<Omit<RtmpOutputOptions, 'videoTracks'>> & {
        url: string;
        rendition?: string;
        multitrack?: boolean;
      })
  )[];
  /** Video, or null for audio only. */
  video: Partial<StreamerVideoOptions> | null;
  /** Audio, or null for video only. */
  audio: Partial<StreamerAudioOptions> | null;
  /** Drop threshold for every output that does not set its own, ms; default MEDIA_DEFAULTS.maxLatencyMs (2000). */
  maxLatencyMs: number;
  /**
   * Also record to this local file (.flv, .mp4, .mov, .mkv, .ts; checked in the constructor); never
   * drops. A recording that fails (disk full…) stops alone: `recordingfailed`. Default none.
   */
  recordPath: string | null;
  /** How often the `stats` event fires, ms; default 1000. */
  statsIntervalMs: number;
  /** The session clock; default a new MonotonicClock. Tests inject a fake. */
  clock: Clock;
  /** FFmpeg's log lines at this level or worse go to the `log` event (stderr without a listener); default 'warning'. */
  logLevel: LogLevel;
}

/** Where a Streamer is, summarised over its outputs. */
export type StreamerState = 'idle' | 'starting' | OutputState;

/** One snapshot of everything a Streamer counts. */
export interface StreamStats {
  /** Summary state. */
  readonly state: StreamerState;
  /** Milliseconds since start. */
  readonly uptimeMs: number;
  /** Video frames captured (new and duplicated). */
  readonly framesCaptured: number;
  /** Frames repeated because the source had nothing new. */
  readonly framesDuplicated: number;
  /** Frame deadlines missed because the capture loop ran late. */
  readonly framesLagged: number;
  /** Pushed (or captured) pictures replaced by a newer one before a frame deadline took them. */
  readonly framesReplaced: number;
  /** Pushed (or captured) audio dropped because it arrived faster than real time, sample frames. */
  readonly framesDroppedOverflow: number;
  /** Timestamped pushed audio dropped because its time was already queued or played, sample frames. */
  readonly framesDroppedLate: number;
  /** Frames skipped because the encoder was behind. */
  readonly framesSkippedEncoder: number;
  /** Measured capture rate over the last interval, frames per second. */
  readonly captureFps: number;
  /** Silence inserted for audio sources that were short, or at a gap between timestamped pushes, ms. */
  readonly silenceInsertedMs: number;
  /**
   * Of `silenceInsertedMs`, the silence mixed before an audio source's first samples (a device
   * opening and filling its 100 ms prebuffer), ms. The rest is gaps after audio had started.
   */
  readonly silenceAtStartMs: number;
  /** Audio dropped from sources that ran ahead of the clock, ms. */
  readonly audioOverrunDroppedMs: number;
  /** Video dropped for congestion, summed over outputs. */
  readonly videoPacketsDropped: number;
  /** Audio dropped while connected, summed over outputs (0 by design). */
  readonly audioPacketsDropped: number;
  /** Packets dropped while disconnected, summed over outputs. */
  readonly packetsDroppedWhileDisconnected: { readonly video: number; readonly audio: number };
  /** Reconnections, summed over outputs. */
  readonly reconnectCount: number;
  /** Moves to a new connection at a server's request, summed over outputs (not in reconnectCount). */
  readonly serverRequestedReconnects: number;
  /** The highest current latency among outputs, ms. */
  readonly currentLatencyMs: number;
  /** The highest latency seen by any output, ms. */
  readonly maxLatencyMs: number;
  /** Bytes sent, all outputs. */
  readonly bytesSent: number;
  /** Send bitrate, all outputs, bits per second. */
  readonly sendBitrateBps: number;
  /** How late the capture loop's ticks ran. */
  readonly captureTickLateness: LatenessSummary | null;
  /** How late the audio engine's ticks ran. */
  readonly audioTickLateness: LatenessSummary | null;
  /** Per-output details, with the video bitrate each carries now. */
  readonly outputs: readonly (RtmpOutputStats & { readonly videoBitrateBps: number })[];
  /** The encodes of the video running now, the main one first, with how many outputs carry each. */
  readonly renditions: readonly RenditionStats[];
  /** The video codec the session encodes and every output sends; null for audio only, or until it is settled. */
  readonly videoCodec: VideoCodec | null;
  /** Set when the session sends a codec other than the first of `video.codec` (see CodecFallback). */
  readonly videoCodecFallback: CodecFallback | null;
  /** The video encoder's bitrate now, bits per second (it moves with `video.adaptiveBitrate`). */
  readonly videoBitrateBps: number;
  /** The lowest video bitrate used so far, bits per second. */
  readonly videoBitrateLowestBps: number;
  /** Capture devices (screen, microphone, system audio): whether each works, and its failures. */
  readonly devices: readonly DeviceHealth[];
  /** The AAC encoder in use, and why it is not the one asked for (null when it is). */
  readonly audioEncoder: { readonly name: string; readonly note: string | null } | null;
  /** Pushed audio lost because converting it failed (silence in its place), sample frames. */
  readonly framesDroppedFailed: number;
  /** The recording (`recordPath`): its state, bytes written and why it failed; null when not recording. */
  readonly recording: FileRecorderStats | null;
  /**
   * Audio and video go to the outputs in time order: packets waiting for the other kind now, those
   * that went after waiting the longest allowed (an encoder was late), and the longest wait, ms.
   */
  readonly interleave: InterleaverStats | null;
}

/** One running encode of the video in the stats. */
export interface RenditionStats extends RenditionSpec {
  /** Outputs carrying it now. */
  readonly outputs: number;
  /** Frames it encoded. */
  readonly framesEncoded: number;
  /** Frames it skipped because it was behind. */
  readonly framesSkippedBusy: number;
}

/** One capture device's health in the stats. */
export interface DeviceHealth extends DeviceHealthStats {
  /** The device, e.g. `screen :0.0` or `mic @DEFAULT_SOURCE@`. */
  readonly name: string;
  /** `ok`, or `down` while it is failed and being reopened. */
  readonly state: 'ok' | 'down';
}

/** Events of a Streamer. */
export type StreamerEvents = {
  /** The summary state changed, `prev → next`. */
  state: [prev: StreamerState, next: StreamerState];
  /** Periodic snapshot (every `statsIntervalMs`). */
  stats: [StreamStats];
  /**
   * Capture started: media flows from now, at `sessionTimeUs` (so a run of N seconds counted from here
   * holds N seconds of media). Comes during `start()`, before the first destination has accepted.
   */
  capturing: [sessionTimeUs: number];
  /** An output gave up (permanent failure), or an engine failed. */
  error: [Error];
  /**
   * A capture device failed (display gone, microphone unplugged); the stream goes on with the last
   * picture (duplicated, counted) or silence (counted) while it is reopened with backoff.
   */
  devicefailed: [name: string, error: Error];
  /** A failed capture device works again, after `outageMs`. */
  devicerecovered: [name: string, outageMs: number];
  /**
   * The recording stopped early (disk full, file unwritable, I/O error): fired once, at once. The file
   * is finished up to there and stays playable; the live outputs go on.
   */
  recordingfailed: [path: string, error: Error];
  /**
   * A source failed mid-stream for good: a file that cannot be read on (`file <path>`), or pushed
   * audio that cannot be converted (`push audio`, once per episode). The stream goes on with the
   * last picture repeated or silence, counted.
   */
  sourcefailed: [name: string, error: Error];
  /** An output entered or left congestion (`dropping`: video is being dropped); `url` has the key hidden. */
  dropstate: [url: string, prev: DropState, next: DropState];
  /** A destination moved to another rendition (at its keyframe); `url` has the key hidden. */
  renditionchange: [url: string, from: string, to: string, reason: RenditionChangeReason];
  /** With `video.adaptiveBitrate`: the encoder's bitrate changed, bits per second. */
  bitrate: [bitrateBps: number, reason: BitrateChange['reason']];
  /** An output lost its connection and reconnects; `url` and `reason` have the stream key hidden. */
  disconnected: [url: string, reason: string];
  /**
   * A server asked an output to reconnect (Enhanced RTMP Reconnect Request) and it moves make before
   * break: `opening` the new connection, `switched` at a keyframe, `failed` (it stays on the old one), or
   * `ignored` (a target it cannot follow); `url` and `detail` have the stream key hidden.
   */
  serverreconnect: [url: string, outcome: ServerReconnectOutcome, detail: string];
  /** An output's connection attempt failed; the next one follows after `delayMs` (key hidden; `code` of the error). */
  retry: [url: string, reason: string, delayMs: number, code: ErrorCode | null];
  /** The session sends a codec other than the first of `video.codec` (before its first video packet). */
  codecfallback: [CodecFallback];
  /** A line of FFmpeg's log at `logLevel` or worse, while started (FFmpeg's log is per process). */
  log: [LogRecord];
};

export type { CodecFallback } from './output/codec-choice.js';

/** Default Streamer options (without outputs). */
export function streamerDefaults(): Omit<StreamerOptions, 'outputs' | 'clock'> {
  return {
    video: {},
    audio: {},
    maxLatencyMs: MEDIA_DEFAULTS.maxLatencyMs,
    recordPath: null,
    statsIntervalMs: 1000,
    logLevel: 'warning',
  };
}
