import type { Clock } from '../core/clock.js';
import type { TypedEmitter } from '../core/typed-emitter.js';
import { redact } from '../rtmp/url.js';
import type { StreamerEvents, StreamStats } from '../streamer.js';

/** What happened, in a word the page colours by. */
export type TimelineKind =
  | 'state'
  | 'congested'
  | 'congestion-over'
  | 'disconnected'
  | 'retry'
  | 'server-reconnect'
  | 'device-failed'
  | 'device-recovered'
  | 'bitrate'
  | 'error';

/** One entry of the event timeline. */
export interface TimelineEvent {
  /** When, epoch ms (see `epochClock`). */
  readonly t: number;
  /** What kind of event. */
  readonly kind: TimelineKind;
  /** One line for a person, stream key hidden. */
  readonly text: string;
  /** The destination it is about (key hidden), if any. */
  readonly output?: string;
}

/** What a timeline listens to: a Streamer, or anything with the same events and stats. */
export type TimelineSource = Pick<TypedEmitter<StreamerEvents>, 'on' | 'off'> & {
  readonly stats: StreamStats;
};

/** Events kept in memory (the stats file keeps every one). */
const MAX_EVENTS = 2000;

/**
 * Epoch milliseconds that advance with the session clock: a wall-clock origin read once (for the
 * clock-time labels of charts, "it stuttered at 21:40") plus the session clock's monotonic time, so
 * a wall-clock step during a stream never reorders or stretches the charts.
 */
export function epochClock(clock: Clock, originEpochMs: number = new Date().getTime()): () => number {
  const originUs = clock.nowUs();
  return () => Math.round(originEpochMs + (clock.nowUs() - originUs) / 1000);
}

/**
 * The event timeline of a stream: state changes, congestion episodes, disconnects and reconnect
 * attempts with their reasons, device failures and recoveries, bitrate changes, errors. Every text
 * goes through `redact` with the stream keys, whatever the source of the message.
 */
export class StreamTimeline {
  readonly #events: TimelineEvent[] = [];
  readonly #listeners = new Set<(event: TimelineEvent) => void>();
  readonly #detach: (() => void)[] = [];
  readonly #now: () => number;
  readonly #secrets: readonly string[];
  #total = 0;

  constructor(source: TimelineSource, now: () => number, secrets: readonly string[]) {
    this.#now = now;
    this.#secrets = secrets;
    const on = <E extends keyof StreamerEvents & string>(
      event: E,
      listener: (...args: StreamerEvents[E]) => void,
    ): void => {
      source.on(event, listener);
      this.#detach.push(() => source.off(event, listener));
    };
    // The reason of a `reconnecting` comes with the `disconnected` event that follows it.
    on('state', (prev, next) => this.add('state', `${prev} → ${next}`));
    on('dropstate', (url, _prev, next) => {
      const latencyMs = Math.round(source.stats.outputs.find((o) => o.url === url)?.currentLatencyMs ?? 0);
      if (next === 'dropping') {
        this.add('congested', `congested at ${latencyMs} ms: dropping video, audio goes on`, url);
      } else {
        this.add('congestion-over', `congestion over (${latencyMs} ms): video back at a keyframe`, url);
      }
    });
    on('bitrate', (bitrateBps, reason) =>
      this.add('bitrate', `video bitrate ${Math.round(bitrateBps / 1000)} kbit/s (${reason})`),
    );
    on('devicefailed', (name, error) => this.add('device-failed', `${name} failed: ${error.message}`));
    on('devicerecovered', (name, outageMs) =>
      this.add('device-recovered', `${name} back after ${(outageMs / 1000).toFixed(1)} s`),
    );
    on('error', (error) => this.add('error', error.message));
    on('disconnected', (url, reason) => this.add('disconnected', `connection lost: ${reason}`, url));
    on('serverreconnect', (url, _outcome, detail) => this.add('server-reconnect', detail, url));
    on('retry', (url, reason, delayMs) =>
      this.add('retry', `attempt failed: ${reason}; next in ${(delayMs / 1000).toFixed(1)} s`, url),
    );
  }

  /** Adds an event now (also for the CLI's own notices, e.g. a failed stats file). */
  add(kind: TimelineKind, text: string, output?: string): void {
    const event: TimelineEvent = {
      t: this.#now(),
      kind,
      text: redact(text, this.#secrets),
      ...(output === undefined ? {} : { output: redact(output, this.#secrets) }),
    };
    this.#events.push(event);
    this.#total++;
    if (this.#events.length > MAX_EVENTS) this.#events.shift();
    for (const listener of this.#listeners) listener(event);
  }

  /** The events kept, oldest first. */
  get events(): readonly TimelineEvent[] {
    return this.#events;
  }

  /** Events added since start (kept or not): a cursor for `since()`. */
  get total(): number {
    return this.#total;
  }

  /** The events added after cursor `from` (a previous `total`), as many as are still kept. */
  since(from: number): TimelineEvent[] {
    const count = Math.min(this.#total - from, this.#events.length);
    return count <= 0 ? [] : this.#events.slice(this.#events.length - count);
  }

  /** Calls `listener` for every new event; returns a function that stops it. */
  subscribe(listener: (event: TimelineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops listening to the source. Idempotent. */
  close(): void {
    for (const detach of this.#detach.splice(0)) detach();
    this.#listeners.clear();
  }
}
