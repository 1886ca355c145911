// The Apiary dashboard: polls the admin port that served the page once a second and draws
// the cluster as one picture. Read-only (GET requests only), no libraries, no network access
// beyond the serving node. Rates (operations/s, bytes/s, hit ratio) are computed here from
// two successive /v1/stats samples of a node, using the node's own clock.
//
// Stable hooks for tests: #total-ops[data-value], #members tr[data-member][data-state],
// #partition-legend [data-owner][data-primary], #handoffs tr[data-handoff][data-active],
// #events li[data-event-id][data-type], #status[data-status].
'use strict';

const POLL_MS = 1000;
const WINDOW_MS = 120000;      // what the charts show
const PARTITIONS_EVERY = 3;    // polls between partition table refreshes (unless members change)
const MAX_EVENTS = 100;
const MAX_SLOWLOG = 20;
const PALETTE = ['#2f6fd8', '#e4572e', '#17a398', '#f3a712', '#8e44ad', '#5d6d7e',
                 '#c0392b', '#27ae60', '#d35400', '#1abc9c', '#7f8c8d', '#b03a8a'];

const view = {
  self: '',
  members: [],                // from /v1/members
  membersKey: '',
  colours: new Map(),         // member name -> colour, fixed once given
  samples: new Map(),         // member name -> its last /v1/stats object
  rates: new Map(),           // member name -> {ops, hit, netIn, netOut, dHits, dMisses}
  series: {ops: new Map(), hits: new Map(), memory: new Map(), netIn: new Map(),
           netOut: new Map()},  // name -> [{t, v}]
  episodes: new Map(),        // member name -> {out, in, promo} peaks of the current handoff
  lastEventId: 0,
  events: [],
  partitionsBody: '',
  partitions: null,
  slowlogKey: '',
  tick: 0,
};

// ---- Formatting -----------------------------------------------------------------------

function fmtCount(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const abs = Math.abs(v);
  if (abs >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (abs >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (abs >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  if (abs >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(1);
}

function fmtBytes(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(Math.round(v)) : v.toFixed(1)) + ' ' + units[i];
}

function fmtRatio(v) {
  return v === null || v === undefined || Number.isNaN(v) ? '–' : (v * 100).toFixed(1) + '%';
}

function fmtClock(ms) {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
      .map((n) => String(n).padStart(2, '0')).join(':');
}

function fmtDuration(us) {
  if (us >= 1e6) return (us / 1e6).toFixed(2) + ' s';
  if (us >= 1e3) return (us / 1e3).toFixed(1) + ' ms';
  return us + ' µs';
}

// ---- DOM helpers ----------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v;
    else if (k === 'style') node.style.cssText = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function colourOf(name) {
  if (!view.colours.has(name)) {
    view.colours.set(name, PALETTE[view.colours.size % PALETTE.length]);
  }
  return view.colours.get(name);
}

function swatch(name, extraStyle) {
  return el('span', {class: 'swatch', style: `background:${colourOf(name)};${extraStyle || ''}`});
}

function nodeName(name, markSelf) {
  return el('span', {class: 'node-name'}, swatch(name), name,
            markSelf && name === view.self ?
                el('span', {class: 'self-marker'}, '(serving this page)') : null);
}

function setText(id, text) {
  const node = document.getElementById(id);
  if (node.textContent !== text) node.textContent = text;
}

// ---- The admin token (docs/security.md) ------------------------------------------------
// A node started with --admin-token answers 401 to every /v1 request without
// "Authorization: Bearer <token>". The page takes the token from ?token= once (and drops it
// from the address bar), or asks for it at the first 401; it lives in sessionStorage, so it
// is gone when the tab closes.

const TOKEN_KEY = 'apiary-admin-token';
let tokenAsked = false;

(function takeTokenFromAddress() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  url.searchParams.delete('token');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
})();

function authHeaders(token) {
  return token ? {Authorization: 'Bearer ' + token} : {};
}

function onUnauthorized(path, sent) {
  // One prompt per wrong token: the other requests of the same poll that fail with it, or a
  // cancelled prompt, ask nothing more.
  if (!tokenAsked && sessionStorage.getItem(TOKEN_KEY) === sent) {
    tokenAsked = true;
    const token = window.prompt('This node asks for its admin token (apiaryd --admin-token):');
    if (token && token.trim()) {
      sessionStorage.setItem(TOKEN_KEY, token.trim());
      tokenAsked = false;
    }
  }
  return new Error(`${path}: HTTP 401, the admin token is missing or wrong`);
}

async function fetchAuthorized(path, options) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(path, {...options, headers: authHeaders(token)});
  if (res.status === 401) throw onUnauthorized(path, token);
  return res;
}

async function getJSON(path) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 4000);
  try {
    const res = await fetchAuthorized(path, {cache: 'no-store', signal: controller.signal});
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return await res.json();
  } finally {
    clearTimeout(timer);
  }
}

