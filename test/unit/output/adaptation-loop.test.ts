import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../src/core/typed-emitter.js';
import { AdaptationLoop } from '../../../src/output/adaptation-loop.js';
import type { DropState } from '../../../src/output/drop-policy.js';
import type { Output } from '../../../src/output/output.js';
import { FakeClock } from '../../helpers/fake-clock.js';

/** An output as the loop sees it: something that says when it starts or stops dropping. */
class DroppingOutput extends TypedEmitter<{ dropstatechange: [prev: DropState, next: DropState] }> {
  drop(next: DropState): void {
    this.emit('dropstatechange', next === 'dropping' ? 'normal' : 'dropping', next);
  }
}

function loop(outputs = [new DroppingOutput()]): { clock: FakeClock; looks: number[]; l: AdaptationLoop } {
  const clock = new FakeClock();
  const looks: number[] = [];
  const l = new AdaptationLoop(clock, outputs as unknown as Output[], () => looks.push(clock.nowUs() / 1000));
  return { clock, looks, l };
}

describe('AdaptationLoop', () => {
  it('looks once when started and then every 500 ms', () => {
    const { clock, looks, l } = loop();
    expect(looks).toEqual([]);
    l.start();
    clock.advance(1600);
    expect(looks).toEqual([0, 500, 1000, 1500]);
  });

  it('looks at once when an output starts dropping, and counts the next 500 ms from there (one timer)', () => {
    const output = new DroppingOutput();
    const { clock, looks, l } = loop([new DroppingOutput(), output]);
    l.start();
    clock.advance(200);
    output.drop('dropping');
    clock.advance(600);
    expect(looks).toEqual([0, 200, 700]);
    expect(clock.pendingTimers).toBe(1);
  });

  it('does not look when an output stops dropping', () => {
    const output = new DroppingOutput();
    const { clock, looks, l } = loop([output]);
    l.start();
    clock.advance(100);
    output.drop('normal');
    expect(looks).toEqual([0]);
  });

  it('starts once: a second start() neither looks nor adds a timer', () => {
    const { clock, looks, l } = loop();
    l.start();
    l.start();
    expect(looks).toEqual([0]);
    expect(clock.pendingTimers).toBe(1);
  });

  it('stops for good: no look after stop(), from the timer, a drop or start()', () => {
    const output = new DroppingOutput();
    const { clock, looks, l } = loop([output]);
    l.start();
    l.stop();
    l.stop();
    clock.advance(2000);
    output.drop('dropping');
    l.start();
    expect(looks).toEqual([0]);
    expect(clock.pendingTimers).toBe(0);
  });
});
