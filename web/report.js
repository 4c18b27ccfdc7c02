/* global document, window */
// The report of a past stream: the same charts as the dashboard over the whole stream, and a summary.
(function () {
  'use strict';
  const data = window.STEADYCAST_REPORT;
  const C = window.SteadycastCharts;
  const page = C.create(document.getElementById('app'), 'report');
  const s = data.summary;
  const box = page.summaryBox;
  const rows = [];
  if (s) {
    const day = new Date(s.from);
    rows.push([
      'stream',
      `${day.toLocaleDateString()} ${C.clock(s.from)} – ${C.clock(s.to)} (${C.duration(s.durationMs)})`,
    ]);
    rows.push(['sent', `${(s.bytesSent / 1e6).toFixed(1)} MB`]);
    rows.push(['highest latency', C.ms(s.maxLatencyMs)]);
    rows.push(['video dropped for congestion', String(s.videoDropped)]);
    rows.push(['audio dropped while connected', String(s.audioDropped)]);
    rows.push(['dropped while offline', String(s.offlineDropped)]);
    rows.push(['reconnects', String(s.reconnects)]);
    rows.push([
      'time below full quality',
      `${C.duration(s.belowFullQualityMs)} (${((100 * s.belowFullQualityMs) / Math.max(1, s.to - s.from)).toFixed(1)} %)`,
    ]);
    rows.push([
      'worst minute',
      s.worstMinute
        ? `${C.clock(s.worstMinute.from).slice(0, 5)}: ${s.worstMinute.dropped} frames dropped, ${s.worstMinute.offlineS.toFixed(0)} s offline, latency up to ${C.ms(s.worstMinute.maxLatencyMs)}`
        : 'none: nothing dropped, never offline',
    ]);
    rows.push(['final state', s.finalState]);
  }
  const table = C.el('table', { class: 'summary-table' });
  for (const [k, v] of rows) table.append(C.el('tr', {}, C.el('th', {}, k), C.el('td', {}, v)));
  box.append(C.el('h2', {}, `Report of ${data.source}`), table);
  if (s && s.outages.length) {
    const outages = C.el(
      'table',
      { class: 'outages', id: 'outages' },
      C.el(
        'tr',
        {},
        C.el('th', {}, 'outage'),
        C.el('th', {}, 'from'),
        C.el('th', {}, 'to'),
        C.el('th', {}, 'down for'),
        C.el('th', {}, 'why'),
      ),
    );
    s.outages.forEach((o, i) => {
      outages.append(
        C.el(
          'tr',
          { class: 'outage' },
          C.el('td', {}, `#${i + 1} ${o.output}`),
          C.el('td', {}, C.clock(o.from)),
          C.el('td', {}, o.recovered ? C.clock(o.to) : 'the end'),
          C.el('td', { class: 'outage-duration' }, C.duration(o.durationMs)),
          C.el('td', {}, o.reason || '–'),
        ),
      );
    });
    box.append(C.el('h3', {}, 'Outages'), outages);
  }
  page.update(data.samples, data.events, { outages: s ? s.outages : [] });
})();
