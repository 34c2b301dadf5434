// raftsim timeline renderer: reads the model from #model and draws it as SVG. Only what lies
// in the visible time range is drawn, so that zooming and panning stay fast on large runs.
'use strict';
(function () {
  const M = JSON.parse(document.getElementById('model').textContent);
  const NS = 'http://www.w3.org/2000/svg';
  const LABEL_W = 64;
  const AXIS_H = 30;
  const LANE_H = {server: 36, client: 28};
  const MAX_ARROWS_DRAWN = 1500;
  const MAX_TICKS_DRAWN = 1500;
  const LEFT_H = 5; // the strip that counts what a page left out
  const ROLE_COLORS = {follower: '#e5e8e8', 'pre-candidate': '#fdebd0', candidate: '#f9e79f', leader: '#82e0aa'};
  const KIND_COLORS = {
    vote: '#8e44ad', 'vote-reply': '#c39bd3', append: '#1f618d', 'append-reply': '#5dade2',
    heartbeat: '#95a5a6', 'heartbeat-reply': '#ccd1d1', snapshot: '#d35400', 'read-index': '#117a65',
    'read-index-reply': '#48c9b0', 'timeout-now': '#6e2c00', 'kv-request': '#196f3d', 'kv-reply': '#52be80',
    other: '#566573',
  };
  const TICK_COLORS = {commit: '#2471a3', apply: '#1e8449', snapshot: '#d35400', start: '#000', restart: '#000',
    read: '#117a65', note: '#7f8c8d', 'give-up': '#b9770e'};
  const OUTAGE_COLORS = {crash: '#2c3e50', pause: '#5b2c6f'};
  const SHADE_COLORS = {partition: 'rgba(231,76,60,0.13)', clock: 'rgba(241,196,15,0.16)'};

  for (const list of ['lanes', 'bands', 'outages', 'shades', 'spans', 'arrows', 'ticks', 'strs', 'summary', 'links', 'notes']) {
    if (!Array.isArray(M[list])) M[list] = [];
  }
  // Arrows and ticks travel as flat integer arrays, their strings listed once (see write.go).
  const wireTypes = M.types || [];
  let strs = M.strs;
  function decodeArrows(flat) {
    const out = [];
    for (let i = 0; i + 6 < flat.length; i += 7) {
      const type = wireTypes[flat[i + 4]];
      out.push({f: flat[i], t: flat[i + 1], s: flat[i + 2], r: flat[i + 2] + flat[i + 3], y: type[0], k: type[1],
        x: (flat[i + 5] & 1) !== 0, c: (flat[i + 5] & 2) !== 0, d: strs[flat[i + 6]]});
    }
    return out;
  }
  function decodeTicks(flat) {
    const out = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      out.push({l: flat[i], a: flat[i + 1], k: strs[flat[i + 2]], lb: strs[flat[i + 3]], d: strs[flat[i + 4]]});
    }
    return out;
  }
  M.arrows = decodeArrows(M.arrows);
  M.ticks = decodeTicks(M.ticks);
  // Arrows and ticks away from the violation wait in #model-far until the view reaches them.
  const nearS = M.nearStart, nearE = M.nearEnd;
  let farLoaded = !(nearE > nearS);
  function loadFar() {
    if (farLoaded) return;
    farLoaded = true;
    document.body.setAttribute('data-far', 'loaded');
    const far = JSON.parse(document.getElementById('model-far').textContent);
    strs = strs.concat(far.strs || []);
    const byStart = (key) => (a, b) => key(a) - key(b);
    M.arrows = M.arrows.concat(decodeArrows(far.arrows || [])).sort(byStart((a) => a.s));
    M.ticks = M.ticks.concat(decodeTicks(far.ticks || [])).sort(byStart((t) => t.a));
    for (const a of M.arrows) maxArrowNs = Math.max(maxArrowNs, a.r - a.s);
  }
  // What a page too large for its size limit left out: counts per lane and time bucket.
  const K = M.kept || null;
  const left = [];
  if (K) {
    for (let i = 0; i + 4 < K.left.length; i += 5) {
      left.push({l: K.left[i], s: M.start + K.left[i + 1] * K.bucket, m: K.left[i + 2], t: K.left[i + 3], o: K.left[i + 4]});
    }
  }
  let maxLeft = 1;
  for (const c of left) maxLeft = Math.max(maxLeft, c.m + c.t + c.o);
  const V = M.violation || null;
  const runStart = M.start;
  const runEnd = Math.max(M.end, M.start + 1);

  // ---- helpers ----
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  }
  function fmt(ns) { // seconds with nanosecond digits, as the trace prints them
    const neg = ns < 0 ? '-' : '';
    ns = Math.abs(ns);
    const s = Math.floor(ns / 1e9);
    const frac = String(Math.round(ns % 1e9)).padStart(9, '0');
    return neg + s + '.' + frac + 's';
  }
  function fmtShort(ns, step) {
    const digits = step >= 1e9 ? 0 : step >= 1e8 ? 1 : step >= 1e7 ? 2 : step >= 1e6 ? 3 : step >= 1e5 ? 4 : step >= 1e4 ? 5 : 6;
    return (ns / 1e9).toFixed(digits) + 's';
  }
  // nearest returns at most cap of the indexes, those whose [start, end] lies nearest t.
  function nearest(idx, cap, t, start, end) {
    if (idx.length <= cap) return idx;
    const gap = (i) => Math.max(0, start(i) - t, t - end(i));
    return idx.map((i) => [gap(i), i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, cap).map((p) => p[1]);
  }
  function lowerBound(arr, t, key) { // first index whose key >= t
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key(arr[mid]) < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // ---- state ----
  let maxArrowNs = 0;
  for (const a of M.arrows) maxArrowNs = Math.max(maxArrowNs, a.r - a.s);
  const types = [];
  const typeKind = {};
  for (const [name, kind] of wireTypes) {
    if (!(name in typeKind)) { typeKind[name] = kind; types.push(name); }
  }
  types.sort();
  // Heartbeats and their replies start hidden: they are most of the arrows and rarely the story.
  const typeOn = {};
  for (const t of types) typeOn[t] = typeKind[t] !== 'heartbeat' && typeKind[t] !== 'heartbeat-reply';
  const laneOn = M.lanes.map(() => true);
  const violationLanes = new Set(V ? V.ls || [] : []);

  let focusS = runStart, focusE = runEnd;
  if (V) {
    const pad = Math.max((V.e - V.s) * 0.15, 20e6);
    focusS = Math.max(runStart, V.s - pad);
    focusE = Math.min(runEnd, V.e + pad);
    if (focusE <= focusS) { focusS = Math.max(runStart, V.at - 50e6); focusE = focusS + 100e6; }
  }
  let view = {s: focusS, e: focusE};
  // Message windows: half-widths around the violation's window; the last choice is the run.
  const winCenter = V ? (V.s + V.e) / 2 : (runStart + runEnd) / 2;
  const winHalf = V ? Math.max((V.e - V.s) / 2 + 250e6, 500e6) : (runEnd - runStart);
  const windows = V ? [1, 4, 16, Infinity] : [Infinity];
  let windowIndex = 0;

  // ---- page skeleton ----
  const head = el('div', {id: 'head'});
  head.appendChild(el('h1', {}, M.title || 'run'));
  for (const line of M.summary.slice(0, 4)) head.appendChild(el('div', {class: 'summary', title: line}, line));
  const controls = el('div', {id: 'controls'});
  function button(label, title, fn) {
    const b = el('button', {type: 'button', title}, label);
    b.addEventListener('click', fn);
    controls.appendChild(b);
    return b;
  }
  button('−', 'zoom out', () => zoom(2));
  button('+', 'zoom in', () => zoom(0.5));
  button('whole run', 'show the whole run', () => setView(runStart, runEnd));
  if (V) button('violation', 'zoom to the violation', () => { setView(focusS, focusE); showDetail('v', 0); });
  const winLabel = el('label', {}, ' messages: ');
  const winSelect = el('select', {id: 'msgwin'});
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i];
    const text = w === Infinity ? 'whole run' : '±' + (winHalf * w / 1e9).toFixed(2) + 's around the violation';
    winSelect.appendChild(el('option', {value: String(i)}, text));
  }
  winSelect.addEventListener('change', () => { windowIndex = Number(winSelect.value); redraw(); });
  winLabel.appendChild(winSelect);
  controls.appendChild(winLabel);
  const typeBox = el('details', {class: 'filter'});
  typeBox.appendChild(el('summary', {}, 'message types'));
  for (const t of types) {
    const lab = el('label', {});
    const cb = el('input', {type: 'checkbox'});
    cb.checked = typeOn[t];
    cb.addEventListener('change', () => { typeOn[t] = cb.checked; redraw(); });
    lab.appendChild(cb);
    const sw = el('span', {class: 'swatch'});
    sw.style.background = KIND_COLORS[typeKind[t]] || KIND_COLORS.other;
    lab.appendChild(sw);
    lab.appendChild(document.createTextNode(t));
    typeBox.appendChild(lab);
  }
  controls.appendChild(typeBox);
  const laneBox = el('details', {class: 'filter'});
  laneBox.appendChild(el('summary', {}, 'nodes'));
  M.lanes.forEach((lane, i) => {
    const lab = el('label', {});
    const cb = el('input', {type: 'checkbox'});
    cb.checked = true;
    cb.addEventListener('change', () => { laneOn[i] = cb.checked; redraw(); });
    lab.appendChild(cb);
    lab.appendChild(document.createTextNode(lane.name));
    laneBox.appendChild(lab);
  });
  controls.appendChild(laneBox);
  for (const link of M.links) controls.appendChild(el('a', {href: link.href}, link.label));
  head.appendChild(controls);
  const notes = el('div', {id: 'notes'});
  for (const n of M.notes) notes.appendChild(el('div', {class: 'note'}, n));
  head.appendChild(notes);
  document.body.appendChild(head);

  const chart = el('div', {id: 'chart'});
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('id', 'svg');
  chart.appendChild(svg);
  let flag = null;
  if (V) {
    flag = el('div', {id: 'violation', title: V.d}, '⚠ ' + (V.lb || V.check));
    flag.addEventListener('click', () => { setView(focusS, focusE); showDetail('v', 0); });
    chart.appendChild(flag);
  }
  document.body.appendChild(chart);
  const status = el('div', {id: 'status'});
  document.body.appendChild(status);
  const details = el('pre', {id: 'details'}, V ? 'Click any arrow, span or mark for its content.' : 'No check failed in this run. Click any arrow, span or mark for its content.');
  document.body.appendChild(details);
  document.body.appendChild(legend());

  function legend() {
    const lg = el('div', {id: 'legend'});
    const add = (title, entries, shape) => {
      const g = el('div', {class: 'lgroup'});
      g.appendChild(el('b', {}, title + ': '));
      for (const name in entries) {
        const sw = el('span', {class: 'swatch ' + shape});
        sw.style.background = entries[name];
        g.appendChild(sw);
        g.appendChild(document.createTextNode(name + ' '));
      }
      lg.appendChild(g);
    };
    add('roles (band, term inside)', ROLE_COLORS, 'box');
    add('messages (arrow, ✕ = dropped, dashed = duplicate copy)', KIND_COLORS, 'line');
    add('marks', TICK_COLORS, 'tick');
    add('down', OUTAGE_COLORS, 'box');
    add('shaded', SHADE_COLORS, 'box');
    if (K) add('left out of this page (size limit)', {'count of what was left out, along each lane': '#566573'}, 'box');
    add('client calls', {'ok': '#d6eaf8', 'never returned': '#fadbd8', 'named by the check': '#e74c3c'}, 'box');
    return lg;
  }

  // ---- geometry ----
  let laneY = [];
  let laneH = [];
  let chartH = 0;
  let plotW = 800;
  function layout() {
    let y = AXIS_H;
    laneY = []; laneH = [];
    M.lanes.forEach((lane, i) => {
      const h = LANE_H[lane.kind] || LANE_H.server;
      if (laneOn[i]) { laneY[i] = y; laneH[i] = h; y += h; } else { laneY[i] = -1; laneH[i] = 0; }
    });
    chartH = y + 8;
    plotW = Math.max(200, chart.clientWidth - LABEL_W - 12);
  }
  function x(t) { return LABEL_W + (t - view.s) / (view.e - view.s) * plotW; }
  function mid(i) { return laneY[i] + laneH[i] / 2; }

  // ---- drawing ----
  let pending = false;
  function redraw() {
    if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); }
  }
  function draw() {
    if (!farLoaded && (view.s < nearS || view.e > nearE || windows[windowIndex] * winHalf > (nearE - nearS) / 2)) loadFar();
    layout();
    const parts = [];
    const W = LABEL_W + plotW + 12;
    svg.setAttribute('width', W);
    svg.setAttribute('height', chartH);
    parts.push('<defs><clipPath id="plot"><rect x="' + LABEL_W + '" y="0" width="' + plotW + '" height="' + chartH + '"/></clipPath>' +
      '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="rgba(44,62,80,0.55)"/></pattern>' +
      '<marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="context-stroke"/></marker></defs>');
    // lane backgrounds and labels
    M.lanes.forEach((lane, i) => {
      if (laneY[i] < 0) return;
      const cls = 'lane ' + lane.kind + (violationLanes.has(i) ? ' vlane' : '');
      parts.push('<rect class="' + cls + '" x="0" y="' + laneY[i] + '" width="' + W + '" height="' + laneH[i] + '"/>');
      parts.push('<text class="lanelabel' + (violationLanes.has(i) ? ' vlabel' : '') + '" x="8" y="' + (mid(i) + 4) + '">' + esc(lane.name) + '</text>');
    });
    parts.push('<g clip-path="url(#plot)">');
    const vs = view.s, ve = view.e;
    // shades
    M.shades.forEach((s, i) => {
      if (s.e < vs || s.s > ve) return;
      const lanes = s.ls && s.ls.length ? s.ls : M.lanes.map((l, j) => l.kind === 'server' ? j : -1).filter((j) => j >= 0);
      const x0 = x(s.s), w = Math.max(1, x(s.e) - x0);
      const color = SHADE_COLORS[s.k] || 'rgba(127,140,141,0.15)';
      for (const l of lanes) {
        if (laneY[l] < 0) continue;
        parts.push('<rect data-k="h' + i + '" class="shade" x="' + x0 + '" y="' + laneY[l] + '" width="' + w + '" height="' + laneH[l] + '" fill="' + color + '"/>');
      }
    });
    // bands
    M.bands.forEach((b, i) => {
      if (b.e < vs || b.s > ve || laneY[b.l] < 0) return;
      const x0 = x(b.s), w = Math.max(1, x(b.e) - x0);
      const y = laneY[b.l] + 6, h = laneH[b.l] - 12;
      parts.push('<rect data-k="b' + i + '" class="band" x="' + x0 + '" y="' + y + '" width="' + w + '" height="' + h + '" fill="' + (ROLE_COLORS[b.st] || '#ddd') + '"/>');
      if (w > 30) {
        const tx = Math.max(x0, LABEL_W) + 3;
        parts.push('<text class="bandtext" x="' + tx + '" y="' + (y + h - 4) + '">' + esc((b.st === 'leader' ? 'L ' : '') + 't' + b.n) + '</text>');
      }
    });
    // outages
    M.outages.forEach((o, i) => {
      if (o.e < vs || o.s > ve || laneY[o.l] < 0) return;
      const x0 = x(o.s), w = Math.max(2, x(o.e) - x0);
      parts.push('<rect data-k="o' + i + '" class="outage ' + esc(o.k) + '" x="' + x0 + '" y="' + (laneY[o.l] + 2) + '" width="' + w + '" height="' + (laneH[o.l] - 4) + '"/>');
      if (w > 40) parts.push('<text class="outagetext" x="' + (Math.max(x0, LABEL_W) + 3) + '" y="' + (laneY[o.l] + 13) + '">' + esc(o.k) + '</text>');
    });
    // spans
    M.spans.forEach((s, i) => {
      if (s.e < vs || s.s > ve || laneY[s.l] < 0) return;
      const x0 = x(s.s), w = Math.max(2, x(s.e) - x0);
      const cls = 'span' + (s.o ? ' open' : '') + (s.m ? ' ' + s.m : '');
      parts.push('<rect data-k="s' + i + '" class="' + cls + '" x="' + x0 + '" y="' + (laneY[s.l] + 4) + '" width="' + w + '" height="' + (laneH[s.l] - 8) + '" rx="3"/>');
      if (w > 50) parts.push('<text class="spantext" x="' + (Math.max(x0, LABEL_W) + 3) + '" y="' + (mid(s.l) + 4) + '">' + esc(s.lb) + '</text>');
    });
    // ticks: at most MAX_TICKS_DRAWN, those nearest the violation (or the middle of the view)
    const anchor = V && V.at >= vs && V.at <= ve ? V.at : (vs + ve) / 2;
    const tickIdx = [];
    for (let i = lowerBound(M.ticks, vs, (t) => t.a); i < M.ticks.length && M.ticks[i].a <= ve; i++) {
      if (laneY[M.ticks[i].l] >= 0) tickIdx.push(i);
    }
    const ticksInView = tickIdx.length;
    const tickDraw = nearest(tickIdx, MAX_TICKS_DRAWN, anchor, (i) => M.ticks[i].a, (i) => M.ticks[i].a);
    const ticksDrawn = tickDraw.length;
    for (const i of tickDraw) {
      const t = M.ticks[i];
      const tx = x(t.a), y = laneY[t.l];
      const color = TICK_COLORS[t.k] || TICK_COLORS.note;
      if (t.k === 'commit' || t.k === 'apply') {
        const y0 = t.k === 'commit' ? y + 2 : y + laneH[t.l] / 2;
        parts.push('<line data-k="t' + i + '" class="tick ' + esc(t.k) + '" x1="' + tx + '" x2="' + tx + '" y1="' + y0 + '" y2="' + (y0 + laneH[t.l] / 2 - 2) + '" stroke="' + color + '"/>');
      } else {
        parts.push('<circle data-k="t' + i + '" class="mark ' + esc(t.k) + '" cx="' + tx + '" cy="' + (y + laneH[t.l] / 2) + '" r="4" fill="' + color + '"/>');
      }
    }
    // what the page left out: a grey strip along the bottom of each lane, darker where more
    // was left out, and the edges of the range it kept
    if (K) {
      left.forEach((c, i) => {
        if (c.s + K.bucket < vs || c.s > ve || laneY[c.l] < 0) return;
        const x0 = x(c.s), w = Math.max(2, x(c.s + K.bucket) - x0);
        const o = 0.3 + 0.6 * Math.log(1 + c.m + c.t + c.o) / Math.log(1 + maxLeft);
        parts.push('<rect data-k="l' + i + '" class="leftout" x="' + x0 + '" y="' + (laneY[c.l] + laneH[c.l] - LEFT_H) + '" width="' + w + '" height="' + LEFT_H + '" fill-opacity="' + o.toFixed(2) + '"/>');
      });
      for (const t of [K.s, K.e, K.ss, K.se]) {
        if (t <= runStart || t >= runEnd || t < vs || t > ve) continue;
        parts.push('<line class="keptedge" x1="' + x(t) + '" x2="' + x(t) + '" y1="' + AXIS_H + '" y2="' + chartH + '"/>');
      }
    }
    // arrows
    const wSize = windows[windowIndex];
    const ws = wSize === Infinity ? -Infinity : winCenter - winHalf * wSize;
    const we = wSize === Infinity ? Infinity : winCenter + winHalf * wSize;
    const lo = Math.max(vs, ws), hi = Math.min(ve, we);
    const arrowIdx = [];
    if (lo <= hi) {
      for (let i = lowerBound(M.arrows, lo - maxArrowNs, (a) => a.s); i < M.arrows.length && M.arrows[i].s <= hi; i++) {
        const a = M.arrows[i];
        if (a.r >= lo && typeOn[a.y] && laneY[a.f] >= 0 && laneY[a.t] >= 0) arrowIdx.push(i);
      }
    }
    const inView = arrowIdx.length;
    const arrowDraw = nearest(arrowIdx, MAX_ARROWS_DRAWN, anchor, (i) => M.arrows[i].s, (i) => M.arrows[i].r);
    const drawn = arrowDraw.length;
    for (const i of arrowDraw) {
      const a = M.arrows[i];
      const x1 = x(a.s), y1 = mid(a.f), x2 = x(a.r), y2 = mid(a.t);
      const color = KIND_COLORS[a.k] || KIND_COLORS.other;
      const cls = 'arrow' + (a.c ? ' copy' : '') + (a.x ? ' dropped' : '');
      if (a.x) {
        // a dropped message stops where it was lost, a third of the way when dropped at send
        const f = a.r > a.s ? 0.85 : 0.3;
        const ex = x1 + (x2 - x1) * f + (a.r > a.s ? 0 : 8), ey = y1 + (y2 - y1) * f;
        parts.push('<line data-k="a' + i + '" class="' + cls + '" x1="' + x1 + '" y1="' + y1 + '" x2="' + ex + '" y2="' + ey + '" stroke="' + color + '"/>');
        parts.push('<path class="cross" d="M' + (ex - 4) + ',' + (ey - 4) + 'L' + (ex + 4) + ',' + (ey + 4) + 'M' + (ex - 4) + ',' + (ey + 4) + 'L' + (ex + 4) + ',' + (ey - 4) + '"/>');
      } else {
        parts.push('<line data-k="a' + i + '" class="' + cls + '" x1="' + x1 + '" y1="' + y1 + '" x2="' + x2 + '" y2="' + y2 + '" stroke="' + color + '" marker-end="url(#head)"/>');
      }
    }
    // violation line
    if (V) {
      const vx = x(V.at);
      parts.push('<line class="vline" x1="' + vx + '" x2="' + vx + '" y1="' + AXIS_H + '" y2="' + chartH + '"/>');
    }
    parts.push('</g>');
    // axis
    parts.push(axis());
    svg.innerHTML = parts.join('');
    placeFlag();
    let msg = 'view ' + fmt(vs) + ' – ' + fmt(ve) + ' (' + ((ve - vs) / 1e6).toFixed(1) + ' ms). ';
    if (inView > drawn) msg += 'Drawing the ' + drawn + ' of ' + inView + ' messages in view nearest ' + (V && anchor === V.at ? 'the violation' : 'the middle') + ': zoom in to see them all. ';
    else msg += drawn + ' messages drawn. ';
    if (ticksInView > ticksDrawn) msg += 'Drawing the ' + ticksDrawn + ' of ' + ticksInView + ' marks in view nearest ' + (V && anchor === V.at ? 'the violation' : 'the middle') + '. ';
    const hidden = types.filter((t) => !typeOn[t]);
    if (hidden.length) msg += 'Hidden message types: ' + hidden.join(', ') + ' (see "message types"). ';
    if (K && (K.s > runStart || K.e < runEnd)) msg += 'This page holds the messages and marks from ' + fmt(K.s) + ' to ' + fmt(K.e) + ' only (its size limit; the grey strips along the lanes count the rest). ';
    if (wSize !== Infinity) msg += 'Messages outside ' + fmt(Math.max(ws, runStart)) + ' – ' + fmt(Math.min(we, runEnd)) + ' are hidden (widen with "messages").';
    status.textContent = msg;
  }

  function axis() {
    const span = view.e - view.s;
    const target = span / Math.max(2, plotW / 110);
    let step = Math.pow(10, Math.floor(Math.log10(target)));
    if (target / step >= 5) step *= 5; else if (target / step >= 2) step *= 2;
    const out = ['<rect class="axisbg" x="0" y="0" width="' + (LABEL_W + plotW + 12) + '" height="' + AXIS_H + '"/>'];
    if (K) {
      const ks = Math.max(K.s, K.ss), ke = Math.min(K.e, K.se);
      for (const [a, b] of [[runStart, ks], [ke, runEnd]]) {
        if (b <= a || b < view.s || a > view.e) continue;
        const x0 = Math.max(LABEL_W, x(a)), x1 = Math.min(LABEL_W + plotW, x(b));
        if (x1 > x0) out.push('<rect class="axisleft" x="' + x0 + '" y="' + (AXIS_H - 6) + '" width="' + (x1 - x0) + '" height="6"><title>left out of this page in part (its size limit)</title></rect>');
      }
    }
    for (let t = Math.ceil(view.s / step) * step; t <= view.e; t += step) {
      const tx = x(t);
      out.push('<line class="grid" x1="' + tx + '" x2="' + tx + '" y1="' + (AXIS_H - 6) + '" y2="' + chartH + '"/>');
      out.push('<text class="axistext" x="' + (tx + 2) + '" y="' + (AXIS_H - 10) + '">' + fmtShort(t, step) + '</text>');
    }
    return out.join('');
  }

  function placeFlag() {
    if (!flag) return;
    const vx = x(V.at);
    const w = flag.offsetWidth || 120;
    let left = vx - w / 2;
    left = Math.max(LABEL_W, Math.min(left, LABEL_W + plotW - w));
    flag.style.left = left + 'px';
    flag.classList.toggle('offscreen', vx < LABEL_W || vx > LABEL_W + plotW);
  }

  // ---- interaction ----
  function setView(s, e) {
    const minSpan = 1000; // 1 µs
    if (e - s < minSpan) { const c = (s + e) / 2; s = c - minSpan / 2; e = c + minSpan / 2; }
    const slack = (runEnd - runStart) * 0.05;
    if (s < runStart - slack) { e += runStart - slack - s; s = runStart - slack; }
    if (e > runEnd + slack) { s -= e - runEnd - slack; e = runEnd + slack; }
    view = {s: s, e: e};
    redraw();
  }
  function zoom(factor, atT) {
    const c = atT === undefined ? (view.s + view.e) / 2 : atT;
    setView(c - (c - view.s) * factor, c + (view.e - c) * factor);
  }
  chart.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const rect = svg.getBoundingClientRect();
    const px = ev.clientX - rect.left;
    const t = view.s + (px - LABEL_W) / plotW * (view.e - view.s);
    zoom(Math.exp(ev.deltaY * 0.0015), t);
  }, {passive: false});
  let drag = null;
  svg.addEventListener('mousedown', (ev) => { drag = {x: ev.clientX, s: view.s, e: view.e, moved: false}; });
  window.addEventListener('mousemove', (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (!drag.moved) return;
    const dt = dx / plotW * (drag.e - drag.s);
    setView(drag.s - dt, drag.e - dt);
  });
  window.addEventListener('mouseup', () => { setTimeout(() => { drag = null; }, 0); });
  svg.addEventListener('click', (ev) => {
    if (drag && drag.moved) return;
    const target = ev.target.closest ? ev.target.closest('[data-k]') : null;
    if (!target) return;
    const k = target.getAttribute('data-k');
    showDetail(k[0], Number(k.slice(1)));
  });
  window.addEventListener('resize', redraw);

  function laneName(i) { return M.lanes[i] ? M.lanes[i].name : '?'; }
  function showDetail(kind, i) {
    let text = '';
    if (kind === 'a') {
      const a = M.arrows[i];
      text = a.y + ' ' + laneName(a.f) + ' → ' + laneName(a.t) + (a.c ? ' (duplicate copy)' : '') +
        '\nsent ' + fmt(a.s) + (a.x ? ', dropped ' : ', delivered ') + fmt(a.r) + ' (' + ((a.r - a.s) / 1e6).toFixed(3) + ' ms)\n' + a.d;
    } else if (kind === 's') {
      const s = M.spans[i];
      text = laneName(s.l) + ' ' + s.lb + '\ninvoked ' + fmt(s.s) + (s.o ? ', never returned' : ', returned ' + fmt(s.e)) + '\n' + s.d;
    } else if (kind === 'b') {
      const b = M.bands[i];
      text = laneName(b.l) + ' ' + b.st + ' in term ' + b.n + ' from ' + fmt(b.s) + ' to ' + fmt(b.e);
    } else if (kind === 'o') {
      const o = M.outages[i];
      text = laneName(o.l) + ' ' + o.k + ' from ' + fmt(o.s) + ' to ' + fmt(o.e) + '\n' + o.d;
    } else if (kind === 'h') {
      const h = M.shades[i];
      text = h.lb + ' from ' + fmt(h.s) + ' to ' + fmt(h.e) + '\n' + h.d;
    } else if (kind === 't') {
      const t = M.ticks[i];
      text = laneName(t.l) + ' ' + t.k + ' at ' + fmt(t.a) + ': ' + t.lb + (t.d ? '\n' + t.d : '');
    } else if (kind === 'l') {
      const c = left[i];
      text = laneName(c.l) + ' from ' + fmt(c.s) + ' to ' + fmt(c.s + K.bucket) + ': left out of this page (its size limit keeps what lies nearest the violation): ' +
        c.m + ' messages sent, ' + c.t + ' marks (commits, applies...), ' + c.o + ' other shapes (calls, roles, outages, shades).'
    } else if (kind === 'v' && V) {
      text = 'VIOLATION (' + V.check + ') at ' + fmt(V.at) + '\n' + V.d;
    }
    details.textContent = text;
  }

  draw();
  if (V) showDetail('v', 0);
  document.body.setAttribute('data-ready', '1');
})();
