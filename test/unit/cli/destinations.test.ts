import { describe, expect, it } from 'vitest';
import { destinationLabel, parseDestinations } from '../../../src/cli/destinations.js';
import { ConfigError } from '../../../src/core/errors.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return (error as Error).message;
  }
  throw new Error('expected it to throw');
}

describe('the destinations of steadycast stream', () => {
  it('takes one URL, or several in the order given', () => {
    expect(parseDestinations(['rtmp://a/live/k1'])).toEqual(['rtmp://a/live/k1']);
    expect(parseDestinations(['rtmp://a/live/k1', 'rtmps://b:443/app/k2', 'rtmp://a/live/k3'])).toEqual([
      'rtmp://a/live/k1',
      'rtmps://b:443/app/k2',
      'rtmp://a/live/k3',
    ]);
  });

  it('with none, says so and asks for one or more URLs', () => {
    expect(() => parseDestinations([])).toThrow(ConfigError);
    expect(messageOf(() => parseDestinations([]))).toBe(
      'invalid url: "none given" — give one or more URLs, each with its stream key in it, quoted if it has spaces, e.g. rtmp://127.0.0.1/live/mykey',
    );
  });

  it.each([
    [['rtmp://127.0.0.1/live', 'SECRETKEY'], 'argument 2 of 2'],
    [['rtmp://127.0.0.1/live/k', 'SECRETKEY', 'rtmp://h/live/k2'], 'argument 2 of 3'],
    [['SECRETKEY'], 'the argument'],
  ])('an argument that is not a URL (%j) is named by its place, never shown', (args, which) => {
    const message = messageOf(() => parseDestinations(args));
    expect(message).toBe(
      `invalid url: "${which}" — it is not a URL (not shown: it may be a stream key); the key goes inside the URL, e.g. rtmp://127.0.0.1/live/mykey`,
    );
    expect(message).not.toContain('SECRETKEY');
  });

  it('checks every URL, and a malformed one never shows its key', () => {
    const message = messageOf(() => parseDestinations(['rtmp://h/live/k1', 'http://h/live/SECRETKEY']));
    expect(message).toContain('scheme "http" is not supported');
    expect(message).not.toContain('SECRETKEY');
  });

  it('refuses the same destination twice (a server takes one publisher per key), key hidden', () => {
    const message = messageOf(() =>
      parseDestinations(['rtmp://h/live/SECRETKEY', 'rtmp://other/live/k', 'rtmp://h/live/SECRETKEY']),
    );
    expect(message).toBe(
      'invalid url: "rtmp://h/live/****" — argument 3 is the same destination as argument 1; give each destination once',
    );
  });

  it('letters the destinations a, b, c… as the status line names them, numbers past z', () => {
    expect([0, 1, 2, 25].map(destinationLabel)).toEqual(['a', 'b', 'c', 'z']);
    expect(destinationLabel(26)).toBe('27');
  });
});
