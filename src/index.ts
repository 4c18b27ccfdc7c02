/** steadycast: capture, encode and publish over RTMP/RTMPS with bounded latency and automatic reconnect. */
export { Streamer, streamerDefaults } from './streamer.js';
export type {
  StreamerAudioOptions,
  StreamerEvents,
  StreamerOptions,
  StreamerState,
  StreamerVideoOptions,
  StreamStats,
} from './streamer.js';
export type { Clock, Timer } from './core/clock.js';
export { MonotonicClock } from './core/monotonic-clock.js';
export {
  AbortError,
  ConfigError,
  DeviceError,
  InvalidStateError,
  MediaError,
  StallError,
  SteadycastError,
  type ErrorCode,
} from './core/errors.js';
export { TypedEmitter } from './core/typed-emitter.js';
export type { LatenessSummary } from './core/lateness.js';
export type { AudioSource, VideoSource } from './capture/source.js';
export type { CapturedFrame, MixedAudioFrame, PixelFormat, RawVideoFrame } from './media/frames.js';
export {
  PushAudioSource,
  pushAudioSourceDefaults,
  type PushAudioSourceEvents,
  type PushAudioSourceOptions,
  type PushedAudioFormat,
} from './capture/push-audio-source.js';
export { PushVideoSource, type PushedVideoTiming } from './capture/push-video-source.js';
export type { PcmRateConverter } from './capture/pcm-rate-converter.js';
export { TestPatternSource, readTestPatternCode } from './capture/test-pattern.js';
export { SilenceSource, ToneSource } from './capture/tone-source.js';
export { MediaSession, type MediaSessionOptions, type MediaSessionStats } from './session/media-session.js';
export type {
  AudioConfig,
  EncodedPacket,
  MediaKind,
  StreamConfig,
  VideoCodec,
  VideoConfig,
} from './media/packet.js';
export { FileRecorder, type FileRecorderStats } from './output/file-recorder.js';
export type { PacketSink } from './output/packet-sink.js';
export {
  RtmpOutput,
  rtmpOutputDefaults,
  type OutputState,
  type RtmpOutputEvents,
  type RtmpOutputOptions,
  type RtmpOutputStats,
} from './output/rtmp-output.js';
export { Output, type OutputEvents } from './output/output.js';
export { outputDefaults, type OutputOptions, type OutputStats } from './output/output-options.js';
export type {
  DeliveryReading,
  Transport,
  TransportConnection,
  TransportConnectionEvents,
  TransportWrite,
} from './output/transport.js';
export { RtmpTransport, type RtmpTransportOptions } from './output/rtmp-transport.js';
export {
  RtmpConnectionError,
  RtmpError,
  RtmpProtocolError,
  RtmpServerError,
  type RtmpConnectionErrorCode,
} from './rtmp/errors.js';
export {
  connectSocket,
  type ConnectTarget,
  type RtmpSocket,
  type SocketConnector,
} from './rtmp/rtmp-connection-options.js';
export { parseRtmpUrl, redactUrl, type RtmpUrl } from './rtmp/url.js';
export { listDevices, type DeviceList } from './capture/device-inputs.js';
export type { DeviceHealthStats, DeviceSourceEvents } from './capture/device-read-loop.js';
export { DeviceVideoSource, type DeviceVideoStats } from './capture/device-video-source.js';
export {
  DeviceAudioSource,
  type DeviceAudioOptions,
  type DeviceAudioStats,
} from './capture/device-audio-source.js';
export { FileSource, type FileSourceOptions, type FileSourceStats } from './capture/file-source.js';
export type {
  AudioDeviceChoice,
  AudioSourceChoice,
  FileChoice,
  ScreenChoice,
  VideoSourceChoice,
} from './capture/source-choice.js';
export type { DashboardHandle, DashboardOptions } from './observe/dashboard-server.js';
export type { LogLevel, LogRecord } from './observe/ffmpeg-log.js';
export type { TimelineEvent, TimelineKind } from './observe/timeline.js';
export type { OutputSample, Sample } from './observe/sample.js';