// ---- Members --------------------------------------------------------------------------

async function pollMembers() {
  const data = await getJSON('/v1/members');
  view.self = data.self;
  view.members = data.members.slice().sort((a, b) => a.name.localeCompare(b.name));
  for (const m of view.members) colourOf(m.name);
  const key = view.members.map((m) => m.name + ':' + m.state).join(',');
  const changed = key !== view.membersKey;
  view.membersKey = key;
  return changed;
}

function renderMembers() {
  const tbody = document.querySelector('#members tbody');
  const rows = new Map([...tbody.querySelectorAll('tr[data-member]')]
                           .map((tr) => [tr.dataset.member, tr]));
  const seen = new Set();
  for (const m of view.members) {
    seen.add(m.name);
    let tr = rows.get(m.name);
    if (!tr) {
      tr = el('tr', {'data-member': m.name});
      for (let i = 0; i < 12; i++) tr.append(el('td'));
      [2, 5, 6, 7, 8, 9, 10, 11].forEach((i) => tr.children[i].classList.add('num'));
      tr.children[0].append(nodeName(m.name, true));
    }
    tbody.append(tr);  // keeps the rows in name order
    tr.dataset.state = m.state;
    tr.dataset.incarnation = m.incarnation;
    const sample = view.samples.get(m.name);
    const rate = view.rates.get(m.name);
    const live = m.state === 'alive' || m.state === 'suspect';
    const cells = [
      null,
      null,
      String(m.incarnation),
      m.client_addr || '–',
      m.http_addr || '–',
      live && rate ? fmtCount(rate.ops) : '–',
      live && rate ? fmtRatio(rate.hit) : '–',
      live && sample ? fmtCount(sample.keys) : '–',
      live && sample ? fmtBytes(sample.used_memory) : '–',
      live && sample ? fmtCount(sample.connected_clients) : '–',
      live && sample ? String(sample.partitions_owned) : '–',
      live && sample ? fmtCount(sample.hints) : '–',
    ];
    const badge = tr.children[1].firstChild || tr.children[1].appendChild(el('span'));
    badge.className = 'badge ' + m.state;
    badge.textContent = m.state;
    cells.forEach((text, i) => {
      if (text !== null && tr.children[i].textContent !== text) tr.children[i].textContent = text;
    });
  }
  for (const [name, tr] of rows) if (!seen.has(name)) tr.remove();
  const alive = view.members.filter((m) => m.state === 'alive').length;
  setText('members-alive', `${alive} / ${view.members.length}`);
}

// ---- Stats and rates ------------------------------------------------------------------

function pushPoint(map, name, t, v) {
  if (!map.has(name)) map.set(name, []);
  const points = map.get(name);
  points.push({t, v});
  while (points.length > 0 && points[0].t < t - WINDOW_MS - 5000) points.shift();
}

function absorbSample(s) {
  const prev = view.samples.get(s.name);
  view.samples.set(s.name, s);
  pushPoint(view.series.memory, s.name, s.time, s.used_memory);
  // A restart (counters went back) or a repeated sample gives no rate.
  if (!prev || s.time <= prev.time || s.commands_processed < prev.commands_processed) {
    view.rates.delete(s.name);
    return;
  }
  const dt = (s.time - prev.time) / 1000;
  const dHits = s.hits - prev.hits;
  const dMisses = s.misses - prev.misses;
  const rate = {
    ops: (s.commands_processed - prev.commands_processed) / dt,
    hit: dHits + dMisses > 0 ? dHits / (dHits + dMisses) : null,
    netIn: (s.net_input_bytes - prev.net_input_bytes) / dt,
    netOut: (s.net_output_bytes - prev.net_output_bytes) / dt,
    dHits,
    dMisses,
  };
  view.rates.set(s.name, rate);
  pushPoint(view.series.ops, s.name, s.time, rate.ops);
  pushPoint(view.series.hits, s.name, s.time, rate.hit);
  pushPoint(view.series.netIn, s.name, s.time, rate.netIn);
  pushPoint(view.series.netOut, s.name, s.time, rate.netOut);
}

