import { parseArgs } from 'node:util';
import { sleep } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { MonotonicClock } from '../core/monotonic-clock.js';
import { FileRecorder } from '../output/file-recorder.js';
import { MediaSession } from '../session/media-session.js';
import { parseBitrate, parsePositive, parseSize } from './parse.js';
import { openSources } from '../capture/source-choice.js';
import { parseAudioChoices, parseVideoChoice, toAudioSourceChoices, toVideoSourceChoice } from './sources.js';

/** Usage of `steadycast encode`. */
export const ENCODE_USAGE = `steadycast encode <file.flv|.mp4|.mkv> [options]
  Records through the real pipeline (capture clock, encoders, muxer) to a local file.
  --video SOURCE               screen[:DISPLAY_OR_INDEX] | file:PATH | test | none (default test)
  --audio SOURCE               system[:NAME] | mic[:NAME] | file[:PATH] | tone | silence | none
                               (default tone; repeatable to mix)
  --loop                       with file sources: start again at the end
  --size WxH --fps N           default 1280x720, 30
  --video-bitrate 2500k --audio-bitrate 160k --keyint 2 (seconds)
  --encoder libx264 --preset veryfast
  --duration SECONDS           default 10`;

/** Runs `steadycast encode`; resolves to the exit code. */
export async function encodeCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      video: { type: 'string', default: 'test' },
      audio: { type: 'string', multiple: true, default: ['tone'] },
      loop: { type: 'boolean', default: false },
      size: { type: 'string', default: '1280x720' },
      fps: { type: 'string', default: '30' },
      'video-bitrate': { type: 'string', default: '2500k' },
      'audio-bitrate': { type: 'string', default: '160k' },
      keyint: { type: 'string', default: '2' },
      encoder: { type: 'string', default: 'libx264' },
      preset: { type: 'string', default: 'veryfast' },
      duration: { type: 'string', default: '10' },
    },
  });
  const path = positionals[0];
  if (!path || positionals.length > 1)
    throw new ConfigError('output file', positionals.join(' '), 'name one file, e.g. out.flv');
  const videoChoice = parseVideoChoice(values.video);
  const audioChoices = parseAudioChoices(values.audio);
  const { width, height } = parseSize('--size', values.size);
  const fps = parsePositive('--fps', values.fps, 'frames per second');
  const durationS = parsePositive('--duration', values.duration, 'seconds');
  const clock = new MonotonicClock();
  const sources = await openSources(
    clock,
    toVideoSourceChoice(videoChoice, values.loop),
    audioChoices.length ? toAudioSourceChoices(audioChoices, values.loop) : null,
    { width, height, fps, sampleRate: 48000, channels: 2 },
  );
  const videoSource = sources.video;
  const session = await MediaSession.open(clock, {
    video: videoSource
      ? {
          source: videoSource,
          encoder: {
            width,
            height,
            fps,
            bitrateBps: parseBitrate('--video-bitrate', values['video-bitrate']),
            keyframeIntervalS: parsePositive('--keyint', values.keyint, 'seconds'),
            encoder: values.encoder,
            preset: values.preset,
          },
        }
      : null,
    audio: sources.audio.length
      ? {
          sources: sources.audio,
          encoder: { bitrateBps: parseBitrate('--audio-bitrate', values['audio-bitrate']) },
        }
      : null,
  });
  const recorder = await FileRecorder.open(path, session.config);
  session.addSink(recorder);
  session.on('error', (error) => log(`warning: ${error.message}`));
  log(`encoding ${durationS} s to ${path}`);
  session.start();
  await sleep(clock, durationS * 1000);
  await session.stop();
  await recorder.close();
  const stats = session.stats;
  log(
    `done: ${stats.capture?.framesCaptured ?? 0} video frames (${stats.capture?.framesDuplicated ?? 0} duplicated, ` +
      `${stats.capture?.framesLagged ?? 0} lagged), ${recorder.stats.packetsWritten} packets, ` +
      `${(recorder.stats.bytesWritten / 1024).toFixed(0)} KiB written to ${path}`,
  );
  return 0;
}
