import type { Clock } from '../core/clock.js';
import { secretsOf } from '../rtmp/url.js';
import { toSample, type Sample } from './sample.js';
import { epochClock, StreamTimeline, type TimelineEvent, type TimelineSource } from './timeline.js';

/** What the page keeps and a new page gets at once: the last 10 minutes. */
export const WINDOW_MS = 10 * 60 * 1000;

/** A message of the live feed. */
export type FeedMessage =
  | { readonly type: 'sample'; readonly sample: Sample }
  | { readonly type: 'event'; readonly event: TimelineEvent };

/** What a page gets when it connects: the window so far. */
export interface FeedSnapshot {
  /** Samples of the last WINDOW_MS, oldest first. */
  readonly samples: readonly Sample[];
  /** Timeline events of the last WINDOW_MS, oldest first. */
  readonly events: readonly TimelineEvent[];
  /** How much history the page keeps, ms. */
  readonly windowMs: number;
}

/**
 * The data behind the dashboard: one chart sample per `stats` event and the event timeline, the last
 * 10 minutes kept for pages that connect later. Every text is key-redacted by the timeline; samples
 * carry only redacted URLs.
 */
export class DashboardFeed {
  /** The timeline this feed shows (shared with the stats file when the CLI writes one). */
  readonly timeline: StreamTimeline;
  /** The session clock (the servers' keepalive timers run on it). */
  readonly clock: Clock;
  readonly #source: TimelineSource;
  readonly #now: () => number;
  readonly #samples: Sample[] = [];
  readonly #listeners = new Set<(message: FeedMessage) => void>();
  readonly #onStats: () => void;
  readonly #unsubscribe: () => void;
  readonly #ownsTimeline: boolean;

  constructor(
    source: TimelineSource,
    options: { clock: Clock; outputUrls: readonly string[]; timeline?: StreamTimeline; now?: () => number },
  ) {
    this.#source = source;
    this.clock = options.clock;
    this.#now = options.now ?? epochClock(options.clock);
    this.#ownsTimeline = options.timeline === undefined;
    this.timeline =
      options.timeline ??
      new StreamTimeline(
        source,
        this.#now,
        options.outputUrls.flatMap((u) => secretsOf(u)),
      );
    this.#onStats = () => this.#addSample(toSample(this.#source.stats, this.#now()));
    source.on('stats', this.#onStats);
    this.#unsubscribe = this.timeline.subscribe((event) => this.#broadcast({ type: 'event', event }));
  }

  /** The window so far. */
  snapshot(): FeedSnapshot {
    const from = this.#now() - WINDOW_MS;
    return {
      samples: [...this.#samples],
      events: this.timeline.events.filter((e) => e.t >= from),
      windowMs: WINDOW_MS,
    };
  }

  /** Calls `listener` for each new sample and event; returns a function that stops it. */
  subscribe(listener: (message: FeedMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops listening to the Streamer. Idempotent. */
  close(): void {
    this.#source.off('stats', this.#onStats);
    this.#unsubscribe();
    if (this.#ownsTimeline) this.timeline.close();
    this.#listeners.clear();
  }

  #addSample(sample: Sample): void {
    this.#samples.push(sample);
    const from = sample.t - WINDOW_MS;
    while ((this.#samples[0]?.t ?? Infinity) < from) this.#samples.shift();
    this.#broadcast({ type: 'sample', sample });
  }

  #broadcast(message: FeedMessage): void {
    for (const listener of this.#listeners) listener(message);
  }
}
