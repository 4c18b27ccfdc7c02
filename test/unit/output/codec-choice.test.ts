import { describe, expect, it } from 'vitest';
import type { VideoCodec } from '../../../src/media/packet.js';
import {
  chooseVideoCodec,
  CodecAnswers,
  VideoCodecChoice,
  type CodecAnswer,
} from '../../../src/output/codec-choice.js';
import { OutputGroup } from '../../../src/output/output-group.js';
import { Output } from '../../../src/output/output.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeTransport } from '../../helpers/fake-transport.js';

describe('chooseVideoCodec', () => {
  it.each<[string, VideoCodec[], CodecAnswer[], VideoCodec]>([
    ['no outputs: the first', ['hevc', 'h264'], [], 'hevc'],
    ['no answer at all: the first', ['hevc', 'h264'], [null, null], 'hevc'],
    ['one server takes both: the first', ['hevc', 'h264'], [['hevc', 'h264']], 'hevc'],
    ['one server takes only H.264', ['hevc', 'h264'], [['h264']], 'h264'],
    [
      'the first every server takes',
      ['av1', 'hevc', 'h264'],
      [
        ['av1', 'hevc', 'h264'],
        ['hevc', 'h264'],
      ],
      'hevc',
    ],
    ['an output without an answer does not count', ['hevc', 'h264'], [['hevc', 'h264'], null], 'hevc'],
    ['none taken by all: the one most take', ['hevc', 'av1'], [['av1'], ['hevc'], ['av1']], 'av1'],
    ['none taken by all, a tie: the earlier', ['hevc', 'av1'], [['av1'], ['hevc']], 'hevc'],
  ])('%s', (_what, preference, answers, expected) => {
    expect(chooseVideoCodec(preference, answers)).toBe(expected);
  });
});

const output = (transport: FakeTransport): Output =>
  new Output(new FakeClock(), transport, { publishProbationMs: 1000 }, 1_000_000);

describe('CodecAnswers', () => {
  it('resolves once every output published or had an attempt fail (a failed attempt answers null)', async () => {
    const published = output(new FakeTransport());
    const refused = output(new FakeTransport([new Error('connect ECONNREFUSED')]));
    const answers = new CodecAnswers([published, refused]);
    published.start();
    refused.start();
    // FakeTransport negotiates nothing: its answer is null too.
    await expect(answers.wait(new AbortController().signal)).resolves.toEqual([null, null]);
    await Promise.all([published.stop(), refused.stop()]);
  });

  it('rejects with the signal’s reason when it aborts first', async () => {
    const hanging = output(new FakeTransport(['hang']));
    const answers = new CodecAnswers([hanging]);
    hanging.start();
    const abort = new AbortController();
    const waited = answers.wait(abort.signal);
    abort.abort(new Error('stopped'));
    await expect(waited).rejects.toThrow('stopped');
    await hanging.stop();
  });

  it('resolves at once without outputs', async () => {
    await expect(new CodecAnswers([]).wait(new AbortController().signal)).resolves.toEqual([]);
  });
});

describe('VideoCodecChoice', () => {
  const signal = new AbortController().signal;

  it('settles on the only codec at once, without waiting for an output to answer', async () => {
    const hanging = output(new FakeTransport(['hang']));
    const choice = new VideoCodecChoice(new OutputGroup([hanging]), ['hevc']);
    hanging.start();
    await expect(choice.settle(signal)).resolves.toEqual({ codec: 'hevc', fallback: null });
    await hanging.stop();
  });

  it('settles on H.264 without any video codec (audio only)', async () => {
    await expect(new VideoCodecChoice(new OutputGroup([]), []).settle(signal)).resolves.toEqual({
      codec: 'h264',
      fallback: null,
    });
  });

  it('with a choice, waits for the answers and keeps the first codec when no server ruled it out', async () => {
    const published = output(new FakeTransport());
    const choice = new VideoCodecChoice(new OutputGroup([published]), ['hevc', 'h264']);
    published.start();
    // FakeTransport negotiates nothing: its answer is null, which rules nothing out.
    await expect(choice.settle(signal)).resolves.toEqual({ codec: 'hevc', fallback: null });
    await published.stop();
  });
});
