import { describe, expect, it } from 'vitest';
import { REPEAT_WINDOW_MS, RepeatFilter } from '../../../src/cli/ffmpeg-log.js';
import { FakeClock } from '../../helpers/fake-clock.js';

describe('RepeatFilter (FFmpeg log lines on the CLI)', () => {
  it('shows a message once per window, whatever object address it names', () => {
    const clock = new FakeClock();
    const filter = new RepeatFilter(clock);
    expect(filter.accept('[x11grab @ 0x7f0620000c00] Cannot open display :97, error 1.\n')).toBe(true);
    clock.advance(5000);
    expect(filter.accept('[x11grab @ 0x7f05ec003ec0] Cannot open display :97, error 1.\n')).toBe(false);
    expect(filter.accept('[x11grab @ 0x7f05ec003ec0] Failed to query xcb pointer\n')).toBe(true);
    clock.advance(REPEAT_WINDOW_MS - 5000);
    expect(filter.accept('[x11grab @ 0x7f0608000000] Cannot open display :97, error 1.\n')).toBe(true);
  });

  it('lets different messages through at once', () => {
    const filter = new RepeatFilter(new FakeClock());
    expect(['a', 'b', 'c'].map((m) => filter.accept(m))).toEqual([true, true, true]);
  });
});
