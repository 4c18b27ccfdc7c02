import { describe, expect, it } from 'vitest';
import { AbortError, StallError } from '../../../src/core/errors.js';
import { FailureClassifier, failureKindOf } from '../../../src/output/failure-class.js';
import {
  RtmpConnectionError,
  RtmpHandshakeError,
  RtmpProtocolError,
  RtmpRejectedAfterStartError,
  RtmpServerError,
  RtmpUrlError,
  mapSocketError,
  type ConnectionPhase,
} from '../../../src/rtmp/errors.js';

const where = '127.0.0.1:1935';
const socketError = (code: string): Error => Object.assign(new Error(code), { code });
const badName = (): Error =>
  new RtmpServerError('publish', 'NetStream.Publish.BadName', 'already publishing', where);
const denied = (): Error => new RtmpServerError('publish', 'NetStream.Publish.Denied', 'denied', where);
const closedIn = (phase: ConnectionPhase): Error =>
  new RtmpConnectionError('ERR_RTMP_CLOSED_BY_SERVER', `${where} closed the connection`, { phase });
const resetIn = (phase: ConnectionPhase): Error => mapSocketError(socketError('ECONNRESET'), where, phase);

/** A classifier whose destination has accepted the stream once. */
function afterPublish(options: ConstructorParameters<typeof FailureClassifier>[0] = {}): FailureClassifier {
  const classifier = new FailureClassifier(options);
  classifier.onPublished();
  return classifier;
}

describe('failureKindOf: what an error says by itself', () => {
  it.each([
    [
      'a refused connection: nothing listening, probe fast',
      mapSocketError(socketError('ECONNREFUSED'), where),
      'not-ready',
    ],
    ['a reset', resetIn('publishing'), 'transient'],
    [
      'a name the resolver could not answer for now',
      mapSocketError(socketError('EAI_AGAIN'), where),
      'transient',
    ],
    ['a name that does not exist', mapSocketError(socketError('ENOTFOUND'), where), 'permanent'],
    ['an untrusted certificate', mapSocketError(socketError('CERT_HAS_EXPIRED'), where), 'permanent'],
    ['a connect timeout', new RtmpConnectionError('ERR_RTMP_CONNECT_TIMEOUT', 'no connection'), 'transient'],
    ['garbage from the server', new RtmpProtocolError('bad chunk'), 'transient'],
    ['a peer that is not an RTMP server', new RtmpHandshakeError('not RTMP'), 'permanent'],
    ['a stall', new StallError('no progress'), 'transient'],
    ['a bad URL', new RtmpUrlError('no host', 'add one'), 'permanent'],
    ['a stream name still held ("not now")', badName(), 'transient'],
    ['a denied publish', denied(), 'permanent'],
    ['an error that is not ours (a bug): a retry costs little', new TypeError('x is undefined'), 'transient'],
  ])('%s is %s', (_what, error, kind) => {
    expect(failureKindOf(error)).toBe(kind);
  });
});

describe('FailureClassifier before the first accepted publish', () => {
  it('gives up after initialAttempts failures in a row, whatever they are (a wrong URL fails fast)', () => {
    const classifier = new FailureClassifier({ initialAttempts: 3 });
    const refused = mapSocketError(socketError('ECONNREFUSED'), where);
    expect([0, 500, 1000].map((t) => classifier.classify(refused, t))).toEqual([
      'not-ready',
      'not-ready',
      'permanent',
    ]);
  });

  it('stops at once on an error retrying cannot fix', () => {
    const classifier = new FailureClassifier({ initialAttempts: 3 });
    expect(classifier.classify(mapSocketError(socketError('ENOTFOUND'), where), 0)).toBe('permanent');
  });

  it('confirms a rejection 3 times, then calls it permanent (a wrong stream key)', () => {
    const classifier = new FailureClassifier({ initialAttempts: 10 });
    expect([0, 1000, 3000, 7000].map((t) => classifier.classify(badName(), t))).toEqual([
      'transient',
      'transient',
      'transient',
      'permanent',
    ]);
  });

  it('reads a close during the handshake as a wrong server, not as one restarting (it never worked)', () => {
    const classifier = new FailureClassifier({ initialAttempts: 10 });
    expect(classifier.classify(closedIn('handshaking'), 0)).toBe('transient');
  });
});