async function pollStats() {
  const data = await getJSON('/v1/cluster/stats');
  const present = new Set();
  for (const s of data.nodes) {
    present.add(s.name);
    colourOf(s.name);
    absorbSample(s);
  }
  // Members that did not answer this time have no current rate.
  for (const name of [...view.rates.keys()]) if (!present.has(name)) view.rates.delete(name);
  for (const name of [...view.samples.keys()]) if (!present.has(name)) view.samples.delete(name);
  setText('unreachable', data.unreachable.length
      ? 'Not answering the stats request: ' + data.unreachable.join(', ') : '');
}

function renderTotals() {
  let ops = 0, haveOps = false, hits = 0, lookups = 0, netIn = 0, netOut = 0;
  for (const r of view.rates.values()) {
    haveOps = true;
    ops += r.ops;
    hits += r.dHits;
    lookups += r.dHits + r.dMisses;
    netIn += r.netIn;
    netOut += r.netOut;
  }
  let keys = 0, memory = 0, clients = 0;
  for (const s of view.samples.values()) {
    keys += s.keys;
    memory += s.used_memory;
    clients += s.connected_clients;
  }
  const total = document.getElementById('total-ops');
  total.dataset.value = haveOps ? ops.toFixed(3) : '';
  setText('total-ops', haveOps ? fmtCount(ops) : '–');
  setText('hit-ratio', lookups > 0 ? fmtRatio(hits / lookups) : '–');
  const any = view.samples.size > 0;
  setText('total-keys', any ? fmtCount(keys) : '–');
  setText('total-memory', any ? fmtBytes(memory) : '–');
  setText('total-net', haveOps ? `${fmtBytes(netIn)}/s in\n${fmtBytes(netOut)}/s out` : '–');
  setText('total-clients', any ? fmtCount(clients) : '–');
}

// ---- Charts (canvas, drawn here) --------------------------------------------------------

// The axis top: at least 4 (four grid steps of at least 1), a value whose quarters read
// well (1, 2, 4, 8 times a power of ten).
function niceCeil(v) {
  if (!(v > 4)) return 4;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 4, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// The same in whole binary units (KiB, MiB, ...), for byte axes.
function niceCeilBytes(v) {
  let unit = 1;
  while (v / unit >= 1024) unit *= 1024;
  return niceCeil(v / unit) * unit;
}

// lines: [{colour, dashed, points: [{t, v}]}]; the axis top is `top` when it is a number
// (1 for ratios), else `top(largest value shown)`.
function drawChart(canvas, lines, format, top) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (w === 0 || h === 0) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pad = {l: 64, r: 10, t: 8, b: 20};
  const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;

  let tEnd = 0;
  for (const line of lines) for (const p of line.points) tEnd = Math.max(tEnd, p.t);
  if (tEnd === 0) tEnd = Date.now();
  const tStart = tEnd - WINDOW_MS;
  let vMax = 0;
  for (const line of lines) {
    for (const p of line.points) if (p.t >= tStart && p.v !== null) vMax = Math.max(vMax, p.v);
  }
  const yMax = typeof top === 'number' ? top : top(vMax);
  const x = (t) => pad.l + ((t - tStart) / WINDOW_MS) * pw;
  const y = (v) => pad.t + ph - (v / yMax) * ph;

  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#6b7280';
  ctx.strokeStyle = '#e3e6ea';
  ctx.lineWidth = 1;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const yy = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.l, yy);
    ctx.lineTo(w - pad.r, yy);
    ctx.stroke();
    ctx.fillText(format(v), pad.l - 6, yy);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const [label, t] of [['−2 min', tStart], ['−1 min', tStart + WINDOW_MS / 2],
                            ['now', tEnd]]) {
    ctx.textAlign = t === tStart ? 'left' : t === tEnd ? 'right' : 'center';
    ctx.fillText(label, x(t), h - pad.b + 5);
  }

  ctx.save();
  ctx.beginPath();
  ctx.rect(pad.l, pad.t - 2, pw, ph + 4);
  ctx.clip();
  ctx.lineWidth = 1.8;
  ctx.lineJoin = 'round';
  for (const line of lines) {
    ctx.strokeStyle = line.colour;
    ctx.setLineDash(line.dashed ? [5, 4] : []);
    ctx.beginPath();
    let prevT = null;
    for (const p of line.points) {
      if (p.v === null || p.t < tStart - POLL_MS * 3) {
        prevT = null;
        continue;
      }
      // A gap of several polls (the node did not answer) breaks the line.
      if (prevT === null || p.t - prevT > POLL_MS * 5) ctx.moveTo(x(p.t), y(p.v));
      else ctx.lineTo(x(p.t), y(p.v));
      prevT = p.t;
    }
    ctx.stroke();
  }
  ctx.restore();
}

