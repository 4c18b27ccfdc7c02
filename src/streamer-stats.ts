import type { DeviceHealthStats } from './capture/device-read-loop.js';
import { captureDevices, type OpenedSources } from './capture/source-choice.js';
import type { FileRecorder } from './output/file-recorder.js';
import type { OutputGroup } from './output/output-group.js';
import type { MediaSession } from './session/media-session.js';
import { MAIN_RENDITION } from './session/video-renditions.js';
import type { VideoCodec } from './media/packet.js';
import type {
  CodecFallback,
  DeviceHealth,
  RenditionStats,
  StreamerState,
  StreamStats,
} from './streamer-options.js';

/** What a Streamer's stats are made of. */
export interface StatsParts {
  readonly state: StreamerState;
  readonly uptimeMs: number;
  readonly captureFps: number;
  readonly session: MediaSession | null;
  readonly sources: OpenedSources | null;
  readonly group: OutputGroup;
  readonly recorder: FileRecorder | null;
  readonly mainRenditionName: string;
  readonly videoBitrateBps: number | null;
  readonly videoBitrateLowestBps: number | null;
  readonly videoCodec: VideoCodec | null;
  readonly videoCodecFallback: CodecFallback | null;
}

/** One snapshot of every counter of a Streamer, from its parts. */
export function collectStats(parts: StatsParts): StreamStats {
  const { session: media, sources } = parts;
  const session = media?.stats;
  const { outputs, totals } = parts.group.stats();
  const configured = media?.config.video?.bitrateBps ?? 0;
  return {
    state: parts.state,
    uptimeMs: parts.uptimeMs,
    framesCaptured: session?.capture?.framesCaptured ?? 0,
    framesDuplicated: session?.capture?.framesDuplicated ?? 0,
    framesLagged: session?.capture?.framesLagged ?? 0,
    framesReplaced: sumSourceStat(sources, 'framesReplaced', sources?.pushVideo?.framesReplaced),
    framesDroppedOverflow: sumSourceStat(
      sources,
      'framesDroppedOverflow',
      sources?.pushAudio?.framesDroppedOverflow,
    ),
    framesDroppedLate: sources?.pushAudio?.framesDroppedLate ?? 0,
    framesSkippedEncoder: session?.videoEncoder?.framesSkippedBusy ?? 0,
    captureFps: parts.captureFps,
    silenceInsertedMs:
      (session?.audio?.silenceInsertedMs ?? 0) + (sources?.pushAudio?.silenceInsertedMs ?? 0),
    silenceAtStartMs: session?.audio?.startupSilenceMs ?? 0,
    audioOverrunDroppedMs: session?.audio?.audioOverrunDroppedMs ?? 0,
    ...totals,
    captureTickLateness: session?.capture?.tickLateness ?? null,
    audioTickLateness: session?.audio?.tickLateness ?? null,
    outputs: outputs.map((o) => ({
      ...o,
      videoBitrateBps: renditionBitrate(media, parts.mainRenditionName, o.rendition),
    })),
    renditions: renditionStats(media, parts.mainRenditionName, outputs),
    videoCodec: parts.videoCodec,
    videoCodecFallback: parts.videoCodecFallback,
    videoBitrateBps: parts.videoBitrateBps ?? configured,
    videoBitrateLowestBps: Math.min(parts.videoBitrateLowestBps ?? Infinity, configured),
    devices: deviceHealth(sources),
    framesDroppedFailed: sources?.pushAudio?.framesDroppedFailed ?? 0,
    recording: parts.recorder?.stats ?? null,
    interleave: session?.interleave ?? null,
    audioEncoder: session?.audioEncoder
      ? { name: session.audioEncoder.encoder, note: session.audioEncoder.encoderNote }
      : null,
  };
}

function renditionBitrate(session: MediaSession | null, mainName: string, name: string): number {
  const renditions = session?.renditions;
  if (!renditions) return 0;
  return name === mainName ? renditions.main.bitrateBps : (renditions.bitrateOf(name) ?? 0);
}

function renditionStats(
  session: MediaSession | null,
  mainName: string,
  outputs: readonly { rendition: string; videoTracks: readonly { rendition: string }[] }[],
): RenditionStats[] {
  const renditions = session?.renditions;
  if (!renditions) return [];
  const configs = renditions.configs;
  return renditions.stats.map(({ name, bitrateBps, encoder }) => {
    const shown = name === MAIN_RENDITION ? mainName : name;
    const config = name === MAIN_RENDITION ? renditions.main.config : configs.get(name);
    return {
      name: shown,
      width: config?.width ?? 0,
      height: config?.height ?? 0,
      bitrateBps,
      // A multitrack output carries every track's rendition at once.
      outputs: outputs.filter((o) =>
        o.videoTracks.length > 0 ? o.videoTracks.some((t) => t.rendition === shown) : o.rendition === shown,
      ).length,
      framesEncoded: encoder.framesEncoded,
      framesSkippedBusy: encoder.framesSkippedBusy,
    };
  });
}

function deviceHealth(sources: OpenedSources | null): DeviceHealth[] {
  return captureDevices(sources).map((device) => ({
    name: device.name,
    state: device.error ? 'down' : 'ok',
    ...pickHealth(device.stats),
  }));
}

function sumSourceStat(
  sources: OpenedSources | null,
  field: 'framesReplaced' | 'framesDroppedOverflow',
  pushed: number | undefined,
): number {
  let total = pushed ?? 0;
  for (const device of sources?.devices ?? []) {
    const stats = device.stats as unknown as Record<string, unknown>;
    const value = stats[field];
    if (typeof value === 'number') total += value;
  }
  return total;
}

function pickHealth(stats: DeviceHealthStats): DeviceHealthStats {
  return {
    failures: stats.failures,
    reopens: stats.reopens,
    downtimeMs: stats.downtimeMs,
    lastError: stats.lastError,
  };
}
