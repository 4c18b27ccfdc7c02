import { describe, expect, it } from 'vitest';
import { RtmpUrlError } from '../../../src/rtmp/errors.js';
import { parseRtmpUrl, reconnectUrl, redact, redactUrl, secretsOf } from '../../../src/rtmp/url.js';

describe('parseRtmpUrl', () => {
  it.each([
    [
      'rtmp://live.example.com/app/key123',
      { protocol: 'rtmp', host: 'live.example.com', port: 1935, app: 'app', streamKey: 'key123' },
      'rtmp://live.example.com/app',
    ],
    [
      'rtmps://live.example.com/app/key',
      { protocol: 'rtmps', host: 'live.example.com', port: 443, app: 'app', streamKey: 'key' },
      'rtmps://live.example.com/app',
    ],
    [
      'rtmp://127.0.0.1:19350/live/test',
      { protocol: 'rtmp', host: '127.0.0.1', port: 19350, app: 'live', streamKey: 'test' },
      'rtmp://127.0.0.1:19350/live',
    ],
    [
      'rtmp://host/app/inst/key',
      { protocol: 'rtmp', host: 'host', port: 1935, app: 'app/inst', streamKey: 'key' },
      'rtmp://host/app/inst',
    ],
    [
      'rtmp://host/live/key?pwd=s3cret&x=1',
      { protocol: 'rtmp', host: 'host', port: 1935, app: 'live', streamKey: 'key?pwd=s3cret&x=1' },
      'rtmp://host/live',
    ],
    [
      'RTMP://[::1]:1936/live/k',
      { protocol: 'rtmp', host: '::1', port: 1936, app: 'live', streamKey: 'k' },
      'rtmp://[::1]:1936/live',
    ],
    [
      '  rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop  ',
      {
        protocol: 'rtmp',
        host: 'a.rtmp.youtube.com',
        port: 1935,
        app: 'live2',
        streamKey: 'abcd-efgh-ijkl-mnop',
      },
      'rtmp://a.rtmp.youtube.com/live2',
    ],
  ])('parses %s', (url, expected, tcUrl) => {
    expect(parseRtmpUrl(url)).toEqual({ ...expected, tcUrl });
  });

  it.each([
    ['', /empty/],
    ['live.example.com/app/key', /not a URL/],
    ['http://host/app/key', /scheme "http"/],
    ['rtmpt://host/app/key', /rtmp:\/\/ or rtmps:\/\//],
    ['rtmp:///app/key', /no host/],
    ['rtmp://host', /no application and no stream key/],
    ['rtmp://host/', /no application and no stream key/],
    ['rtmp://host/live', /no stream key/],
    ['rtmp://host/live/', /no stream key/],
    ['rtmp://host//live/key', /empty segment/],
    ['rtmp://host:0/live/key', /invalid port "0"/],
    ['rtmp://host:70000/live/key', /invalid port/],
    ['rtmp://host:abc/live/key', /invalid port/],
    ['rtmp://user:pw@host/live/key', /credentials/],
    ['rtmp://[::1/live/key', /IPv6/],
  ])('rejects %j with an error naming the problem and the fix', (url, problem) => {
    let error: unknown;
    try {
      parseRtmpUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RtmpUrlError);
    const urlError = error as RtmpUrlError;
    expect(urlError.code).toBe('ERR_RTMP_URL');
    expect(urlError.retryable).toBe(false);
    expect(urlError.message).toMatch(problem);
    expect(urlError.message).toMatch(/—/);
  });

  it('never puts the stream key in an error message', () => {
    for (const url of [
      'rtmp://host:99999/live/SECRETKEY',
      'ftp://host/live/SECRETKEY',
      'host/live/SECRETKEY',
    ]) {
      expect(() => parseRtmpUrl(url)).toThrow(RtmpUrlError);
      try {
        parseRtmpUrl(url);
      } catch (e) {
        expect((e as Error).message).not.toContain('SECRETKEY');
      }
    }
  });
});

describe('redaction', () => {
  it('replaces the whole stream key of a URL with ****', () => {
    expect(redactUrl('rtmp://host/live/abcdef')).toBe('rtmp://host/live/****');
    expect(redactUrl('rtmps://host:443/app/inst/key?pwd=x')).toBe('rtmps://host:443/app/inst/****');
  });

  it('hides everything after the host of a URL it cannot split, and credentials', () => {
    expect(redactUrl('rtmp://host/onlykey')).toBe('rtmp://host/****');
    expect(redactUrl('rtmp://user:pw@host/live/k')).toBe('rtmp://****@host/live/****');
    expect(redactUrl('rtmp://host')).toBe('rtmp://host');
  });

  it('removes every occurrence of every secret from a text, longest first', () => {
    const secrets = secretsOf('rtmp://h/live/key123?token=tok456');
    expect(secrets).toEqual(['key123?token=tok456', 'key123', 'token=tok456', 'tok456']);
    expect(redact('publish key123?token=tok456 failed; key123 busy; token=tok456', secrets)).toBe(
      'publish **** failed; **** busy; ****',
    );
    expect(redact('nothing here', [''])).toBe('nothing here');
  });

  it('redacts the key echoed in another letter case', () => {
    const secrets = secretsOf('rtmp://h/live/live_AbC123xYz');
    expect(redact('Publishing live_abc123xyz failed', secrets)).toBe('Publishing **** failed');
    expect(redact('key LIVE_ABC123XYZ in use', secrets)).toBe('key **** in use');
  });

  it('redacts the key echoed percent-encoded, in either hex case, or decoded', () => {
    const secrets = secretsOf('rtmp://h/live/sk_9f/x?auth=p@ss w0rd');
    // The key is the last segment: 'x?auth=p@ss w0rd'.
    const echoes = [
      'bad name x%3Fauth%3Dp%40ss%20w0rd',
      'bad name x%3fauth%3dp%40ss%20w0rd',
      'bad name x%3Fauth%3Dp%40ss+w0rd',
      'bad name p%40ss%20w0rd',
      'bad name P@SS W0RD',
    ];
    for (const echo of echoes) expect(redact(echo, secrets)).toBe('bad name ****');
  });

  it('redacts a key typed percent-encoded when the server echoes it decoded', () => {
    const secrets = secretsOf('rtmp://h/live/my%20key%2Fone');
    expect(redact('stream "my key/one" not found', secrets)).toBe('stream "****" not found');
    expect(redact('stream "MY%20KEY%2fONE" not found', secrets)).toBe('stream "****" not found');
  });

  it('treats regular-expression characters in a key literally', () => {
    const secrets = secretsOf('rtmp://h/live/a.b*c+(d)[e]$');
    expect(redact('got a.b*c+(d)[e]$ and aXbbbc', secrets)).toBe('got **** and aXbbbc');
  });

  it('keeps short query values, which would garble text, but hides the pair', () => {
    const secrets = secretsOf('rtmp://h/live/key9876?v=1');
    expect(secrets).not.toContain('1');
    expect(redact('v=1 and 1 frame, key9876', secrets)).toBe('**** and 1 frame, ****');
  });

  it('leaves a text without secrets unchanged, even with a lone percent sign in the key', () => {
    expect(redact('100% fine', secretsOf('rtmp://h/live/50%off'))).toBe('100% fine');
    expect(redact('key 50%off', secretsOf('rtmp://h/live/50%off'))).toBe('key ****');
  });
});

describe('reconnectUrl (Enhanced RTMP Reconnect Request)', () => {
  const current = 'rtmp://a.example:1935/live/the-key?token=abcdef';

  it.each([
    [undefined, current],
    [
      'rtmp://foo.mydomain.com:1935/realtimeapp',
      'rtmp://foo.mydomain.com:1935/realtimeapp/the-key?token=abcdef',
    ],
    ['rtmp://127.0.0.1/realtimeapp', 'rtmp://127.0.0.1/realtimeapp/the-key?token=abcdef'],
    ['//192.0.2.0/realtimeapp', 'rtmp://192.0.2.0/realtimeapp/the-key?token=abcdef'],
    ['/realtimeapp', 'rtmp://a.example:1935/realtimeapp/the-key?token=abcdef'],
    ['/app/instance', 'rtmp://a.example:1935/app/instance/the-key?token=abcdef'],
    ['rtmps://b.example/live/', 'rtmps://b.example/live/the-key?token=abcdef'],
    ['rtmp://[::1]:1936/live', 'rtmp://[::1]:1936/live/the-key?token=abcdef'],
  ])('resolves tcUrl %s against the current URL, keeping the stream key', (tcUrl, expected) => {
    expect(reconnectUrl(current, tcUrl)).toBe(expected);
    expect(parseRtmpUrl(expected).streamKey).toBe('the-key?token=abcdef');
  });

  it.each([
    '',
    'http://b.example/live',
    'rtmp://b.example',
    'rtmp://b.example/',
    'rtmp://b/live?x=1',
    'rtmp://b/live#f',
    'rtmp://b:99999/live',
  ])('refuses tcUrl "%s" with an RtmpUrlError that never names the key', (tcUrl) => {
    const error = (() => {
      try {
        reconnectUrl(current, tcUrl);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(RtmpUrlError);
    expect((error as Error).message).not.toMatch(/the-key|abcdef/);
  });

  it('refuses a move from rtmps:// to rtmp://: the key would travel in the clear', () => {
    expect(() => reconnectUrl('rtmps://a.example/live/k', 'rtmp://b.example/live')).toThrow(/in the clear/);
    expect(reconnectUrl('rtmp://a.example/live/k', 'rtmps://b.example/live')).toBe(
      'rtmps://b.example/live/k',
    );
  });
});
