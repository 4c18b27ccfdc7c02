import { sleep, type Clock } from '../core/clock.js';
import { MediaError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { MediaReader } from './media-reader.js';
import { PcmFifo } from './pcm-fifo.js';
import { PlaybackTimeline } from './playback-timeline.js';
import type { SharedPicture } from '../ffmpeg/shared-picture.js';
import type { AudioSource, VideoSource } from './source.js';
import { MEDIA_DEFAULTS } from '../media/defaults.js';

/** Options of a file source. */
export interface FileSourceOptions {
  /** The media file (anything FFmpeg reads). */
  path: string;
  /** Start again at the end; default false. */
  loop?: boolean;
  /** Play its video; default true when it has some. */
  video?: boolean;
  /** Play its audio; default true when it has some. */
  audio?: boolean;
  /** Session sample rate, Hz; default 48000. */
  sampleRate?: number;
  /** Session channel count; default 2. */
  channels?: number;
  /** How far decoding runs ahead of playback, ms; default 100 (under the AudioEngine's 200 ms trim). */
  leadMs?: number;
}

/** Counters of a file source. */
export interface FileSourceStats {
  /** Pictures decoded. */
  readonly framesDecoded: number;
  /** Pictures handed to the CaptureLoop. */
  readonly framesShown: number;
  /** Pictures skipped because a newer one was already due (the session runs at a lower rate). */
  readonly framesSkipped: number;
  /** Session time of the first and last picture shown, microseconds (null before any). */
  readonly firstShownUs: number | null;
  /** Session time of the last picture shown, microseconds. */
  readonly lastShownUs: number | null;
  /** Audio sample frames handed to the AudioEngine. */
  readonly audioFramesRead: number;
  /** Completed loops. */
  readonly loops: number;
  /** Playback time line length so far (all passes), microseconds. */
  readonly mediaEndUs: number;
  /** True once a non-looping file has played out. */
  readonly ended: boolean;
}

/** Events of a file source. */
export type FileSourceEvents = {
  /**
   * Reading or decoding the file failed mid-stream (file gone, corrupt, network source lost). It is
   * not retried; the session goes on with the last picture repeated and silence, both counted.
   */
  failed: [error: Error];
};

interface QueuedFrame {
  readonly atUs: number;
  readonly picture: SharedPicture;
}

/**
 * A media file played in real time on the session clock — the "restream a file" case. One demux
 * loop (one read at a time; see MediaReader's `readInline`) decodes at most `leadMs` ahead of
 * playback, and once there sleeps until half of that is left. Video
 * goes to the CaptureLoop with newest-frame-due semantics; audio goes into a FIFO the AudioEngine
 * reads on its clock. Playback starts at the first `grab()` or `read()` (when the session starts).
 * Pictures go out by reference, never copied: the source holds each one until it shows the next.
 */
export class FileSource extends TypedEmitter<FileSourceEvents> {
  /** `file <path>`: the source's name in events and logs. */
  readonly name: string;
  /** The file's video, or null. */
  readonly video: VideoSource | null;
  /** The file's audio, or null. */
  readonly audio: AudioSource | null;
  readonly #clock: Clock;
  readonly #reader: MediaReader;
  readonly #loop: boolean;
  readonly #leadUs: number;
  readonly #sampleRate: number;
  readonly #channels: number;
  readonly #timeline = new PlaybackTimeline();
  readonly #queue: QueuedFrame[] = [];
  /** The picture shown last: the CaptureLoop repeats it until a newer one is due. */
  #shownPicture: SharedPicture | null = null;
  readonly #fifo: PcmFifo;
  readonly #stopped: AbortController = new AbortController();
  #anchorUs: number | null = null;
  #decodedAheadUs = 0;
  #frameDurationUs = 1e6 / 30;
  #decoded = 0;
  #shown = 0;
  #skipped = 0;
  #firstShownUs: number | null = null;
  #lastShownUs: number | null = null;
  #audioRead = 0;
  #eof = false;
  #error: Error | null = null;
  #closed = false;
  readonly #done: Promise<void>;
  #primed: (() => void) | null = null;
  readonly #ready: Promise<void>;

  private constructor(clock: Clock, reader: MediaReader, options: Required<FileSourceOptions>) {
    super();
    this.name = `file ${options.path}`;
    this.#clock = clock;
    this.#reader = reader;
    this.#loop = options.loop;
    this.#leadUs = options.leadMs * 1000;
    this.#sampleRate = options.sampleRate;
    this.#channels = options.channels;
    this.#fifo = new PcmFifo(options.channels);
    const fps = reader.videoInfo?.fps;
    if (fps) this.#frameDurationUs = 1e6 / fps;
    this.video = reader.videoInfo && options.video ? this.#videoSource() : null;
    this.audio = reader.hasAudio && options.audio ? this.#audioSource() : null;
    this.#ready = new Promise((resolve) => (this.#primed = resolve));
    this.#done = this.#run();
    void this.#done.finally(() => this.#primed?.());
  }

  /** Opens `options.path`; rejects with a MediaError when it cannot be read. */
  static async open(clock: Clock, options: FileSourceOptions): Promise<FileSource> {
    const full: Required<FileSourceOptions> = {
      loop: false,
      video: true,
      audio: true,
      sampleRate: MEDIA_DEFAULTS.audio.sampleRate,
      channels: MEDIA_DEFAULTS.audio.channels,
      leadMs: 100,
      ...options,
    };
    const reader = await MediaReader.open(full.path, {
      format: null,
      options: {},
      video: full.video,
      audio: full.audio,
      sampleRate: full.sampleRate,
      channels: full.channels,
      sharePictures: true,
      readInline: clock,
    });
    const source = new FileSource(clock, reader, full);
    // Playback starts with the session: have the first `leadMs` decoded by then.
    await source.#ready;
    return source;
  }

  /** Snapshot of the counters. */
  get stats(): FileSourceStats {
    return {
      framesDecoded: this.#decoded,
      framesShown: this.#shown,
      framesSkipped: this.#skipped,
      firstShownUs: this.#firstShownUs,
      lastShownUs: this.#lastShownUs,
      audioFramesRead: this.#audioRead,
      loops: this.#timeline.loops,
      mediaEndUs: this.#timeline.endUs,
      ended: this.#eof && this.#queue.length === 0 && this.#fifo.frames === 0,
    };
  }

  /** The error that stopped decoding (reported by `failed` when it happened), or null. */
  get error(): Error | null {
    return this.#error;
  }

  /** Stops decoding and frees the file once the read in flight returns; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped.abort();
    for (const queued of this.#queue) queued.picture.release();
    this.#queue.length = 0;
    this.#shownPicture?.release();
    this.#shownPicture = null;
    this.#fifo.clear();
  }

  /** Resolves when decoding has stopped (end of a non-looping file, or after `close()`). */
  finished(): Promise<void> {
    return this.#done;
  }

  #playheadUs(): number {
    this.#anchorUs ??= this.#clock.nowUs();
    return this.#clock.nowUs() - this.#anchorUs;
  }

  #videoSource(): VideoSource {
    return {
      name: 'file video',
      grab: (_index, deadlineUs) => {
        this.#anchorUs ??= this.#clock.nowUs();
        const dueUs = deadlineUs - this.#anchorUs;
        let frame: QueuedFrame | null = null;
        // Newest picture due by this deadline (half a millisecond of rounding allowed).
        while (this.#queue.length > 0 && (this.#queue[0]?.atUs ?? Infinity) <= dueUs + 500) {
          if (frame) {
            this.#skipped++;
            frame.picture.release();
          }
          frame = this.#queue.shift() ?? null;
        }
        if (!frame) return null;
        this.#shown++;
        this.#firstShownUs ??= deadlineUs;
        this.#lastShownUs = deadlineUs;
        // Whoever kept the previous picture (an encoder's queue) holds its own reference to it.
        this.#shownPicture?.release();
        this.#shownPicture = frame.picture;
        return frame.picture;
      },
      close: () => this.close(),
    };
  }

  #audioSource(): AudioSource {
    const fifo = this.#fifo;
    return {
      name: 'file audio',
      gain: 1,
      muted: false,
      get bufferedFrames() {
        return fifo.frames;
      },
      read: (out, frames) => {
        this.#anchorUs ??= this.#clock.nowUs();
        const got = fifo.take(out, frames);
        this.#audioRead += got;
        return got;
      },
      discard: (frames) => void fifo.take(null, frames),
      close: () => this.close(),
    };
  }

  async #run(): Promise<void> {
    try {
      while (!this.#closed) {
        const aheadUs = this.#decodedAheadUs - (this.#anchorUs === null ? 0 : this.#playheadUs());
        if (aheadUs > this.#leadUs) {
          this.#primed?.();
          // Sleep until half the lead is left, then read until it is full again: a few packets per
          // wake-up instead of one timer per packet.
          const sleepMs = Math.min(50, (aheadUs - this.#leadUs / 2) / 1000);
          await sleep(this.#clock, sleepMs, this.#stopped.signal);
          continue;
        }
        const items = await this.#reader.read();
        if (items === null) {
          if (!this.#loop) break;
          this.#timeline.wrap();
          await this.#reader.rewind();
          continue;
        }
        for (const item of items) {
          if (item.kind === 'video') continue; // only pictures by reference were asked for
          if (item.kind === 'picture') {
            if (this.#closed || !this.video) {
              item.picture.release();
              continue;
            }
            const durationUs = item.durationUs ?? this.#frameDurationUs;
            const atUs = this.#timeline.map(item.ptsUs, durationUs);
            this.#decoded++;
            this.#queue.push({ atUs, picture: item.picture });
            this.#decodedAheadUs = Math.max(this.#decodedAheadUs, atUs);
          } else {
            if (this.#closed || !this.audio) continue;
            const frames = item.samples.length / this.#channels;
            const durationUs = (frames * 1e6) / this.#sampleRate;
            const atUs = this.#timeline.map(item.ptsUs, durationUs, 'audio');
            this.#fifo.push(item.samples);
            this.#decodedAheadUs = Math.max(this.#decodedAheadUs, atUs + durationUs);
          }
        }
      }
      this.#eof = true;
    } catch (error) {
      if (!this.#closed) {
        this.#error = error instanceof Error ? error : new MediaError(`playing ${this.name}`, String(error));
        this.emitGuarded('failed', this.#error);
      }
    } finally {
      await this.#reader.close();
    }
  }
}
