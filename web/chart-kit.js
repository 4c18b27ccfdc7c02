/* global uPlot, document, window */
// steadycast's chart kit, shared by the live dashboard and the report (loaded before charts.js):
// formatting, per-second rates, congestion and offline stretches, and one uPlot chart in a panel.
(function () {
  'use strict';

  const COLORS = ['#4fc3f7', '#ba68c8', '#81c784', '#ffb74d'];
  const BAND = { congested: 'rgba(255, 167, 38, 0.22)', offline: 'rgba(239, 83, 80, 0.28)' };
  const KIND_LABEL = {
    state: 'state',
    congested: 'congested',
    'congestion-over': 'clear',
    disconnected: 'offline',
    retry: 'retry',
    'server-reconnect': 'moved',
    'device-failed': 'device',
    'device-recovered': 'device',
    bitrate: 'bitrate',
    error: 'error',
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) node.append(child);
    return node;
  }

  const isNone = (v) => v === null || v === undefined;
  const pad = (n) => String(n).padStart(2, '0');
  function clock(t) {
    const d = new Date(t);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function duration(ms) {
    const s = Math.round(ms / 1000);
    if (s < 60) return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h > 0 ? `${h} h ${pad(m)} min` : `${m} min ${pad(s % 60)} s`;
  }
  const kbit = (bps) => `${Math.round(bps / 1000)} kbit/s`;
  const ms = (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
  /** x-axis labels: 24-hour clock time, seconds only when the span is short. */
  const timeAxis = (u, vals) => {
    const span = (u.scales.x.max || 0) - (u.scales.x.min || 0);
    return vals.map((v) => (span > 3600 ? clock(v * 1000).slice(0, 5) : clock(v * 1000)));
  };

  /** Per-second differences of a cumulative counter (null where the counter went back, e.g. a new run). */
  function perSecond(samples, pick) {
    return samples.map((s, i) => {
      if (i === 0) return 0;
      const prev = samples[i - 1];
      const dt = (s.t - prev.t) / 1000;
      const d = pick(s) - pick(prev);
      return dt > 0 && d >= 0 ? d / dt : null;
    });
  }

  /** Congestion and offline stretches per output, from the samples: [{kind, from, to, output}]. */
  function bands(samples) {
    const out = [];
    const open = new Map();
    for (const s of samples) {
      for (const o of s.outputs) {
        const kind = o.state === 'reconnecting' ? 'offline' : o.dropState === 'dropping' ? 'congested' : null;
        const key = o.name;
        const cur = open.get(key);
        if (cur && cur.kind !== kind) {
          cur.to = s.t;
          out.push(cur);
          open.delete(key);
        }
        if (kind && !open.has(key)) {
          open.set(key, { kind, from: s.t, to: s.t, output: o.name, downtimeAtStart: o.downtimeMs });
        }
        const now = open.get(key);
        if (now) {
          now.to = s.t;
          now.downtimeMs = o.downtimeMs - now.downtimeAtStart;
        }
      }
    }
    for (const b of open.values()) out.push(b);
    return out;
  }

  /** A uPlot plugin that shades congestion (orange) and offline (red) stretches, with their length. */
  function bandsPlugin(getBands, getOutages) {
    return {
      hooks: {
        drawClear: [
          (u) => {
            const { ctx } = u;
            const { top, height } = u.bbox;
            for (const b of getBands()) {
              const x0 = u.valToPos(b.from / 1000, 'x', true);
              const x1 = u.valToPos(b.to / 1000, 'x', true);
              ctx.fillStyle = BAND[b.kind];
              ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
            }
          },
        ],
        draw: [
          (u) => {
            const { ctx } = u;
            ctx.save();
            ctx.textAlign = 'left';
            ctx.textBaseline = 'top';
            ctx.font = `bold ${Math.round(12 * window.devicePixelRatio)}px system-ui, sans-serif`;
            for (const o of getOutages()) {
              const x0 = u.valToPos(o.from / 1000, 'x', true);
              const x1 = u.valToPos(o.to / 1000, 'x', true);
              const text = `offline ${duration(o.durationMs)}`;
              const dpr = window.devicePixelRatio;
              const w = ctx.measureText(text).width + 10 * dpr;
              const x = Math.min(
                u.bbox.left + u.bbox.width - w,
                Math.max(u.bbox.left + 2, (x0 + x1) / 2 - w / 2),
              );
              const y = u.bbox.top + u.bbox.height / 2 - 10 * dpr;
              ctx.fillStyle = 'rgba(183, 28, 28, 0.92)';
              ctx.fillRect(x, y, w, 20 * dpr);
              ctx.fillStyle = '#ffffff';
              ctx.fillText(text, x + 5 * dpr, y + 4 * dpr);
            }
            ctx.restore();
          },
        ],
      },
    };
  }

  function chart(container, title, series, axes, plugins, height) {
    const box = el('div', { class: 'chart' }, el('h3', {}, title));
    container.append(box);
    const width = () => Math.max(320, box.clientWidth - 20);
    const opts = {
      width: width(),
      height: height || 200,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      legend: { live: true },
      series: [{}, ...series],
      axes: [
        { stroke: '#9aa4b2', grid: { stroke: '#2a313c' }, ticks: { stroke: '#2a313c' }, values: timeAxis },
        ...axes.map((a) => ({
          stroke: '#9aa4b2',
          grid: { stroke: '#2a313c' },
          ticks: { stroke: '#2a313c' },
          ...a,
        })),
      ],
      plugins,
    };
    const data = [[], ...series.map(() => [])];
    const plot = new uPlot(opts, data, box);
    window.addEventListener('resize', () => plot.setSize({ width: width(), height: opts.height }));
    return { box, plot };
  }

  /**
   * Builds the page in `root`. `mode` is 'live' or 'report'. Returns { update(samples, events, summary) }.
   */

  window.SteadycastKit = {
    COLORS,
    KIND_LABEL,
    el,
    isNone,
    clock,
    duration,
    kbit,
    ms,
    perSecond,
    bands,
    bandsPlugin,
    chart,
  };
})();
