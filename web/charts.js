/* global uPlot, document, window */
// steadycast's charts, shared by the live dashboard and the report. Plain browser JavaScript, no build
// step: it draws samples (one a second) and timeline events as sent by src/observe (sample.ts,
// timeline.ts). The x axis is clock time; durations come from the stream's own counters.
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
  function create(root, mode) {
    let samples = [];
    let events = [];
    let outages = [];
    const head = el('header', { class: 'head' });
    const state = el('div', { id: 'state', class: 'state' }, '…');
    const where = el('div', { class: 'where' });
    const sentence = el('div', { id: 'sentence', class: 'sentence' });
    head.append(state, el('div', { class: 'head-text' }, where, sentence));
    const tiles = el('section', { class: 'tiles' });
    const charts = el('section', { class: 'charts' });
    const side = el('aside', { class: 'side' }, el('h2', {}, mode === 'live' ? 'What happened' : 'Timeline'));
    const list = el('ol', { id: 'timeline', class: 'timeline' });
    side.append(list);
    const summary = el('section', { id: 'summary', class: 'summary' });
    root.append(head, summary, tiles, el('main', { class: 'body' }, charts, side));

    // Offline stretches from the outages when the report knows them exactly (from the event timeline).
    const getBands = () => {
      const all = bands(samples);
      if (mode !== 'report' || !outages.length) return all;
      return all
        .filter((b) => b.kind !== 'offline')
        .concat(outages.map((o) => ({ kind: 'offline', from: o.from, to: o.to })));
    };
    const getOutages = () => outages;
    let latency = null;
    let rates = null;
    let drops = null;
    let capture = null;
    let names = [];

    function build(outputNames) {
      names = outputNames;
      charts.textContent = '';
      const latencySeries = [];
      names.forEach((n, i) => {
        latencySeries.push({
          label: names.length > 1 ? `latency ${n}` : 'latency',
          stroke: COLORS[i % 4],
          width: 2,
          value: (u, v, si, idx) => (isNone(idx) ? '–' : isNone(v) ? 'offline' : ms(v)),
        });
      });
      latencySeries.push({
        label: 'drop threshold',
        stroke: '#ef5350',
        dash: [6, 4],
        width: 1.5,
        value: (u, v) => (isNone(v) ? '–' : ms(v)),
      });
      latency = chart(
        charts,
        'Latency — how far behind live the server is (video drops above the red line)',
        latencySeries,
        [{ values: (u, vals) => vals.map((v) => ms(v)), size: 60 }],
        [bandsPlugin(getBands, getOutages)],
        220,
      );
      latency.box.id = 'latency-chart';
      rates = chart(
        charts,
        'Bitrate',
        [
          { label: 'sending', stroke: '#4fc3f7', width: 2, value: (u, v) => (isNone(v) ? '–' : kbit(v)) },
          { label: 'delivered', stroke: '#81c784', width: 2, value: (u, v) => (isNone(v) ? '–' : kbit(v)) },
          {
            label: 'video encoder',
            stroke: '#ffd54f',
            width: 1.5,
            dash: [4, 3],
            value: (u, v) => (isNone(v) ? '–' : kbit(v)),
          },
        ],
        [{ values: (u, vals) => vals.map((v) => `${Math.round(v / 1000)}k`), size: 60 }],
        [bandsPlugin(getBands, () => [])],
      );
      drops = chart(
        charts,
        'Dropped per second',
        [
          {
            label: 'video, congestion',
            stroke: '#ffa726',
            fill: 'rgba(255,167,38,0.35)',
            width: 1,
            value: (u, v) => (isNone(v) ? '–' : v.toFixed(0)),
          },
          {
            label: 'while offline',
            stroke: '#ef5350',
            fill: 'rgba(239,83,80,0.35)',
            width: 1,
            value: (u, v) => (isNone(v) ? '–' : v.toFixed(0)),
          },
        ],
        [{ size: 50 }],
        [],
        150,
      );
      capture = chart(
        charts,
        'Capture — frame rate, repeated and late frames, engine lateness',
        [
          {
            label: 'fps',
            stroke: '#4fc3f7',
            width: 2,
            scale: 'fps',
            value: (u, v) => (isNone(v) ? '–' : v.toFixed(1)),
          },
          {
            label: 'repeated/s',
            stroke: '#ba68c8',
            width: 1,
            scale: 'fps',
            value: (u, v) => (isNone(v) ? '–' : v.toFixed(1)),
          },
          {
            label: 'late/s',
            stroke: '#ef5350',
            width: 1,
            scale: 'fps',
            value: (u, v) => (isNone(v) ? '–' : v.toFixed(1)),
          },
          {
            label: 'capture tick p99 (ms, right)',
            stroke: '#9aa4b2',
            width: 1,
            dash: [3, 3],
            scale: 'ms',
            value: (u, v) => (isNone(v) ? '–' : `${v} ms`),
          },
          {
            label: 'audio tick p99 (ms, right)',
            stroke: '#81c784',
            width: 1,
            dash: [3, 3],
            scale: 'ms',
            value: (u, v) => (isNone(v) ? '–' : `${v} ms`),
          },
        ],
        [
          { scale: 'fps', size: 50 },
          {
            scale: 'ms',
            side: 1,
            size: 50,
            grid: { show: false },
            values: (u, vals) => vals.map((v) => String(+v.toFixed(1))),
          },
        ],
        [],
        170,
      );
    }

    function tile(label, value, tone) {
      return el(
        'div',
        { class: `tile ${tone || ''}` },
        el('div', { class: 'tile-value' }, value),
        el('div', { class: 'tile-label' }, label),
      );
    }

    function render(info) {
      const last = samples[samples.length - 1];
      const outputNames = last ? last.outputs.map((o) => o.name) : [];
      if (!latency || outputNames.join('|') !== names.join('|')) build(outputNames);
      outages = info && info.outages ? info.outages : deriveOutages(samples);
      const xs = samples.map((s) => s.t / 1000);
      const latencyData = [xs];
      names.forEach((n) =>
        latencyData.push(
          samples.map((s) => {
            const o = s.outputs.find((x) => x.name === n);
            return o ? o.latencyMs : null;
          }),
        ),
      );
      latencyData.push(
        samples.map((s) => {
          const o = s.outputs[0];
          return o && !isNone(o.thresholdMs) ? o.thresholdMs : null;
        }),
      );
      latency.plot.setData(latencyData);
      latency.box.dataset.points = String(
        latencyData[1] ? latencyData[1].filter((v) => !isNone(v)).length : 0,
      );
      const sumOut = (s, pick) => s.outputs.reduce((t, o) => t + pick(o), 0);
      rates.plot.setData([
        xs,
        samples.map((s) => sumOut(s, (o) => o.sendBps)),
        samples.map((s) => sumOut(s, (o) => o.deliveryBps) || null),
        samples.map((s) => s.videoBitrateBps || null),
      ]);
      drops.plot.setData([
        xs,
        perSecond(samples, (s) => sumOut(s, (o) => o.videoDropped)),
        perSecond(samples, (s) => sumOut(s, (o) => o.offlineDropped)),
      ]);
      capture.plot.setData([
        xs,
        samples.map((s) => s.fps),
        perSecond(samples, (s) => s.duplicated),
        perSecond(samples, (s) => s.lagged),
        samples.map((s) => s.captureLateMs),
        samples.map((s) => s.audioLateMs),
      ]);
      renderHead(last);
      if (mode === 'live') renderTiles(last);
      renderTimeline();
    }

    function deriveOutages() {
      return bands(samples)
        .filter((b) => b.kind === 'offline')
        .map((b) => ({
          output: b.output,
          from: b.from,
          to: b.to,
          durationMs: b.downtimeMs || b.to - b.from,
        }));
    }

    function renderHead(last) {
      const st = last ? last.state : 'connecting';
      state.textContent = st;
      state.className = `state state-${st}`;
      where.textContent = last
        ? `${last.outputs.map((o) => o.name).join(' · ')}  ·  up ${duration(last.uptimeMs)}`
        : 'waiting for the first second of the stream…';
      if (mode === 'report') return;
      const o = last && last.outputs[0];
      let text = 'Waiting for the stream…';
      let tone = 'neutral';
      if (last && o) {
        // Drop episodes come and go within seconds while a link is too slow: any in the last 5 s counts.
        const dropping = samples.slice(-5).some((x) => x.outputs.some((y) => y.dropState === 'dropping'));
        const offline = last.outputs.filter((x) => x.state === 'reconnecting');
        if (offline.length) {
          text = `Offline: reconnecting${o.lastReason ? ` (${o.lastReason})` : ''}. Capture goes on; nothing is sent meanwhile.`;
          tone = 'bad';
        } else if (dropping) {
          const delivered = last.outputs.reduce((t, x) => t + x.deliveryBps, 0);
          const carries =
            delivered > 0
              ? `only about ${kbit(delivered)} gets through`
              : 'the network carries less than the stream';
          text = `Congested: ${carries}, the video alone is ${kbit(last.videoBitrateBps)}. Video frames are dropped to keep latency under ${ms(o.thresholdMs || 2000)}; audio goes on.`;
          tone = 'warn';
        } else if (st === 'live') {
          const recent = samples.slice(-10);
          const dropped = recent.length > 1 ? sumDrops(recent[recent.length - 1]) - sumDrops(recent[0]) : 0;
          text =
            dropped > 0
              ? `Live, recovering: ${dropped} frames dropped in the last 10 s.`
              : `All good: ${ms(o.latencyMs || 0)} behind live, nothing dropped in the last 10 s.`;
          tone = dropped > 0 ? 'warn' : 'good';
        } else {
          text = `State: ${st}.`;
        }
      }
      sentence.textContent = text;
      sentence.className = `sentence ${tone}`;
    }

    function sumDrops(s) {
      return s.outputs.reduce((t, o) => t + o.videoDropped + o.offlineDropped, 0);
    }

    function renderTiles(last) {
      tiles.textContent = '';
      if (!last) return;
      const lat = Math.max(0, ...last.outputs.map((o) => o.latencyMs || 0));
      const threshold = last.outputs[0] && last.outputs[0].thresholdMs;
      const sum = (pick) => last.outputs.reduce((t, o) => t + pick(o), 0);
      tiles.append(
        tile('latency now', ms(lat), threshold && lat > threshold * 0.75 ? 'warn' : ''),
        tile('sending', kbit(sum((o) => o.sendBps))),
        tile('delivered', sum((o) => o.deliveryBps) ? kbit(sum((o) => o.deliveryBps)) : '–'),
        tile('video bitrate', kbit(last.videoBitrateBps)),
        tile('frame rate', `${last.fps.toFixed(1)} fps`, last.fps > 0 && last.fps < 25 ? 'warn' : ''),
        tile(
          'video dropped (congestion)',
          String(sum((o) => o.videoDropped)),
          sum((o) => o.videoDropped) ? 'warn' : '',
        ),
        tile(
          'dropped while offline',
          String(sum((o) => o.offlineDropped)),
          sum((o) => o.offlineDropped) ? 'bad' : '',
        ),
        tile('reconnects', String(sum((o) => o.reconnects)), sum((o) => o.reconnects) ? 'warn' : ''),
        tile('queue', `${sum((o) => o.queued)} packets`),
      );
    }

    function renderTimeline() {
      list.textContent = '';
      // Repeated reconnect attempts for the same reason read as one line with a count.
      const rows = [];
      for (const e of events.slice(-400)) {
        const key = e.kind === 'retry' ? `${e.output}|${e.text.replace(/; next in .*$/, '')}` : null;
        const last = rows[rows.length - 1];
        if (key && last && last.key === key) {
          last.count++;
          last.e = e;
        } else rows.push({ key, e, first: e, count: 1 });
      }
      const shown = rows.slice(-200).reverse();
      if (shown.length === 0) list.append(el('li', { class: 'empty' }, 'Nothing yet.'));
      for (const { e, first, count } of shown) {
        const text =
          count > 1
            ? `${count} attempts failed (${clock(first.t)}–${clock(e.t)}): ${e.text.replace(/^attempt failed: /, '')}`
            : e.text;
        list.append(
          el(
            'li',
            { class: `event kind-${e.kind}` },
            el('time', {}, clock(e.t)),
            el('span', { class: 'tag' }, KIND_LABEL[e.kind] || e.kind),
            el('span', { class: 'text' }, text),
          ),
        );
      }
    }

    return {
      update(nextSamples, nextEvents, info) {
        samples = nextSamples;
        events = nextEvents;
        render(info);
      },
      summaryBox: summary,
    };
  }

  window.SteadycastCharts = { create, el, clock, duration, kbit, ms };
})();
