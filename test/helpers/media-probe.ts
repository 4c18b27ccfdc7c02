/**
 * What a server received, as Debian's ffprobe/ffmpeg see it: counts, timestamps, gaps, monotonicity and
 * decode errors of a recording. Times are in seconds (`…S`), as ffprobe reports them.
 */
import { runCommand } from './process.js';

/** A decoding-timestamp step that went backwards (or repeated) within one stream. */
export interface DtsProblem {
  /** Index of the packet within its stream. */
  index: number;
  /** dts of the previous packet, s. */
  previousS: number;
  /** dts of this packet, s. */
  dtsS: number;
}

/** Facts common to the audio and the video stream. */
export interface StreamReport {
  /** Codec name, e.g. 'h264' or 'aac'. */
  codecName: string;
  /** Number of packets. */
  packetCount: number;
  /** pts of the first packet, s. */
  startTimeS: number;
  /** From the first pts to the end (pts + duration) of the last packet, s. */
  durationS: number;
  /** Every dts is ≥ the previous one. */
  dtsMonotonic: boolean;
  /** dts steps that went backwards. */
  dtsBackwards: DtsProblem[];
  /** dts steps that repeated the previous value (not fatal in FLV, but suspicious). */
  dtsRepeats: DtsProblem[];
}

/** Video-specific facts. */
export interface VideoReport extends StreamReport {
  /** Coded width, px. */
  width: number;
  /** Coded height, px. */
  height: number;
  /** Number of video packets (one frame each in FLV). */
  frameCount: number;
  /** pts of every keyframe, s. */
  keyframeTimesS: number[];
  /** The first video packet is a keyframe. */
  firstPacketIsKeyframe: boolean;
}

/** A hole in the audio timeline. */
export interface AudioGap {
  /** Where the hole starts (end of the previous packet), s. */
  atS: number;
  /** Length of the hole, s. */
  gapS: number;
}

/** Audio-specific facts. */
export interface AudioReport extends StreamReport {
  /** Sample rate, Hz. */
  sampleRate: number;
  /** Channel count. */
  channels: number;
  /** pts of every audio packet, s. */
  packetTimesS: number[];
  /** Holes: next pts − (pts + duration) > tolerance (default one AAC frame, 1024 samples). */
  gaps: AudioGap[];
}

/** Everything `probeMedia()` learns about a file. */
export interface MediaReport {
  /** The probed file. */
  file: string;
  /** Container duration, s (as ffprobe reports it; 0 when unknown). */
  formatDurationS: number;
  /** The first video stream, if any. */
  video: VideoReport | undefined;
  /** The first audio stream, if any. */
  audio: AudioReport | undefined;
  /** Lines printed by `ffmpeg -v error -i FILE -f null -`; empty means the file decodes cleanly. */
  decodeErrors: string[];
}

/** Options of `probeMedia()`. */
export interface ProbeOptions {
  /** Audio gap tolerance, s; default one AAC frame (1024 / sample rate). */
  audioGapToleranceS?: number;
  /** Skip the full decode (faster when only timing matters); default false. */
  skipDecode?: boolean;
}

/** One packet as ffprobe's JSON (`-show_packets`) describes it. */
export interface ProbePacket {
  codec_type?: string;
  stream_index?: number;
  pts_time?: string;
  dts_time?: string;
  duration_time?: string;
  flags?: string;
}

/** One stream as ffprobe's JSON (`-show_streams`) describes it. */
export interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
}

/** ffprobe's JSON output: packets, streams, format. */
export interface ProbeOutput {
  packets?: ProbePacket[];
  streams?: ProbeStream[];
  format?: { duration?: string };
}

/** Runs ffprobe (packets, streams) and a full ffmpeg decode on `file` and returns a structured report. */
export async function probeMedia(file: string, options: ProbeOptions = {}): Promise<MediaReport> {
  const probe = await runCommand('ffprobe', [
    '-v',
    'error',
    '-show_streams',
    '-show_packets',
    '-show_format',
    '-of',
    'json',
    file,
  ]);
  if (probe.code !== 0) throw new Error(`ffprobe failed on ${file} (${probe.code}): ${probe.stderr}`);
  const parsed = JSON.parse(probe.stdout) as ProbeOutput;
  const decodeErrors = options.skipDecode === true ? [] : await decodeErrorsOf(file);
  return reportOf(file, parsed, decodeErrors, options);
}

/**
 * The report of a file from its streams and packets in ffprobe's JSON shape, and the decode errors
 * found: shared by this ffprobe probe and by probes reading with other demuxers (node-av).
 */
