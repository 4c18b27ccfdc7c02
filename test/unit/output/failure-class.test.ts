import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { FailureClassifier, classifyFailureCode } from '../../../src/output/failure-class.js';

describe('classifyFailureCode', () => {
  it.each([
    ['ERR_RTMP_CONNECTION_REFUSED', 'refused'],
    ['ERR_RTMP_CONNECTION_RESET', 'transient'],
    ['ERR_RTMP_CONNECT_TIMEOUT', 'transient'],
    ['ERR_RTMP_HANDSHAKE_TIMEOUT', 'transient'],
    ['ERR_RTMP_DNS', 'transient'],
    ['ERR_RTMP_STALLED', 'transient'],
    ['ERR_RTMP_PROTOCOL', 'transient'],
    ['ERR_RTMP_TLS_CERTIFICATE', 'permanent'],
    ['ERR_RTMP_URL', 'permanent'],
    ['ERR_SOMETHING_NEW', 'transient'],
  ])('classifies %s as %s', (code, kind) => {
    expect(classifyFailureCode({ code })).toBe(kind);
  });
});

describe('FailureClassifier', () => {
  const rejected = { code: 'ERR_RTMP_REJECTED', statusCode: 'NetStream.Publish.BadName' };

  it('rejects bad options with a ConfigError', () => {
    expect(() => new FailureClassifier({ rejectionConfirmAttempts: -1 })).toThrow(ConfigError);
  });

  it('on the first connect confirms a rejection 3 times, then calls it permanent (wrong stream key)', () => {
    const classifier = new FailureClassifier();
    expect([0, 1000, 3000, 7000].map((t) => classifier.classify(rejected, t))).toEqual([
      'transient',
      'transient',
      'transient',
      'permanent',
    ]);
  });

  it('after a drop keeps a rejection transient through the grace period (the server holds our old session)', () => {
    const classifier = new FailureClassifier();
    classifier.onPublished();
    const denied = { code: 'ERR_RTMP_REJECTED', statusCode: 'NetStream.Publish.Denied' };
    const kinds = [0, 1000, 3000, 7000, 15_000, 31_000, 59_999].map((t) => classifier.classify(denied, t));
    expect(kinds.every((k) => k === 'transient')).toBe(true);
    expect(classifier.classify(denied, 60_000)).toBe('permanent');
  });

  it('after a drop keeps "name already published" transient for 20 min: the server may hold our dead session until TCP gives up', () => {
    const classifier = new FailureClassifier();
    classifier.onPublished();
    // The backoff after a stall: 0, 1, 2, 4, 8, 16, then 30 s steps between attempts.
    const times = [0, 1000, 3000, 7000, 15_000, 31_000, 61_000, 91_000, 121_000, 601_000, 1_199_999];
    expect(times.map((t) => classifier.classify(rejected, t)).every((k) => k === 'transient')).toBe(true);
    expect(classifier.classify(rejected, 1_200_000)).toBe('permanent');
  });

  it('on the first connect, "name already published" is as permanent as any rejection after the confirming attempts', () => {
    const classifier = new FailureClassifier();
    expect([0, 1000, 3000, 7000].map((t) => classifier.classify(rejected, t))).toEqual([
      'transient',
      'transient',
      'transient',
      'permanent',
    ]);
  });

  it('rejects a negative name-held grace with a ConfigError', () => {
    expect(() => new FailureClassifier({ nameHeldGraceAfterDropMs: -1 })).toThrow(ConfigError);
  });

  it('starts counting again after a successful publish', () => {
    const classifier = new FailureClassifier({ rejectionGraceAfterDropMs: 0 });
    [0, 1, 2].forEach((t) => classifier.classify(rejected, t));
    classifier.onPublished();
    expect(classifier.consecutiveRejections).toBe(0);
    expect(classifier.classify(rejected, 100)).toBe('transient');
  });

  it('does not count other failures as rejections', () => {
    const classifier = new FailureClassifier();
    classifier.classify({ code: 'ERR_RTMP_CONNECTION_RESET' }, 0);
    expect(classifier.consecutiveRejections).toBe(0);
    expect(classifier.classify({ code: 'ERR_RTMP_TLS_CERTIFICATE' }, 0)).toBe('permanent');
  });
});
