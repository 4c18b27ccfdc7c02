import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { DeviceAudioSource } from './device-audio-source.js';
import { DeviceVideoSource } from './device-video-source.js';
import { FileSource } from './file-source.js';
import { PushAudioSource } from './push-audio-source.js';
import { PushVideoSource } from './push-video-source.js';
import type { AudioSource, VideoSource } from './source.js';
import { TestPatternSource } from './test-pattern.js';
import { SilenceSource, ToneSource } from './tone-source.js';

/** Screen capture, by display (Linux `:0`) or monitor index; the default screen when null. */
export interface ScreenChoice {
  /** Display or monitor; null or absent: `$DISPLAY` on Linux, the primary monitor elsewhere. */
  screen: string | null;
  /** Region to capture, pixels; default the whole screen. */
  region?: { x: number; y: number; width: number; height: number } | null;
  /** Draw the mouse pointer; default true. */
  drawMouse?: boolean;
}

/** A media file played in real time. */
export interface FileChoice {
  /** Path (or URL) FFmpeg can read. */
  file: string;
  /** Start again at the end; default false. */
  loop?: boolean;
}

/** A capture device for audio, with its mix settings. */
export interface AudioDeviceChoice {
  /** `system` (what the machine plays) or `mic` (an input). */
  device: 'system' | 'mic';
  /** Device name (PulseAudio source, dshow/avfoundation device); default the system default. */
  name?: string | null;
  /** Linear gain in the mix; default 1. */
  gain?: number;
  /** Start muted; default false. */
  muted?: boolean;
}

/** What a session shows. */
export type VideoSourceChoice = 'test' | 'push' | 'screen' | ScreenChoice | FileChoice | VideoSource;

/** One audio source to mix; `file` is the audio of the video's file. */
export type AudioSourceChoice =
  'tone' | 'silence' | 'push' | 'system' | 'mic' | 'file' | AudioDeviceChoice | FileChoice | AudioSource;

/** Sources opened from choices. */
export interface OpenedSources {
  /** The video source, or null for none. */
  readonly video: VideoSource | null;
  /** The audio sources to mix. */
  readonly audio: AudioSource[];
  /** The push sources, when chosen (the app calls them). */
  readonly pushVideo: PushVideoSource | null;
  /** The push audio source, when chosen. */
  readonly pushAudio: PushAudioSource | null;
  /** Device and file sources opened here (for their counters). */
  readonly devices: readonly (DeviceVideoSource | DeviceAudioSource | FileSource)[];
}

/** The capture devices among the opened sources (they can fail and be reopened; files cannot). */
export function captureDevices(sources: OpenedSources | null): (DeviceVideoSource | DeviceAudioSource)[] {
  return (sources?.devices ?? []).filter(
    (d): d is DeviceVideoSource | DeviceAudioSource =>
      d instanceof DeviceVideoSource || d instanceof DeviceAudioSource,
  );
}

/**
 * The opened sources that can fail mid-stream for good (a file that cannot be read on, pushed audio
 * that cannot be converted): each has a `name`, its `error` so far, and a `failed` event.
 */
export function sourcesThatCanFail(sources: OpenedSources | null): (FileSource | PushAudioSource)[] {
  const files = (sources?.devices ?? []).filter((d): d is FileSource => d instanceof FileSource);
  return sources?.pushAudio ? [...files, sources.pushAudio] : files;
}

/** Session geometry the sources are opened for. */
export interface SourceFormat {
  /** Output width, pixels. */
  width: number;
  /** Output height, pixels. */
  height: number;
  /** Frames per second. */
  fps: number;
  /** Sample rate, Hz. */
  sampleRate: number;
  /** Channels. */
  channels: number;
}

