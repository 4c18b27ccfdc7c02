import { ConfigError } from '../core/errors.js';
import { parseRtmpUrl, redactUrl } from '../rtmp/url.js';

const EXAMPLE = 'e.g. rtmp://127.0.0.1/live/mykey';

/**
 * Checks the URLs of `steadycast stream URL [URL…]`, one destination each. Never echoes an argument
 * that is not a URL: it may be a stream key given apart from its URL by mistake (a URL's own errors
 * hide its key). The same destination twice is refused: a server takes one publisher per key.
 */
export function parseDestinations(positionals: readonly string[]): string[] {
  const count = positionals.length;
  if (count === 0) {
    throw new ConfigError(
      'url',
      'none given',
      `give one or more URLs, each with its stream key in it, quoted if it has spaces, ${EXAMPLE}`,
    );
  }
  // No "/" at all: not a URL but a word, maybe the key itself; checked first and never shown.
  const word = positionals.findIndex((url) => !url.includes('/'));
  if (word >= 0) {
    throw new ConfigError(
      'url',
      count === 1 ? 'the argument' : `argument ${word + 1} of ${count}`,
      `it is not a URL (not shown: it may be a stream key); the key goes inside the URL, ${EXAMPLE}`,
    );
  }
  const seen = new Map<string, number>();
  positionals.forEach((url, i) => {
    const { tcUrl, streamKey } = parseRtmpUrl(url);
    const destination = `${tcUrl}/${streamKey}`;
    const same = seen.get(destination);
    if (same !== undefined) {
      throw new ConfigError(
        'url',
        redactUrl(url),
        `argument ${i + 1} is the same destination as argument ${same + 1}; give each destination once`,
      );
    }
    seen.set(destination, i);
  });
  return [...positionals];
}

/** How the status line names destination `index` (0-based) among several: a, b, c, … */
export function destinationLabel(index: number): string {
  return index < 26 ? String.fromCharCode(97 + index) : String(index + 1);
}
