/* global EventSource, document, window, history */
// The live dashboard: a Server-Sent Events feed (`snapshot`, then `sample` and `event`) drawn by
// charts.js, the last 10 minutes kept in the page.
(function () {
  'use strict';
  // The token (if any) came in the address once; the server set a cookie: take it out of the address bar.
  if (window.location.search.includes('token=')) history.replaceState(null, '', window.location.pathname);
  const page = window.SteadycastCharts.create(document.getElementById('app'), 'live');
  const status = document.getElementById('feed-status');
  let samples = [];
  let events = [];
  let windowMs = 600000;
  let pending = false;

  function trim() {
    const last = samples[samples.length - 1];
    if (!last) return;
    const from = last.t - windowMs;
    while (samples.length && samples[0].t < from) samples.shift();
    while (events.length && events[0].t < from) events.shift();
  }
  function redraw() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(() => {
      pending = false;
      page.update(samples, events);
    });
  }

  const feed = new EventSource('feed');
  feed.addEventListener('snapshot', (e) => {
    const snap = JSON.parse(e.data);
    samples = snap.samples;
    events = snap.events;
    windowMs = snap.windowMs;
    redraw();
  });
  feed.addEventListener('sample', (e) => {
    samples.push(JSON.parse(e.data));
    trim();
    redraw();
  });
  feed.addEventListener('event', (e) => {
    events.push(JSON.parse(e.data));
    redraw();
  });
  feed.addEventListener('open', () => {
    status.hidden = true;
  });
  feed.addEventListener('error', () => {
    status.hidden = false;
    status.textContent = 'Lost contact with steadycast (the stream may have ended); retrying…';
  });
  redraw();
})();
