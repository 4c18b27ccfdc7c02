import type { AudioSource, VideoSource } from '../capture/source.js';
import { TestPatternSource } from '../capture/test-pattern.js';
import { SilenceSource, ToneSource } from '../capture/tone-source.js';
import { ConfigError } from '../core/errors.js';

/** Video sources the CLI knows. */
export type VideoChoice = 'test' | 'none';
/** Audio sources the CLI knows. */
export type AudioChoice = 'tone' | 'silence' | 'none';

/** Checks a --video value. */
export function parseVideoChoice(text: string): VideoChoice {
  if (text === 'test' || text === 'none') return text;
  throw new ConfigError('--video', text, 'use test or none');
}

/** Checks an --audio value. */
export function parseAudioChoice(text: string): AudioChoice {
  if (text === 'tone' || text === 'silence' || text === 'none') return text;
  throw new ConfigError('--audio', text, 'use tone, silence or none');
}

/** Builds the video source for a choice (null for none). */
export function makeVideoSource(choice: VideoChoice, width: number, height: number): VideoSource | null {
  return choice === 'test' ? new TestPatternSource(width, height) : null;
}

/** Builds the audio source for a choice (null for none). */
export function makeAudioSource(
  choice: AudioChoice,
  sampleRate: number,
  channels: number,
): AudioSource | null {
  if (choice === 'tone') return new ToneSource(sampleRate, channels);
  if (choice === 'silence') return new SilenceSource(channels);
  return null;
}
