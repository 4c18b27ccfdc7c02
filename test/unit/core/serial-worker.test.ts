import { describe, expect, it } from 'vitest';
import { SerialWorker } from '../../../src/core/serial-worker.js';

describe('SerialWorker', () => {
  it('processes items one at a time, in push order, and reports when drained', async () => {
    const log: string[] = [];
    let active = 0;
    const worker = new SerialWorker<number>(
      async (n) => {
        active++;
        expect(active).toBe(1);
        log.push(`start ${n}`);
        await new Promise((resolve) => setTimeout(resolve, 3 - n));
        log.push(`end ${n}`);
        active--;
      },
      () => {},
    );
    worker.push(0);
    worker.push(1);
    worker.push(2);
    expect(worker.length).toBe(2);
    await worker.drained();
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    await expect(worker.drained()).resolves.toBeUndefined();
  });

  it('passes a failure to onError and goes on with the next item', async () => {
    const errors: string[] = [];
    const done: number[] = [];
    const worker = new SerialWorker<number>(
      async (n) => {
        if (n === 1) throw new Error('bad item');
        done.push(n);
      },
      (error) => errors.push(error.message),
    );
    [0, 1, 2].forEach((n) => worker.push(n));
    await worker.drained();
    expect(done).toEqual([0, 2]);
    expect(errors).toEqual(['bad item']);
  });
});
