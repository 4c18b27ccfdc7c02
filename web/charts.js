/* global window */
// steadycast's charts, shared by the live dashboard and the report. Plain browser JavaScript, no build
// step: it draws samples (one a second) and timeline events as sent by src/observe (sample.ts,
// timeline.ts). The x axis is clock time; durations come from the stream's own counters.
(function () {
  'use strict';

  const { COLORS, KIND_LABEL, el, isNone, clock, duration, kbit, ms, perSecond, bands, bandsPlugin, chart } =
    window.SteadycastKit;

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