describe('FailureClassifier once the destination has worked', () => {
  it.each([
    ['closed by a proxy while the TCP connection was new', closedIn('connecting'), 'not-ready'],
    ['closed by a proxy during the RTMP handshake', closedIn('handshaking'), 'not-ready'],
    ['reset during the RTMP handshake', resetIn('handshaking'), 'not-ready'],
    [
      'closed during the publish sequence (a server problem, not a restart)',
      closedIn('negotiating'),
      'transient',
    ],
    ['closed while publishing', closedIn('publishing'), 'transient'],
    [
      'a name that no longer resolves: a network switching over, not a typo',
      mapSocketError(socketError('ENOTFOUND'), where),
      'transient',
    ],
    [
      'a peer answering as no RTMP server (a maintenance page)',
      new RtmpHandshakeError('not RTMP'),
      'transient',
    ],
    [
      'a host unreachable while connecting: backed off, not probed fast (the network is down, not the server restarting)',
      mapSocketError(socketError('EHOSTUNREACH'), where, 'connecting'),
      'transient',
    ],
    [
      'a handshake timeout: backed off like any slow path',
      new RtmpConnectionError('ERR_RTMP_HANDSHAKE_TIMEOUT', 'no handshake', { phase: 'handshaking' }),
      'transient',
    ],
    [
      'an untrusted certificate: retrying cannot fix it',
      mapSocketError(socketError('CERT_HAS_EXPIRED'), where),
      'permanent',
    ],
  ])('%s is %s', (_what, error, kind) => {
    expect(afterPublish().classify(error, 0)).toBe(kind);
  });

  it('never gives up on initialAttempts: a 24/7 stream keeps trying', () => {
    const classifier = afterPublish({ initialAttempts: 1 });
    const refused = mapSocketError(socketError('ECONNREFUSED'), where);
    expect([0, 500, 1000, 1500].map((t) => classifier.classify(refused, t))).toEqual(
      Array(4).fill('not-ready'),
    );
  });

  it('keeps a plain rejection transient through the 60 s grace (the server holds our old session), then gives up', () => {
    const classifier = afterPublish();
    const kinds = [0, 1000, 3000, 7000, 15_000, 31_000, 59_999].map((t) => classifier.classify(denied(), t));
    expect(kinds.every((k) => k === 'transient')).toBe(true);
    expect(classifier.classify(denied(), 60_000)).toBe('permanent');
  });

  it('keeps "name already published" transient for 20 min: the server may hold our dead session until TCP gives up', () => {
    const classifier = afterPublish();
    const times = [0, 1000, 3000, 7000, 15_000, 31_000, 61_000, 91_000, 121_000, 601_000, 1_199_999];
    expect(times.map((t) => classifier.classify(badName(), t)).every((k) => k === 'transient')).toBe(true);
    expect(classifier.classify(badName(), 1_200_000)).toBe('permanent');
  });

  it('measures the grace from the first rejection of the episode, not from the publish', () => {
    const classifier = afterPublish();
    [100_000, 101_000, 103_000].forEach((t) => classifier.classify(denied(), t));
    expect(classifier.classify(denied(), 159_999)).toBe('transient');
    expect(classifier.classify(denied(), 160_000)).toBe('permanent');
  });

  it('treats a publish dropped during probation as a rejection', () => {
    const classifier = afterPublish({ rejectionConfirmAttempts: 0, rejectionGraceAfterDropMs: 0 });
    expect(classifier.classify(new RtmpRejectedAfterStartError(where, closedIn('publishing')), 0)).toBe(
      'permanent',
    );
  });

  it('starts counting rejections again after another accepted publish', () => {
    const classifier = afterPublish({ rejectionGraceAfterDropMs: 0 });
    [0, 1, 2].forEach((t) => classifier.classify(denied(), t));
    expect(classifier.consecutiveRejections).toBe(3);
    classifier.onPublished();
    expect(classifier.consecutiveRejections).toBe(0);
    expect(classifier.classify(denied(), 100)).toBe('transient');
  });

  it('does not count other failures as rejections', () => {
    const classifier = afterPublish();
    classifier.classify(resetIn('publishing'), 0);
    expect(classifier.consecutiveRejections).toBe(0);
  });

  it('classifies our own abort as permanent (nothing to retry)', () => {
    expect(failureKindOf(new AbortError('stopped'))).toBe('permanent');
  });
});

describe('FailureClassifier options', () => {
  it.each([
    [{ initialAttempts: 0 }, 'initialAttempts'],
    [{ initialAttempts: 1.5 }, 'initialAttempts'],
    [{ rejectionConfirmAttempts: -1 }, 'rejectionConfirmAttempts'],
    [{ rejectionConfirmAttempts: 0.5 }, 'rejectionConfirmAttempts'],
    [{ rejectionGraceAfterDropMs: -1 }, 'rejectionGraceAfterDropMs'],
    [{ nameHeldGraceAfterDropMs: Number.NaN }, 'nameHeldGraceAfterDropMs'],
    [{ nameHeldGraceAfterDropMs: Infinity }, 'nameHeldGraceAfterDropMs'],
  ])('rejects %j with a ConfigError naming %s', (options, field) => {
    expect(() => new FailureClassifier(options)).toThrow(
      expect.objectContaining({ name: 'ConfigError', field }),
    );
  });

  it('accepts the edges: one initial attempt, no confirming retries, no grace', () => {
    const options = {
      initialAttempts: 1,
      rejectionConfirmAttempts: 0,
      rejectionGraceAfterDropMs: 0,
      nameHeldGraceAfterDropMs: 0,
    };
    expect(new FailureClassifier(options).options).toEqual(options);
  });
});
