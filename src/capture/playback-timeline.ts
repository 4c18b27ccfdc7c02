/**
 * Maps a media file's own timestamps onto a playback time line that starts at 0 and never goes
 * backwards, across loops: each pass is offset by the length of the passes before it. The session
 * clock stamps what is sent; these times only pace the file (pure, no I/O).
 */
export class PlaybackTimeline {
  #firstPtsUs: number | null = null;
  #offsetUs = 0;
  #passEndUs = 0;
  readonly #lastUs = new Map<string, number>();
  #loops = 0;

  /** Completed passes (loops) so far. */
  get loops(): number {
    return this.#loops;
  }

  /** End of the media seen so far on the playback time line, microseconds. */
  get endUs(): number {
    return this.#offsetUs + this.#passEndUs;
  }

  /**
   * Playback time of an item with media time `ptsUs` (null: right after the previous item) lasting
   * `durationUs` in stream `stream`; never earlier than that stream's previous item.
   */
  map(ptsUs: number | null, durationUs: number, stream = 'video'): number {
    this.#firstPtsUs ??= ptsUs ?? 0;
    const last = this.#lastUs.get(stream) ?? this.#offsetUs;
    const local = ptsUs === null ? last - this.#offsetUs : ptsUs - this.#firstPtsUs;
    const t = Math.max(last, this.#offsetUs + Math.max(0, local));
    this.#lastUs.set(stream, t);
    this.#passEndUs = Math.max(this.#passEndUs, t - this.#offsetUs + Math.max(0, durationUs));
    return t;
  }

  /** The file starts again: the next pass begins where this one ended. */
  wrap(): void {
    this.#offsetUs += this.#passEndUs;
    for (const stream of this.#lastUs.keys()) this.#lastUs.set(stream, this.#offsetUs);
    this.#passEndUs = 0;
    this.#loops++;
  }
}
