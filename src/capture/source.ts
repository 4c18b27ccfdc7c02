import type { VideoPicture } from '../ffmpeg/shared-picture.js';

/** Something that supplies pictures to the CaptureLoop (test pattern, screen, app pushes, file). */
export interface VideoSource {
  /** Short name for logs and errors. */
  readonly name: string;
  /**
   * Called at each frame deadline: the newest picture since the previous call, or null when
   * nothing new arrived (the CaptureLoop then repeats the last picture). Must not block. A
   * SharedPicture stays valid until the source returns a newer picture or closes.
   */
  grab(frameIndex: number, deadlineUs: number): VideoPicture | null;
  /** Releases the source's resources; idempotent. */
  close(): void;
}

/** Something that supplies PCM to the AudioEngine, already at the session's rate and channel count. */
export interface AudioSource {
  /** Short name for logs and errors. */
  readonly name: string;
  /** Linear gain applied when mixing (1 = unchanged). */
  gain: number;
  /** Muted sources are still read (their clock keeps pace) but mixed as silence. */
  muted: boolean;
  /**
   * Copies up to `frames` sample frames, interleaved at the session's channel count, into `out`
   * starting at index 0; returns how many frames it had. Must not block.
   */
  read(out: Float32Array, frames: number): number;
  /** Frames held and not yet read (push sources); generators hold none. */
  readonly bufferedFrames: number;
  /** Throws away the oldest `frames` held frames (the clock wins over a source that runs ahead). */
  discard(frames: number): void;
  /** Releases the source's resources; idempotent. */
  close(): void;
}
