/** H.264 NAL unit types that matter here (ITU-T H.264 Table 7-1). */
export const NAL_SLICE = 1;
export const NAL_IDR_SLICE = 5;
export const NAL_SEI = 6;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_AUD = 9;

/** Splits an Annex-B byte stream (3- or 4-byte start codes) into NAL unit payloads. */
export function splitAnnexB(data: Buffer): Buffer[] {
  const units: Buffer[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < data.length) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) units.push(trimTrailingZeros(data.subarray(start, i)));
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0 && start < data.length) units.push(data.subarray(start));
  return units.filter((u) => u.length > 0);
}

function trimTrailingZeros(unit: Buffer): Buffer {
  // The zero_byte before a 4-byte start code belongs to the next start code, not to this unit.
  let end = unit.length;
  while (end > 0 && unit[end - 1] === 0) end--;
  return unit.subarray(0, end);
}

/** What one encoded access unit holds, read from its NAL headers. */
export interface AccessUnitInfo {
  /** AVCC: each NAL unit prefixed with its 4-byte big-endian length; AUDs removed. */
  readonly avcc: Buffer;
  /** Contains an IDR slice. */
  readonly idr: boolean;
  /** Some slice has nal_ref_idc ≠ 0: later frames may reference this one. */
  readonly reference: boolean;
}

/**
 * Converts one Annex-B access unit (what FFmpeg's H.264 encoders emit) to AVCC, the
 * length-prefixed form FLV and RTMP carry (ISO/IEC 14496-15 §5.3.4.2), dropping access unit
 * delimiters, and reports whether it is an IDR and whether it is a reference picture.
 */
export function annexBToAvcc(data: Buffer): AccessUnitInfo {
  const units = splitAnnexB(data).filter((u) => ((u[0] ?? 0) & 0x1f) !== NAL_AUD);
  let idr = false;
  let reference = false;
  let total = 0;
  for (const unit of units) {
    const header = unit[0] ?? 0;
    const type = header & 0x1f;
    if (type === NAL_IDR_SLICE) idr = true;
    if ((type === NAL_SLICE || type === NAL_IDR_SLICE) && (header & 0x60) !== 0) reference = true;
    total += 4 + unit.length;
  }
  const avcc = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const unit of units) {
    avcc.writeUInt32BE(unit.length, offset);
    unit.copy(avcc, offset + 4);
    offset += 4 + unit.length;
  }
  return { avcc, idr, reference };
}
