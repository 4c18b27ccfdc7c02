import { describe, expect, it } from 'vitest';
import { CaptureLoop, captureLoopDefaults } from '../../../src/capture/capture-loop.js';
import { InvalidStateError } from '../../../src/core/errors.js';
import type { VideoSource } from '../../../src/capture/source.js';
import type { VideoPicture } from '../../../src/ffmpeg/shared-picture.js';
import type { CapturedFrame, RawVideoFrame } from '../../../src/media/frames.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { mulberry32 } from '../../helpers/prng.js';

// Mutation testing (npm run test:mutation) leaves these survivors, equivalent:
// - `due > expectedFrame` → `>=`/`true` before counting lagged frames: `due` is never below
//   `expectedFrame` (the tick returns first when the media ended), and at equality it adds 0;
// - `if (this.#endUs === Infinity) return Infinity` → `if (false)`: the formula after it gives
//   Infinity for an infinite end too.

const picture = (n: number): RawVideoFrame => ({
  format: 'i420',
  width: 2,
  height: 2,
  data: Buffer.alloc(6, n),
});

class ScriptedSource implements VideoSource {
  readonly name = 'scripted';
  stalled = false;
  grabs = 0;
  grab(): RawVideoFrame | null {
    this.grabs++;
    return this.stalled ? null : picture(this.grabs);
  }
  close(): void {}
}

function run(fps: number, clock = new FakeClock(), source: VideoSource = new ScriptedSource()) {
  const frames: CapturedFrame<VideoPicture>[] = [];
  const loop = new CaptureLoop(clock, source, (f) => frames.push(f), { fps });
  loop.start();
  return { loop, frames, clock };
}

