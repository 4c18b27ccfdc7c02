/**
 * The drop policy's knobs are options of each output: a bad value is refused when the output is made,
 * naming the option, which shows it reaches the policy rather than being silently dropped.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import type { StreamConfig } from '../../../src/media/packet.js';
import { RtmpOutput, type RtmpOutputOptions } from '../../../src/output/rtmp-output.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const config: StreamConfig = {};
const url = 'rtmp://127.0.0.1:1935/live/key';

function make(options: Partial<RtmpOutputOptions>): RtmpOutput {
  return new RtmpOutput(new FakeClock(), config, { url, ...options });
}

describe('RtmpOutput drop-policy options', () => {
  it.each([
    [{ lowWatermarkMs: 2500 }, /invalid lowWatermarkMs: 2500 — use 0..maxLatencyMs \(2000\)/],
    [{ maxLatencyMs: 4000, lowWatermarkMs: 4500 }, /use 0..maxLatencyMs \(4000\)/],
    [{ disposableDropLatencyMs: -1 }, /invalid disposableDropLatencyMs: -1/],
    [{ maxBytes: 0 }, /invalid maxBytes: 0/],
    [{ maxPackets: 0 }, /invalid maxPackets: 0/],
  ])('%j is refused, naming the option', (options, message) => {
    expect(() => make(options)).toThrow(ConfigError);
    expect(() => make(options)).toThrow(message);
  });

  it('accepts the policy knobs, Infinity turning disposable-frame drops off', () => {
    expect(() =>
      make({ maxBytes: 8 << 20, lowWatermarkMs: 500, disposableDropLatencyMs: Infinity }),
    ).not.toThrow();
  });
});