function linesOf(map, dashed) {
  return [...map.entries()].map(([name, points]) => ({colour: colourOf(name), dashed, points}));
}

function renderLegend(id, entries) {
  const box = document.getElementById(id);
  box.replaceChildren(...entries.map(([name, text, style]) =>
      el('span', {class: 'item', 'data-node': name}, swatch(name, style), `${name} ${text}`)));
}

function renderCharts() {
  // The newest value of a node that answered the last poll; '–' for the others.
  const latest = (map, name) => {
    const points = view.samples.has(name) ? map.get(name) : null;
    return points && points.length ? points[points.length - 1].v : null;
  };
  const names = [...view.colours.keys()].filter((n) => view.series.memory.has(n)).sort();
  drawChart(document.getElementById('chart-ops'), linesOf(view.series.ops), fmtCount, niceCeil);
  renderLegend('legend-ops', names.map((n) => [n, fmtCount(latest(view.series.ops, n))]));
  drawChart(document.getElementById('chart-hits'), linesOf(view.series.hits), fmtRatio, 1);
  renderLegend('legend-hits', names.map((n) => [n, fmtRatio(latest(view.series.hits, n))]));
  drawChart(document.getElementById('chart-memory'), linesOf(view.series.memory), fmtBytes,
            niceCeilBytes);
  renderLegend('legend-memory', names.map((n) => [n, fmtBytes(latest(view.series.memory, n))]));
  drawChart(document.getElementById('chart-net'),
            [...linesOf(view.series.netIn, false), ...linesOf(view.series.netOut, true)],
            (v) => fmtBytes(v) + '/s', niceCeilBytes);
  const perSecond = (v) => (v === null ? '–' : fmtBytes(v) + '/s');
  renderLegend('legend-net', names.map((n) => [n,
      `${perSecond(latest(view.series.netIn, n))} in, ` +
      `${perSecond(latest(view.series.netOut, n))} out`]));
}

// ---- Partition map --------------------------------------------------------------------

async function pollPartitions() {
  const res = await fetchAuthorized('/v1/partitions', {cache: 'no-store'});
  if (res.status === 503) {
    view.partitions = null;
    return;
  }
  if (!res.ok) throw new Error(`/v1/partitions: HTTP ${res.status}`);
  const body = await res.text();
  if (body === view.partitionsBody) return;
  view.partitionsBody = body;
  view.partitions = JSON.parse(body);
}

