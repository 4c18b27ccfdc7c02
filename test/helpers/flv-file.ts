/**
 * Writes an FLV file from tag bodies (FLV spec v10.1 §E.2–E.3: header, PreviousTagSize0, then each tag
 * and its PreviousTagSize), so unit tests can hand what our muxer produces to a real demuxer.
 */

/** One tag to write. */
export interface FlvFileTag {
  /** 8 audio, 9 video, 18 script data. */
  readonly type: 8 | 9 | 18;
  /** Tag timestamp, ms (≥ 0). */
  readonly timestampMs: number;
  /** The tag body (what an RTMP message of that type carries). */
  readonly body: Buffer;
}

/** An FLV file holding `tags`, with the header's audio/video flags set from the tag types present. */
export function flvFile(tags: readonly FlvFileTag[]): Buffer {
  const hasAudio = tags.some((t) => t.type === 8);
  const hasVideo = tags.some((t) => t.type === 9);
  const header = Buffer.from([
    0x46,
    0x4c,
    0x56,
    1,
    (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0),
    0,
    0,
    0,
    9,
    0,
    0,
    0,
    0,
  ]);
  const parts: Buffer[] = [header];
  for (const tag of tags) {
    if (!(tag.timestampMs >= 0)) throw new RangeError(`tag timestamp ${tag.timestampMs} ms is negative`);
    const head = Buffer.alloc(11);
    head[0] = tag.type;
    head.writeUIntBE(tag.body.length, 1, 3);
    head.writeUIntBE(tag.timestampMs & 0xffffff, 4, 3);
    head[7] = (tag.timestampMs >>> 24) & 0xff;
    const size = Buffer.alloc(4);
    size.writeUInt32BE(11 + tag.body.length, 0);
    parts.push(head, tag.body, size);
  }
  return Buffer.concat(parts);
}
