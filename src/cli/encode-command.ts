import { parseArgs } from 'node:util';
import { sleep } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { MonotonicClock } from '../core/monotonic-clock.js';
import { FileRecorder } from '../output/file-recorder.js';
import { MediaSession } from '../session/media-session.js';
import { captureDevices, openSources } from '../capture/source-choice.js';
import { MEDIA_OPTIONS, MEDIA_USAGE, parseMediaOptions } from './media-options.js';
import { parsePositive } from './parse.js';
import { formatDeviceBack, formatDeviceFailed } from './status-line.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

/** Usage of `steadycast encode`. */
export const ENCODE_USAGE = `steadycast encode <file.flv|.mp4|.mkv> [options]
  Records through the real pipeline (capture clock, encoders, muxer) to a local file.
${MEDIA_USAGE}
  --duration SECONDS           default 10`;

/** Runs `steadycast encode`; resolves to the exit code. */
export async function encodeCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...MEDIA_OPTIONS, duration: { type: 'string', default: '10' } },
  });
  const path = positionals[0];
  if (!path || positionals.length > 1)
    throw new ConfigError('output file', positionals.join(' '), 'name one file, e.g. out.flv');
  const media = parseMediaOptions(values);
  const { width, height, fps } = media;
  const durationS = parsePositive('--duration', values.duration, 'seconds');
  const clock = new MonotonicClock();
  const sources = await openSources(clock, media.video, media.audio.length ? media.audio : null, {
    width,
    height,
    fps,
    sampleRate: MEDIA_DEFAULTS.audio.sampleRate,
    channels: MEDIA_DEFAULTS.audio.channels,
  });
  for (const device of captureDevices(sources)) {
    device.on('failed', (error) => log(formatDeviceFailed(error, 'recording')));
    device.on('recovered', (outageMs) => log(formatDeviceBack(device.name, outageMs)));
  }
  const videoSource = sources.video;
  const session = await MediaSession.open(clock, {
    video: videoSource
      ? {
          source: videoSource,
          encoder: {
            width,
            height,
            fps,
            bitrateBps: media.videoBitrateBps,
            keyframeIntervalS: media.keyframeIntervalS,
            encoder: media.encoder,
            preset: media.preset,
          },
        }
      : null,
    audio: sources.audio.length
      ? {
          sources: sources.audio,
          encoder: { bitrateBps: media.audioBitrateBps },
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