describe('CaptureLoop', () => {
  it('emits floor(t·fps)+1 frames stamped exactly at their deadlines, whatever the advance steps', () => {
    for (const fps of [30, 25, 60, 29.97]) {
      const random = mulberry32(fps * 100);
      const clock = new FakeClock();
      clock.advance(123);
      const { loop, frames } = run(fps, clock);
      const seconds = 7.3;
      let advanced = 0;
      while (advanced < seconds * 1000) {
        const step = Math.min(seconds * 1000 - advanced, random() * 50);
        clock.advance(step);
        advanced += step;
      }
      loop.stop();
      expect(frames.length).toBe(Math.floor(seconds * fps + 1e-9) + 1);
      frames.forEach((f, i) => {
        expect(f.index).toBe(i);
        expect(f.ptsUs).toBe(Math.round(123_000 + (i * 1e6) / fps));
      });
      expect(loop.stats.framesLagged).toBe(0);
      expect(loop.stats.tickLateness.maxMs).toBeLessThan(1e-6);
    }
  });

  it('timer jitter never accumulates: timers firing up to 0.9 frame late still give every frame at its own deadline', () => {
    const fps = 30;
    const intervalMs = 1000 / fps;
    const random = mulberry32(7);
    const clock = new FakeClock();
    clock.timerLatenessMs = () => random() * 0.9 * intervalMs;
    const { loop, frames } = run(fps, clock);
    clock.advance(10_000);
    loop.stop();
    // A loop that rescheduled relative to "now" would drift ~15 ms per frame and emit about a third fewer.
    expect(frames.length).toBeGreaterThanOrEqual(300);
    expect(frames.length).toBeLessThanOrEqual(301);
    frames.forEach((f, i) => expect(f.ptsUs).toBe(Math.round((i * 1e6) / fps)));
    expect(loop.stats.framesLagged).toBe(0);
    const lateness = loop.stats.tickLateness;
    expect(lateness.maxMs).toBeGreaterThan(0.5 * intervalMs);
    expect(lateness.maxMs).toBeLessThan(0.9 * intervalMs);
  });

  it('duplicates the last picture when the source has nothing new, and counts it', () => {
    const source = new ScriptedSource();
    const { loop, frames, clock } = run(30, new FakeClock(), source);
    clock.advance(1000);
    source.stalled = true;
    clock.advance(500);
    source.stalled = false;
    clock.advance(500);
    loop.stop();
    expect(frames.length).toBe(61);
    const dups = frames.filter((f) => f.duplicate);
    expect(dups.length).toBe(loop.stats.framesDuplicated);
    expect(dups.length).toBe(15);
    for (const d of dups) expect(d.frame).toBe(frames[30]?.frame);
  });

  it('counts deadlines missed while the loop was blocked as lagged and stamps the next frame at its own deadline', () => {
    const { loop, frames, clock } = run(30);
    clock.advance(100); // frames 0..3
    clock.block(105); // the event loop is stuck past frames 4..6
    clock.advance(0.1); // the overdue timer fires at once, at 205 ms: inside frame 6's interval
    loop.stop();
    expect(loop.stats.framesLagged).toBe(2);
    const last = frames[frames.length - 1];
    expect(last?.index).toBe(6);
    expect(last?.ptsUs).toBe(200_000);
    expect(loop.expectedFrame).toBe(7);
    expect(loop.stats.tickLateness.maxMs).toBeCloseTo(5, 6);
  });

  it('a late tick that runs exactly on a later deadline serves that deadline, not the one before', () => {
    const { loop, frames, clock } = run(10);
    clock.advance(100); // frames 0, 1
    clock.block(200); // 300 ms: exactly frame 3's deadline
    clock.advance(0.1);
    loop.stop();
    expect(frames.map((f) => [f.index, f.ptsUs])).toEqual([
      [0, 0],
      [1, 100_000],
      [3, 300_000],
    ]);
    expect(loop.stats.framesLagged).toBe(1);
  });

  it('shows the placeholder until the source delivers its first picture', () => {
    const clock = new FakeClock();
    const placeholder = picture(0);
    let ready = false;
    const source: VideoSource = { name: 'late', grab: () => (ready ? picture(9) : null), close: () => {} };
    const frames: CapturedFrame<VideoPicture>[] = [];
    const loop = new CaptureLoop(clock, source, (f) => frames.push(f), { fps: 10, placeholder });
    loop.start();
    clock.advance(250);
    ready = true;
    clock.advance(100);
    loop.stop();
    expect(frames.slice(0, 3).every((f) => f.frame === placeholder && f.duplicate)).toBe(true);
    expect(frames[3]?.duplicate).toBe(false);
    expect(loop.stats.framesMissing).toBe(0);
  });

  it('defaults to 30 fps', () => {
    expect(captureLoopDefaults()).toEqual({ fps: 30 });
    const loop = new CaptureLoop(new FakeClock(), new ScriptedSource(), () => {});
    expect(loop.frameIntervalNs).toBeCloseTo(1e9 / 30, 3);
  });

  it.each([0, 0.5, 241, 1000, Number.NaN, Infinity])('refuses %s fps, naming video.fps', (fps) => {
    expect(() => new CaptureLoop(new FakeClock(), new ScriptedSource(), () => {}, { fps })).toThrow(
      expect.objectContaining({ name: 'ConfigError', field: 'video.fps' }),
    );
  });

  it.each([1, 240, 29.97])('accepts %s fps', (fps) => {
    expect(new CaptureLoop(new FakeClock(), new ScriptedSource(), () => {}, { fps }).frameIntervalNs).toBe(
      1e9 / fps,
    );
  });

  it('emits nothing and counts the deadlines as missing until the first picture when there is no placeholder', () => {
    const clock = new FakeClock();
    let ready = false;
    const source: VideoSource = { name: 'late', grab: () => (ready ? picture(9) : null), close: () => {} };
    const frames: CapturedFrame<VideoPicture>[] = [];
    const loop = new CaptureLoop(clock, source, (f) => frames.push(f), { fps: 10 });
    loop.start();
    clock.advance(250); // deadlines 0, 100, 200 ms
    expect(frames).toEqual([]);
    ready = true;
    clock.advance(100);
    loop.stop();
    expect(frames.map((f) => [f.index, f.duplicate])).toEqual([[3, false]]);
    expect(loop.stats).toMatchObject({ framesMissing: 3, framesCaptured: 1, framesDuplicated: 0 });
  });

  it('asks the source for each deadline by index and timestamp', () => {
    const clock = new FakeClock();
    clock.advance(50);
    const asked: [number, number][] = [];
    const source: VideoSource = {
      name: 'spy',
      grab: (index, ptsUs) => {
        asked.push([index, ptsUs]);
        return picture(index);
      },
      close: () => {},
    };
    const loop = new CaptureLoop(clock, source, () => {}, { fps: 10 });
    loop.start();
    clock.advance(200);
    loop.stop();
    expect(asked).toEqual([
      [0, 50_000],
      [1, 150_000],
      [2, 250_000],
    ]);
    expect(loop.stats.framesCaptured).toBe(3);
  });

  it('a second start() while running changes nothing', () => {
    const { loop, frames, clock } = run(10);
    clock.advance(50);
    loop.start();
    clock.advance(100);
    loop.stop();
    expect(frames.map((f) => f.index)).toEqual([0, 1]);
  });

  it('cannot start again after stop(), and stop() is idempotent', () => {
    const { loop } = run(30);
    loop.stop();
    loop.stop();
    expect(() => loop.start()).toThrow(InvalidStateError);
  });

  it('emits no further frame when stopped from inside the frame callback', () => {
    const clock = new FakeClock();
    const frames: CapturedFrame<VideoPicture>[] = [];
    const loop: CaptureLoop = new CaptureLoop(
      clock,
      new ScriptedSource(),
      (f) => {
        frames.push(f);
        if (f.index === 1) loop.stop();
      },
      { fps: 10 },
    );
    loop.start();
    clock.advance(1000);
    expect(frames.map((f) => f.index)).toEqual([0, 1]);
  });

  it('records how late each tick ran against its own deadline', () => {
    const clock = new FakeClock();
    clock.timerLatenessMs = () => 4;
    const { loop } = run(10, clock);
    clock.advance(1000);
    loop.stop();
    const lateness = loop.stats.tickLateness;
    expect(lateness.count).toBe(10); // frame 0 at start, on time; then 9 ticks 4 ms late (104 … 904 ms)
    expect(lateness.maxMs).toBeCloseTo(4, 6);
    expect(lateness.p50Ms).toBeCloseTo(4, 6);
  });

  it('stops scheduling after stop()', () => {
    const { loop, clock } = run(30);
    clock.advance(100);
    loop.stop();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('CaptureLoop with an end', () => {
  it('captures every deadline before endAt() and none at or after it', () => {
    const clock = new FakeClock();
    const { loop, frames } = run(30, clock);
    loop.endAt(clock.nowUs() + 1_000_000);
    for (let t = 0; t < 200; t++) clock.advance(10);
    expect(frames.map((f) => f.index)).toEqual([...Array(30).keys()]);
    expect(frames.every((f) => f.ptsUs < 1_000_000)).toBe(true);
    expect(loop.stats.framesCaptured).toBe(30);
  });

  it('takes endAt() as a session clock time: a loop started at 500 ms and ended at 1.5 s captures one second', () => {
    const clock = new FakeClock();
    clock.advance(500);
    const { loop, frames } = run(30, clock);
    loop.endAt(1_500_000);
    for (let t = 0; t < 200; t++) clock.advance(10);
    expect(frames.map((f) => f.index)).toEqual([...Array(30).keys()]);
    expect(frames.at(-1)?.ptsUs).toBe(500_000 + Math.round((29 * 1e6) / 30));
  });
});