function renderPartitions() {
  const canvas = document.getElementById('partition-map');
  const table = view.partitions;
  if (!table) {
    setText('partition-summary', '(no partition table yet)');
    return;
  }
  const n = table.partition_count;
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  if (w === 0) return;
  const cell = w / cols;
  const h = cell * rows;
  canvas.style.aspectRatio = `${cols} / ${rows}`;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const gap = cell > 6 ? 1 : 0;
  const primary = new Map();
  for (const p of table.partitions) {
    const owner = p.owners[0];
    if (owner !== undefined) primary.set(owner, (primary.get(owner) || 0) + 1);
    ctx.fillStyle = owner === undefined ? '#d0d4da' : colourOf(owner);
    const c = p.id % cols, r = Math.floor(p.id / cols);
    ctx.fillRect(c * cell, r * cell, cell - gap, cell - gap);
  }
  setText('partition-summary',
          `(${n} partitions, ${table.replicas} replicas; colour = first owner)`);
  const legend = document.getElementById('partition-legend');
  legend.replaceChildren(...Object.keys(table.owned).sort().map((name) => el('span',
      {class: 'item', 'data-owner': name, 'data-primary': String(primary.get(name) || 0),
       'data-owned': String(table.owned[name])},
      swatch(name), `${name}: first owner of ${primary.get(name) || 0}, ` +
                    `owner of ${table.owned[name]}`)));
}

function partitionAt(event) {
  const table = view.partitions;
  const canvas = event.target;
  if (!table) return null;
  const cols = Math.ceil(Math.sqrt(table.partition_count));
  const cell = canvas.clientWidth / cols;
  const id = Math.floor(event.offsetY / cell) * cols + Math.floor(event.offsetX / cell);
  return table.partitions[id] || null;
}

// ---- Handoffs -------------------------------------------------------------------------

// One progress cell: `done` is the fraction finished (0..1), or null when idle.
function progressCell(done, label) {
  if (done === null) return el('div', {class: 'progress idle'}, 'idle');
  const width = Math.max(0, Math.min(1, done)) * 100;
  return el('div', {class: 'progress'},
            el('div', {class: 'bar'}, el('span', {style: `width:${width.toFixed(1)}%`})),
            label);
}

// A node's handoffs as fractions done. The node reports the work in progress now; finished
// partitions drop out of its figures, so the page remembers the most it saw in the current
// episode (view.episodes) and counts what went away as done.
function handoffProgress(name, h) {
  const ep = view.episodes.get(name) || {out: 0, in: 0, promo: 0};
  const outLeft = h.outbound_streams - h.outbound_streams_done;
  ep.out = outLeft > 0 ? Math.max(ep.out, h.outbound_streams) : 0;
  ep.in = h.inbound_partitions > 0 ? Math.max(ep.in, h.inbound_partitions) : 0;
  ep.promo = h.promoting_partitions > 0 ? Math.max(ep.promo, h.promoting_partitions) : 0;
  view.episodes.set(name, ep);
  // Partitions still arriving get credit for the previous owners that already finished.
  const owners = h.inbound_owners_waiting + h.inbound_owners_done;
  const inPartial = owners > 0 ? h.inbound_partitions * (h.inbound_owners_done / owners) : 0;
  return {
    outLeft,
    out: outLeft > 0 ? 1 - outLeft / ep.out : null,
    outPeak: ep.out,
    in: h.inbound_partitions > 0 ? (ep.in - h.inbound_partitions + inPartial) / ep.in : null,
    promo: h.promoting_partitions > 0 ? 1 - h.promoting_partitions / ep.promo : null,
    promoPeak: ep.promo,
  };
}

function renderHandoffs() {
  const tbody = document.querySelector('#handoffs tbody');
  const rows = [];
  for (const name of [...view.samples.keys()].sort()) {
    const h = view.samples.get(name).handoff;
    const p = handoffProgress(name, h);
    const active = p.out !== null || p.in !== null || p.promo !== null;
    rows.push(el('tr', {'data-handoff': name, 'data-active': String(active)},
        el('td', {}, nodeName(name)),
        el('td', {title: `${h.outbound_partitions} partitions to hand over, ` +
                         `${p.outLeft} of ${p.outPeak} (partition, new owner) streams left`},
           progressCell(p.out, `${p.outLeft} left`)),
        el('td', {title: `${h.inbound_partitions} partitions gained, waiting for ` +
                         `${h.inbound_owners_waiting} previous owners' last batch`},
           progressCell(p.in, `${h.inbound_partitions} left`)),
        el('td', {title: `${h.promoting_partitions} of ${p.promoPeak} partitions to catch ` +
                         'up on as their new coordinator'},
           progressCell(p.promo, `${h.promoting_partitions} left`)),
        el('td', {class: 'num'},
           `out ${fmtCount(h.entries_sent)} keys, ${fmtBytes(h.bytes_sent)}`, el('br'),
           `in ${fmtCount(h.entries_received + h.anti_entropy_keys_received)} keys`)));
  }
  if (rows.length === 0) {
    rows.push(el('tr', {}, el('td', {class: 'empty', colSpan: 5}, 'no node answered')));
  }
  tbody.replaceChildren(...rows);
}

