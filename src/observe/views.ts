import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { secretsOf } from '../rtmp/url.js';
import { serveDashboard, type DashboardHandle, type DashboardOptions } from './dashboard-server.js';
import { DashboardFeed } from './feed.js';
import { createMetricsRegistry, type MetricsSource, type OutputLabeler } from './metrics.js';
import { epochClock, StreamTimeline, type TimelineSource } from './timeline.js';

/**
 * The views of one Streamer, made on first use: its timeline, the dashboard feed (one for every
 * dashboard served) and its metrics registry. `outputUrls` are the destinations as configured: their
 * stream keys are what every text is redacted against.
 */
export class StreamerViews {
  readonly #source: TimelineSource & MetricsSource;
  readonly #clock: Clock;
  readonly #outputUrls: readonly string[];
  readonly #now: () => number;
  #timeline: StreamTimeline | null = null;
  #feed: DashboardFeed | null = null;
  #registry: Registry | null = null;
  readonly #dashboards = new Set<DashboardHandle>();

  constructor(source: TimelineSource & MetricsSource, clock: Clock, outputUrls: readonly string[]) {
    this.#source = source;
    this.#clock = clock;
    this.#outputUrls = outputUrls;
    this.#now = epochClock(clock);
  }

  /** The event timeline (listening from its first use on). */
  get timeline(): StreamTimeline {
    this.#timeline ??= new StreamTimeline(
      this.#source,
      this.#now,
      this.#outputUrls.flatMap((url) => secretsOf(url)),
    );
    return this.#timeline;
  }

  /** Epoch ms on the session clock (the `t` of samples and events). */
  now(): number {
    return this.#now();
  }

  /** Serves the live dashboard; see `serveDashboard`. */
  async serveDashboard(options: DashboardOptions = {}): Promise<DashboardHandle> {
    this.#feed ??= new DashboardFeed(this.#source, {
      clock: this.#clock,
      outputUrls: this.#outputUrls,
      timeline: this.timeline,
      now: this.#now,
    });
    const handle = await serveDashboard(this.#feed, options);
    this.#dashboards.add(handle);
    return {
      url: handle.url,
      close: async () => {
        this.#dashboards.delete(handle);
        await handle.close();
      },
    };
  }

  /** The metrics registry (one per Streamer). */
  metricsRegistry(label?: OutputLabeler): Registry {
    this.#registry ??= createMetricsRegistry(this.#source, label);
    return this.#registry;
  }
}