/** Opens every chosen source; on failure closes what was opened and rethrows. */
export async function openSources(
  clock: Clock,
  video: VideoSourceChoice | null,
  audio: readonly AudioSourceChoice[] | null,
  format: SourceFormat,
): Promise<OpenedSources> {
  const devices: (DeviceVideoSource | DeviceAudioSource | FileSource)[] = [];
  const files = new Map<string, FileSource>();
  let pushVideo: PushVideoSource | null = null;
  let pushAudio: PushAudioSource | null = null;
  const videoFile = typeof video === 'object' && video !== null && 'file' in video ? video : null;
  const wantsFileAudio = (audio ?? []).some(
    (a) => a === 'file' || (isFileChoice(a) && a.file === videoFile?.file),
  );
  const openFile = async (
    choice: FileChoice,
    withVideo: boolean,
    withAudio: boolean,
  ): Promise<FileSource> => {
    const source = await FileSource.open(clock, {
      path: choice.file,
      loop: choice.loop ?? false,
      video: withVideo,
      audio: withAudio,
      sampleRate: format.sampleRate,
      channels: format.channels,
    });
    devices.push(source);
    return source;
  };
  try {
    let videoSource: VideoSource | null = null;
    if (video === 'test') videoSource = new TestPatternSource(format.width, format.height);
    else if (video === 'push') videoSource = pushVideo = new PushVideoSource(clock);
    else if (video === 'screen' || (typeof video === 'object' && video !== null && 'screen' in video)) {
      const choice: ScreenChoice = video === 'screen' ? { screen: null } : video;
      const screen = await DeviceVideoSource.open(clock, {
        display: choice.screen,
        region: choice.region ?? null,
        drawMouse: choice.drawMouse ?? true,
        fps: format.fps,
      });
      devices.push(screen);
      videoSource = screen;
    } else if (videoFile) {
      const file = await openFile(videoFile, true, wantsFileAudio);
      files.set(videoFile.file, file);
      if (!file.video) throw new ConfigError('video', videoFile.file, 'this file has no video stream');
      videoSource = file.video;
    } else if (video !== null && !('file' in video)) videoSource = video;

    const audioSources: AudioSource[] = [];
    for (const choice of audio ?? []) {
      if (choice === 'tone') audioSources.push(new ToneSource(format.sampleRate, format.channels));
      else if (choice === 'silence') audioSources.push(new SilenceSource(format.channels));
      else if (choice === 'push')
        audioSources.push(
          (pushAudio ??= new PushAudioSource(clock, {
            sampleRate: format.sampleRate,
            channels: format.channels,
          })),
        );
      else if (choice === 'system' || choice === 'mic' || isDeviceChoice(choice)) {
        const spec: AudioDeviceChoice = typeof choice === 'string' ? { device: choice } : choice;
        const source = await DeviceAudioSource.open(clock, {
          kind: spec.device,
          device: spec.name ?? null,
          sampleRate: format.sampleRate,
          channels: format.channels,
        });
        source.gain = spec.gain ?? 1;
        source.muted = spec.muted ?? false;
        devices.push(source);
        audioSources.push(source);
      } else if (choice === 'file' || isFileChoice(choice)) {
        const spec = choice === 'file' ? videoFile : choice;
        if (!spec)
          throw new ConfigError('audio', 'file', 'give the file: --video file:PATH, or --audio file:PATH');
        const file = files.get(spec.file) ?? (await openFile(spec, false, true));
        files.set(spec.file, file);
        if (!file.audio) throw new ConfigError('audio', spec.file, 'this file has no audio stream');
        audioSources.push(file.audio);
      } else audioSources.push(choice);
    }
    return { video: videoSource, audio: audioSources, pushVideo, pushAudio, devices };
  } catch (error) {
    for (const device of devices) device.close();
    throw error;
  }
}

function isFileChoice(choice: AudioSourceChoice): choice is FileChoice {
  return typeof choice === 'object' && 'file' in choice && typeof choice.file === 'string';
}

function isDeviceChoice(choice: AudioSourceChoice): choice is AudioDeviceChoice {
  return (
    typeof choice === 'object' &&
    'device' in choice &&
    (choice.device === 'system' || choice.device === 'mic')
  );
}
