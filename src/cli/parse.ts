import { ConfigError } from '../core/errors.js';

/** Parses a bitrate such as `2500k`, `2.5M` or `800000` into bits per second. */
export function parseBitrate(field: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!match) throw new ConfigError(field, text, 'write a bitrate like 2500k, 2.5M or 800000');
  const unit = match[2]?.toLowerCase();
  const scale = unit === 'k' ? 1000 : unit === 'm' ? 1_000_000 : 1;
  return Math.round(Number(match[1]) * scale);
}

/** Parses `WxH` into even integer dimensions. */
export function parseSize(field: string, text: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!match) throw new ConfigError(field, text, 'write the size as WIDTHxHEIGHT, e.g. 1280x720');
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** Parses a positive number, with a unit named in the error. */
export function parsePositive(field: string, text: string, unit: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(field, text, `give a positive number of ${unit}`);
  return value;
}
