/** Debian's ffmpeg as a reference RTMP publisher: a synthetic 320x240@30 H.264 + AAC stream. */
import { runCommand, spawnTracked, type RunResult, type TrackedProcess } from './process.js';

/** Options of the reference publisher. */
export interface FfmpegPublishOptions {
  /** Stream length, s; default 3. */
  durationS?: number;
  /** Keyframe interval, frames; default 60 (2 s at 30 fps). */
  gop?: number;
  /** Extra ffmpeg options placed before the output URL (e.g. ['-tls_verify', '1', '-ca_file', f]). */
  outputArgs?: readonly string[];
}

/** The ffmpeg arguments that publish the reference stream to `url` in real time (-re). */
export function ffmpegPublishArgs(url: string, options: FfmpegPublishOptions = {}): string[] {
  return ['-nostdin', '-hide_banner', '-loglevel', 'error', '-re'].concat(
    ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30'],
    ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ['-t', String(options.durationS ?? 3)],
    ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', String(options.gop ?? 60)],
    ['-c:a', 'aac', '-b:a', '128k'],
    [...(options.outputArgs ?? []), '-f', 'flv', url],
  );
}

/** Publishes the reference stream and resolves when ffmpeg exits (code 0 = the server took it all). */
export function publishWithFfmpeg(url: string, options: FfmpegPublishOptions = {}): Promise<RunResult> {
  const timeoutMs = ((options.durationS ?? 3) + 20) * 1000;
  return runCommand('ffmpeg', ffmpegPublishArgs(url, options), { timeoutMs });
}

/** Starts the reference publisher in the background (stop it with `stopProcess(p, 'SIGINT')` from process.js). */
export function startFfmpegPublisher(url: string, options: FfmpegPublishOptions = {}): TrackedProcess {
  return spawnTracked('ffmpeg', ffmpegPublishArgs(url, options));
}