export function reportOf(
  file: string,
  parsed: ProbeOutput,
  decodeErrors: string[],
  options: ProbeOptions = {},
): MediaReport {
  const streams = parsed.streams ?? [];
  const packets = parsed.packets ?? [];
  const videoStream = streams.find((s) => s.codec_type === 'video');
  const audioStream = streams.find((s) => s.codec_type === 'audio');
  const packetsOf = (s: ProbeStream | undefined): ProbePacket[] =>
    s === undefined ? [] : packets.filter((p) => p.stream_index === s.index);

  return {
    file,
    formatDurationS: Number(parsed.format?.duration ?? 0) || 0,
    video: videoStream === undefined ? undefined : videoReport(videoStream, packetsOf(videoStream)),
    audio:
      audioStream === undefined
        ? undefined
        : audioReport(audioStream, packetsOf(audioStream), options.audioGapToleranceS),
    decodeErrors,
  };
}

/**
 * Lines of `ffmpeg -v error -i FILE -enc_time_base -1 -f null -`; zero lines means the file decodes
 * cleanly. `-enc_time_base -1` keeps the file's own time base (1 ms in FLV) for the null output: with
 * its default, 1/frame rate, frames lying half a frame off the grid that starts at the first packet
 * (an audio packet, since audio and video go out interleaved) round onto the same tick in turn, and
 * the null muxer reports "non monotonically increasing dts" for a recording that is fine. Packet
 * timestamps that really repeat or go back are checked on the probe's packets (dtsRepeats/dtsBackwards).
 */
export async function decodeErrorsOf(file: string): Promise<string[]> {
  const args = ['-nostdin', '-v', 'error', '-i', file, '-enc_time_base', '-1', '-f', 'null', '-'];
  const run = await runCommand('ffmpeg', args, { timeoutMs: 300_000 });
  const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
  if (run.code !== 0 && lines.length === 0) lines.push(`ffmpeg exited with ${run.code}`);
  return lines;
}

const num = (s: string | undefined): number => (s === undefined || s === 'N/A' ? NaN : Number(s));

function streamReport(stream: ProbeStream, packets: readonly ProbePacket[]): StreamReport {
  const pts = packets.map((p) => num(p.pts_time));
  const dts = packets.map((p) => num(p.dts_time ?? p.pts_time));
  const ends = packets.map((p, i) => (pts[i] ?? NaN) + (num(p.duration_time) || 0));
  const dtsBackwards: DtsProblem[] = [];
  const dtsRepeats: DtsProblem[] = [];
  for (let i = 1; i < dts.length; i++) {
    const previousS = dts[i - 1] ?? NaN;
    const dtsS = dts[i] ?? NaN;
    if (dtsS < previousS) dtsBackwards.push({ index: i, previousS, dtsS });
    else if (dtsS === previousS) dtsRepeats.push({ index: i, previousS, dtsS });
  }
  const startTimeS = pts.reduce((a, b) => (Number.isNaN(b) ? a : Math.min(a, b)), Infinity);
  const endS = ends.reduce((a, b) => (Number.isNaN(b) ? a : Math.max(a, b)), -Infinity);
  return {
    codecName: stream.codec_name ?? 'unknown',
    packetCount: packets.length,
    startTimeS: packets.length > 0 ? startTimeS : 0,
    durationS: packets.length > 0 ? endS - startTimeS : 0,
    dtsMonotonic: dtsBackwards.length === 0,
    dtsBackwards,
    dtsRepeats,
  };
}

function videoReport(stream: ProbeStream, packets: readonly ProbePacket[]): VideoReport {
  const keyframeTimesS = packets.filter((p) => p.flags?.startsWith('K') === true).map((p) => num(p.pts_time));
  return {
    ...streamReport(stream, packets),
    width: stream.width ?? 0,
    height: stream.height ?? 0,
    frameCount: packets.length,
    keyframeTimesS,
    firstPacketIsKeyframe: packets[0]?.flags?.startsWith('K') === true,
  };
}

function audioReport(
  stream: ProbeStream,
  packets: readonly ProbePacket[],
  toleranceS: number | undefined,
): AudioReport {
  const sampleRate = Number(stream.sample_rate ?? 0);
  const tolerance = toleranceS ?? (sampleRate > 0 ? 1024 / sampleRate : 0.025);
  // Sort by pts: a gap is a hole in presentation time, whatever order the packets were stored in.
  const timed = packets
    .map((p) => ({ ptsS: num(p.pts_time), durS: num(p.duration_time) || 0 }))
    .sort((a, b) => a.ptsS - b.ptsS);
  const gaps: AudioGap[] = [];
  for (let i = 1; i < timed.length; i++) {
    const prev = timed[i - 1];
    const cur = timed[i];
    if (prev === undefined || cur === undefined) continue;
    const atS = prev.ptsS + prev.durS;
    if (cur.ptsS - atS > tolerance) gaps.push({ atS, gapS: cur.ptsS - atS });
  }
  return {
    ...streamReport(stream, packets),
    sampleRate,
    channels: stream.channels ?? 0,
    packetTimesS: packets.map((p) => num(p.pts_time)),
    gaps,
  };
}