// ---- Events ---------------------------------------------------------------------------

async function pollEvents() {
  const data = await getJSON(`/v1/events?after=${view.lastEventId}`);
  const fresh = (data.events || []).filter((e) => e.id > view.lastEventId);
  if (fresh.length === 0 && view.tick > 1) return false;
  for (const e of fresh) view.lastEventId = Math.max(view.lastEventId, e.id);
  view.events = view.events.concat(fresh).slice(-MAX_EVENTS);
  return true;
}

function renderEvents() {
  const list = document.getElementById('events');
  if (view.events.length === 0) {
    list.replaceChildren(el('li', {class: 'empty'}, 'No events yet.'));
    return;
  }
  list.replaceChildren(...view.events.slice().reverse().map((e) => el('li',
      {'data-event-id': String(e.id), 'data-type': e.type || ''},
      el('time', {}, fmtClock(e.time)), el('span', {class: 'type'}, e.type || ''),
      el('span', {}, e.message || JSON.stringify(e)))));
}

// ---- Slow log -------------------------------------------------------------------------

function renderSlowlog() {
  const entries = [];
  for (const [name, s] of view.samples) {
    for (const e of s.slowlog || []) entries.push({node: name, ...e});
  }
  entries.sort((a, b) => b.time - a.time || b.id - a.id);
  const shown = entries.slice(0, MAX_SLOWLOG);
  const key = JSON.stringify(shown);
  if (key === view.slowlogKey) return;
  view.slowlogKey = key;
  const tbody = document.querySelector('#slowlog tbody');
  if (shown.length === 0) {
    tbody.replaceChildren(el('tr', {}, el('td', {class: 'empty', colSpan: 5},
                                          'No slow commands logged.')));
    return;
  }
  tbody.replaceChildren(...shown.map((e) => {
    let command = (e.args || []).join(' ');
    if (command.length > 120) command = command.slice(0, 117) + '…';
    const client = e.client_name ? `${e.client} (${e.client_name})` : e.client;
    return el('tr', {'data-slowlog': `${e.node}:${e.id}`},
              el('td', {}, nodeName(e.node)), el('td', {}, fmtClock(e.time * 1000)),
              el('td', {class: 'num'}, fmtDuration(e.duration_us)),
              el('td', {}, el('code', {}, command)), el('td', {}, client || ''));
  }));
}

// ---- The poll loop --------------------------------------------------------------------

function setStatus(ok, text) {
  const status = document.getElementById('status');
  status.dataset.status = ok ? 'live' : 'error';
  status.textContent = text;
}

async function tick() {
  view.tick++;
  const errors = [];
  const attempt = async (fn) => {
    try {
      return await fn();
    } catch (err) {
      errors.push(err.message || String(err));
      return undefined;
    }
  };
  const [membersChanged, , eventsChanged] =
      await Promise.all([attempt(pollMembers), attempt(pollStats), attempt(pollEvents)]);
  if (membersChanged || view.tick % PARTITIONS_EVERY === 1) await attempt(pollPartitions);

  setText('served-by', view.self ? `served by ${view.self}` : '');
  renderMembers();
  renderTotals();
  renderCharts();
  renderPartitions();
  renderHandoffs();
  if (eventsChanged) renderEvents();
  renderSlowlog();
  if (errors.length) setStatus(false, 'cannot reach the node: ' + errors[0]);
  else setStatus(true, 'live · updated ' + fmtClock(Date.now()));
}

async function loop() {
  try {
    await tick();
  } finally {
    setTimeout(loop, POLL_MS);
  }
}

window.addEventListener('resize', () => {
  renderCharts();
  renderPartitions();
});
document.getElementById('partition-map').addEventListener('mousemove', (event) => {
  const p = partitionAt(event);
  event.target.title = p ? `partition ${p.id}: ${p.owners.join(', ') || 'no owner'}` : '';
});
loop();
