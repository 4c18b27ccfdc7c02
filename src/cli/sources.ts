import type { AudioSourceChoice, VideoSourceChoice } from '../capture/source-choice.js';
import { listDevices, type DeviceList } from '../capture/device-inputs.js';
import { ConfigError } from '../core/errors.js';

/** A `--video` value, parsed. */
export type VideoChoice =
  | { kind: 'test' }
  | { kind: 'none' }
  | { kind: 'screen'; display: string | null }
  | { kind: 'file'; path: string };

/** One `--audio` value, parsed. */
export type AudioChoice =
  | { kind: 'tone' | 'silence' | 'none' }
  | { kind: 'system' | 'mic'; device: string | null }
  | { kind: 'file'; path: string | null };

const VIDEO_FIX = 'use screen[:DISPLAY_OR_INDEX], file:PATH, test or none';
const AUDIO_FIX = 'use system[:NAME], mic[:NAME], file[:PATH], tone, silence or none (repeat --audio to mix)';

/** Parses a `--video` value: `screen[:DISPLAY_OR_INDEX]`, `file:PATH`, `test` or `none`. */
export function parseVideoChoice(text: string): VideoChoice {
  if (text === 'test' || text === 'none') return { kind: text };
  if (text === 'screen') return { kind: 'screen', display: null };
  if (text.startsWith('screen:') && text.length > 'screen:'.length) {
    return { kind: 'screen', display: text.slice('screen:'.length) };
  }
  if (text.startsWith('file:') && text.length > 'file:'.length) return { kind: 'file', path: text.slice(5) };
  throw new ConfigError('--video', text, VIDEO_FIX);
}

/** Parses one `--audio` value: `system[:NAME]`, `mic[:NAME]`, `file[:PATH]`, `tone`, `silence` or `none`. */
export function parseAudioChoice(text: string): AudioChoice {
  if (text === 'tone' || text === 'silence' || text === 'none') return { kind: text };
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? null : text.slice(colon + 1);
  if (rest === '') throw new ConfigError('--audio', text, AUDIO_FIX);
  if (head === 'system' || head === 'mic') return { kind: head, device: rest };
  if (head === 'file') return { kind: 'file', path: rest };
  throw new ConfigError('--audio', text, AUDIO_FIX);
}

/** Parses every `--audio` (repeatable); `none` alone means no audio, and does not mix with others. */
export function parseAudioChoices(texts: readonly string[]): AudioChoice[] {
  const choices = texts.map(parseAudioChoice);
  const sources = choices.filter((c) => c.kind !== 'none');
  if (sources.length > 0 && sources.length < choices.length) {
    throw new ConfigError('--audio', texts.join(' '), '"none" cannot be mixed with other sources');
  }
  return sources;
}

/** The Streamer/session choice for a parsed `--video` (null for none). */
export function toVideoSourceChoice(choice: VideoChoice, loop: boolean): VideoSourceChoice | null {
  switch (choice.kind) {
    case 'none':
      return null;
    case 'test':
      return 'test';
    case 'screen':
      return { screen: choice.display };
    case 'file':
      return { file: choice.path, loop };
  }
}

/** The Streamer/session choices for parsed `--audio` values (empty for none). */
export function toAudioSourceChoices(choices: readonly AudioChoice[], loop: boolean): AudioSourceChoice[] {
  return choices.flatMap((choice): AudioSourceChoice[] => {
    switch (choice.kind) {
      case 'none':
        return [];
      case 'tone':
      case 'silence':
        return [choice.kind];
      case 'system':
      case 'mic':
        return [{ device: choice.kind, name: choice.device }];
      case 'file':
        return [choice.path === null ? 'file' : { file: choice.path, loop }];
    }
  });
}

/** Formats what `--list-devices` prints. */
export function formatDeviceList(list: DeviceList): string {
  const lines = ['screens (--video screen:NAME):'];
  lines.push(...(list.screens.length ? list.screens.map((s) => `  ${s}`) : ['  (none found)']));
  lines.push('audio capture (--audio mic:NAME, or system:NAME for a monitor):');
  lines.push(
    ...(list.audio.length ? list.audio.map((a) => `  ${a.name}  — ${a.description}`) : ['  (none found)']),
  );
  for (const note of list.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/** Prints the platform's capture devices to stdout. */
export async function printDeviceList(write: (text: string) => void): Promise<void> {
  write(`${formatDeviceList(await listDevices())}\n`);
}
