// The page: state in the URL, queries, and wiring of the chart, flame
// graph, tables, completion and downloads. Every name from a profile is
// untrusted and reaches the DOM through textContent only.

import {
  apiUrl, diffProfiles, getJson, labelNames, labelValues, toDiff, toProfile, toSeries,
} from './api.js';
import { TimeChart, compact } from './chart.js';
import { FlameGraph } from './flame.js';
import { Completer, withMatcher } from './selector.js';
import { DataTable } from './table.js';
import { resolveTime, rfc3339, stepFor } from './time.js';
import { buildTree, changesFromTree, functionTotals, searchTree } from './tree.js';

/** URL parameters that make up the page's state, named as in the API. */
const STATE_KEYS = ['query', 'base', 'head', 'from', 'to', 'base_from', 'base_to', 'head_from', 'head_to',
  'sample_type', 'group_by', 'search', 'view'];
const SIDE_RANGE_KEYS = ['base_from', 'base_to', 'head_from', 'head_to'];
const DEFAULT_FROM = 'now-1h';
const DEFAULT_TO = 'now';
/** Groups queried at most when grouping by a label with many values. */
const MAX_GROUPS = 12;
/** Groups that also get their own small flame graph. */
const MAX_GROUP_GRAPHS = 6;

const $ = (id) => document.getElementById(id);

const page = {
  state: {},
  tree: null,
  diff: false,
  unit: '',
  run: 0,
};

/** Uncaught errors and policy violations, shown in the status line and kept for tests. */
page.errors = [];
function recordError(message) {
  page.errors.push(message);
  setStatus(message, 'error');
}
window.addEventListener('error', (e) => recordError(e.message));
window.addEventListener('unhandledrejection', (e) => recordError(String(e.reason)));
document.addEventListener('securitypolicyviolation', (e) => {
  recordError(`blocked by the content security policy: ${e.violatedDirective}`);
});

const flame = new FlameGraph($('flame'), { onZoom: showZoomPath });
const chart = new TimeChart($('chart'), (from, to) => {
  setInputs({ from: rfc3339(from), to: rfc3339(to) });
  run();
});
chart.format = (v) => formatValue(v);
const table = new DataTable($('top-table'), $('table-filter'));
const groupsTable = new DataTable($('groups-table'));
const completer = new Completer($('completions'));
for (const id of ['query', 'base', 'head']) completer.attach($(id));

// ---------------------------------------------------------------- state

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  const state = {};
  for (const key of STATE_KEYS) if (params.has(key)) state[key] = params.get(key);
  return state;
}

function isDiff(state) {
  return Boolean(state.base || state.head);
}

/** The state as URL parameters, in a stable order, without empty values. */
function stateParams(state) {
  const params = new URLSearchParams();
  const keys = isDiff(state) ? STATE_KEYS.filter((k) => k !== 'query' && k !== 'group_by')
    : STATE_KEYS.filter((k) => k !== 'base' && k !== 'head' && !SIDE_RANGE_KEYS.includes(k));
  for (const key of keys) if (state[key]) params.set(key, state[key]);
  return params;
}

function setInputs(values) {
  for (const [key, value] of Object.entries(values)) {
    const input = $(key);
    if (input && 'value' in input) input.value = value ?? '';
  }
}

function readInputs() {
  const diff = page.diff;
  const state = {
    from: $('from').value.trim() || DEFAULT_FROM,
    to: $('to').value.trim() || DEFAULT_TO,
    sample_type: page.state.sample_type,
    search: $('search').value,
    view: flame.icicle ? 'icicle' : '',
  };
  if (diff) {
    state.base = $('base').value.trim();
    state.head = $('head').value.trim();
    for (const key of SIDE_RANGE_KEYS) state[key] = $(key).value.trim();
  } else {
    state.query = $('query').value.trim();
    state.group_by = $('group-by').value;
  }
  return state;
}

function setMode(diff) {
  page.diff = diff;
  $('mode-single').setAttribute('aria-pressed', String(!diff));
  $('mode-diff').setAttribute('aria-pressed', String(diff));
  $('single-row').hidden = diff;
  $('diff-rows').hidden = !diff;
  $('side-ranges').hidden = !diff;
  $('legend').hidden = !diff;
  $('chart-legend').hidden = !diff;
  $('group-by').disabled = diff;
  $('sample-type').disabled = diff;
  $('groups-panel').hidden = true;
  flame.diff = diff;
  $('flame-title').textContent = diff ? 'Differential flame graph' : 'Flame graph';
  $('table-title').textContent = diff ? 'Biggest changes (self share)' : 'Top functions';
}

/** An absolute copy of a time value, so a link shows the same data later. */
function absolute(value, now) {
  const t = resolveTime(value, now);
  return Number.isFinite(t) ? rfc3339(t) : value;
}

function updateLinks(state) {
  window.history.replaceState(null, '', `/?${stateParams(state)}`);
  const now = Date.now() / 1000;
  const fixed = { ...state };
  for (const key of ['from', 'to', ...SIDE_RANGE_KEYS]) if (fixed[key]) fixed[key] = absolute(fixed[key], now);
  $('permalink').href = `/?${stateParams(fixed)}`;
  const downloads = $('downloads');
  downloads.replaceChildren();
  const link = (text, query, from, to) => {
    const a = document.createElement('a');
    a.textContent = text;
    a.href = apiUrl('/api/v1/profile', { query, from: absolute(from, now), to: absolute(to, now), format: 'pprof' });
    a.download = 'profile.pb.gz';
    a.className = 'download';
    downloads.appendChild(a);
  };
  if (isDiff(state)) {
    link('Base pprof', state.base, state.base_from || state.from, state.base_to || state.to);
    link('Head pprof', state.head, state.head_from || state.from, state.head_to || state.to);
  } else {
    link('Download pprof', state.query, state.from, state.to);
  }
}

// ---------------------------------------------------------------- running

function setStatus(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.className = `status ${kind === 'error' ? 'error' : ''}`;
  document.body.dataset.state = kind;
}

async function run() {
  const state = readInputs();
  page.state = state;
  updateLinks(state);
  const id = ++page.run;
  setStatus('Loading…', 'loading');
  const started = performance.now();
  try {
    const done = isDiff(state) ? await runDiff(state, id) : await runSingle(state, id);
    if (id !== page.run || !done) return;
    const ms = Math.round(performance.now() - started);
    setStatus(`${done} in ${ms} ms`, 'ready');
  } catch (error) {
    if (id === page.run) setStatus(error.message, 'error');
  }
}

async function runSingle(state, id) {
  const range = { from: state.from, to: state.to };
  const [body] = await Promise.all([
    getJson('/api/v1/profile', { query: state.query, ...range, format: 'json', sample_type: state.sample_type }),
    drawSeries([{ query: state.query, ...range, color: '#c2410c' }], state, id),
  ]);
  if (id !== page.run) return null;
  const fetched = performance.now();
  const profile = toProfile(body);
  page.unit = profile.unit;
  showSampleTypes(profile.sampleTypes, profile.sampleType);
  const tree = buildTree(profile.stacks, false);
  const built = performance.now();
  showTree(tree);
  showTopTable();
  page.timings = { build: built - fetched, draw: performance.now() - built };
  chart.draw();
  if (state.group_by) showGroups(state, id);
  else $('groups-panel').hidden = true;
  return `${profile.stacks.length} stacks, ${formatValue(profile.total)} total`;
}

async function runDiff(state, id) {
  const params = { base: state.base, head: state.head, from: state.from, to: state.to, format: 'json' };
  for (const key of SIDE_RANGE_KEYS) params[key] = state[key];
  const [diff] = await Promise.all([
    fetchDiff(state, params),
    drawSeries([
      { query: state.base, from: state.base_from || state.from, to: state.base_to || state.to, color: '#2b6cb0' },
      { query: state.head, from: state.head_from || state.from, to: state.head_to || state.to, color: '#d7301f' },
    ], state, id),
  ]);
  if (id !== page.run) return null;
  page.unit = diff.unit;
  chart.draw();
  const tree = buildTree(diff.stacks, true);
  showTree(tree);
  showChangesTable(diff.changes || changesFromTree(tree));
  return `base ${formatValue(diff.baseTotal)}, head ${formatValue(diff.headTotal)} (normalized to shares)`;
}

/**
 * The diff from `/api/v1/diff`; when the server cannot answer it, the same
 * comparison from the two sides' profiles, so a failing side gets its own
 * error message.
 */
async function fetchDiff(state, params) {
  try {
    const diff = toDiff(await getJson('/api/v1/diff', { ...params, sample_type: state.sample_type }));
    if (!diff.stacks.length) throw new Error('the diff answer has no stacks');
    return diff;
  } catch (_) {
    const side = (query, from, to) => getJson('/api/v1/profile', {
      query, from: from || state.from, to: to || state.to, format: 'json', sample_type: state.sample_type,
    });
    const [base, head] = await Promise.all([
      side(state.base, state.base_from, state.base_to),
      side(state.head, state.head_from, state.head_to),
    ]);
    return diffProfiles(toProfile(base), toProfile(head));
  }
}

async function drawSeries(sides, state, id) {
  const now = Date.now() / 1000;
  const from = resolveTime(state.from, now);
  const to = resolveTime(state.to, now);
  const lines = await Promise.all(sides.map(async (side) => {
    const a = resolveTime(side.from, now);
    const b = resolveTime(side.to, now);
    const step = stepFor(Number.isFinite(b - a) ? b - a : 3600);
    try {
      const body = await getJson('/api/v1/series', { query: side.query, from: side.from, to: side.to, step });
      return { points: toSeries(body), color: side.color };
    } catch (_) {
      return { points: [], color: side.color };
    }
  }));
  if (id !== page.run) return;
  const times = lines.flatMap((l) => l.points.map((p) => p.t));
  const lo = Number.isFinite(from) ? from : Math.min(...times);
  const hi = Number.isFinite(to) ? to : Math.max(...times);
  chart.set(lines, lo, hi);
}

// ---------------------------------------------------------------- views

/** Offers the profile's sample types, the one shown selected. */
function showSampleTypes(types, current) {
  const select = $('sample-type');
  select.replaceChildren(...types.map((type) => {
    const option = document.createElement('option');
    option.value = type;
    option.textContent = type;
    return option;
  }));
  select.value = current;
  select.disabled = types.length < 2;
}

function showTree(tree) {
  page.tree = tree;
  flame.setTree(tree);
  showZoomPath(0);
  applySearch();
}

function showZoomPath(node) {
  const tree = page.tree;
  const names = [];
  for (let n = node; n > 0; n = tree.parent[n]) names.unshift(tree.nameOf(n));
  $('zoom-path').textContent = names.length ? `Zoomed: all › ${names.join(' › ')}` : '';
  $('zoom-path').dataset.zoomed = node > 0 ? tree.nameOf(node) : '';
}

function applySearch() {
  const text = $('search').value;
  const out = $('search-result');
  if (!text || !page.tree) {
    flame.setMatches(null);
    out.textContent = '';
    return;
  }
  let pattern;
  try {
    pattern = new RegExp(text, 'i');
  } catch (_) {
    pattern = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  }
  const { matched, count, share } = searchTree(page.tree, pattern);
  flame.setMatches(count ? matched : null);
  const frames = count === 1 ? '1 frame matches' : `${count} frames match`;
  out.textContent = `${frames}, ${(share * 100).toFixed(2)}% of total`;
  out.dataset.matches = String(count);
}

function percentOf(value, total) {
  return total ? `${((value / total) * 100).toFixed(2)}%` : '';
}

function showTopTable() {
  const total = page.tree.total[0];
  const rows = functionTotals(page.tree);
  table.set([
    { key: 'name', label: 'function' },
    { key: 'self', label: 'self', numeric: true, format: (r) => formatValue(r.self) },
    { key: 'selfPct', label: 'self %', numeric: true, sortValue: (r) => r.self, format: (r) => percentOf(r.self, total) },
    { key: 'total', label: 'total', numeric: true, format: (r) => formatValue(r.total) },
    { key: 'totalPct', label: 'total %', numeric: true, sortValue: (r) => r.total, format: (r) => percentOf(r.total, total) },
  ], rows, 'self');
}

function showChangesTable(changes) {
  const pct = (v) => `${(v * 100).toFixed(2)}%`;
  const delta = (r) => r.headShare - r.baseShare;
  table.set([
    { key: 'name', label: 'function (self)' },
    { key: 'baseShare', label: 'base %', numeric: true, format: (r) => pct(r.baseShare) },
    { key: 'headShare', label: 'head %', numeric: true, format: (r) => pct(r.headShare) },
    {
      key: 'delta', label: 'change (points)', numeric: true, sortValue: (r) => Math.abs(delta(r)),
      format: (r) => `${delta(r) > 0 ? '+' : ''}${(delta(r) * 100).toFixed(2)}`,
      className: (r) => (delta(r) > 0 ? 'grown' : 'shrunk'),
    },
    {
      key: 'relative', label: 'relative', numeric: true,
      sortValue: (r) => (r.baseShare ? r.headShare / r.baseShare : Infinity),
      format: (r) => (r.baseShare ? `${r.headShare >= r.baseShare ? '+' : ''}${((r.headShare / r.baseShare - 1) * 100).toFixed(1)}%` : 'new'),
    },
  ], changes.map((c) => ({ ...c, delta: delta(c) })), 'delta');
}

async function showGroups(state, id) {
  const label = state.group_by;
  const panel = $('groups-panel');
  const graphs = $('group-graphs');
  panel.hidden = false;
  $('groups-title').textContent = `Totals per ${label}`;
  graphs.replaceChildren();
  const values = (await labelValues(label).catch(() => [])).slice(0, MAX_GROUPS);
  const groups = await Promise.all(values.map(async (value) => {
    const query = withMatcher(state.query, label, value);
    try {
      const body = await getJson('/api/v1/profile', { query, from: state.from, to: state.to, format: 'json', sample_type: state.sample_type });
      return { name: value, query, profile: toProfile(body) };
    } catch (_) {
      return null;
    }
  }));
  if (id !== page.run) return;
  const found = groups.filter((g) => g && g.profile.total > 0);
  const sum = found.reduce((s, g) => s + g.profile.total, 0);
  groupsTable.set([
    { key: 'name', label: label },
    { key: 'total', label: 'total', numeric: true, format: (r) => formatValue(r.total) },
    { key: 'share', label: 'share', numeric: true, sortValue: (r) => r.total, format: (r) => percentOf(r.total, sum) },
  ], found.map((g) => ({ name: g.name, total: g.profile.total })), 'total');
  for (const group of found.sort((a, b) => b.profile.total - a.profile.total).slice(0, MAX_GROUP_GRAPHS)) {
    const box = document.createElement('div');
    box.className = 'group-graph';
    const title = document.createElement('h3');
    const open = document.createElement('a');
    open.textContent = `${label}=${group.name}`;
    open.href = `/?${stateParams({ ...state, query: group.query, group_by: '' })}`;
    title.appendChild(open);
    const wrap = document.createElement('div');
    wrap.className = 'flame-wrap';
    const canvas = document.createElement('canvas');
    wrap.appendChild(canvas);
    box.append(title, wrap);
    graphs.appendChild(box);
    const graph = new FlameGraph(canvas, {});
    graph.setIcicle(flame.icicle);
    graph.setTree(buildTree(group.profile.stacks, false));
    attachTooltip(graph);
  }
}

// ---------------------------------------------------------------- tooltip

function formatValue(v) {
  const unit = page.unit;
  if (unit === 'nanoseconds') {
    if (v >= 1e9) return `${(v / 1e9).toFixed(2)} s`;
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`;
    return `${compact(v)} ns`;
  }
  return unit && unit !== 'count' ? `${compact(v)} ${unit}` : compact(v);
}

function tooltipLines(n, tree) {
  if (tree.diff) {
    const b = tree.base[0] ? tree.base[n] / tree.base[0] : 0;
    const h = tree.head[0] ? tree.head[n] / tree.head[0] : 0;
    const d = (h - b) * 100;
    return [
      [`base: ${(b * 100).toFixed(2)}% (self ${percentOf(tree.selfBase[n], tree.base[0])})`, ''],
      [`head: ${(h * 100).toFixed(2)}% (self ${percentOf(tree.selfHead[n], tree.head[0])})`, ''],
      [`change: ${d > 0 ? '+' : ''}${d.toFixed(2)} points`, d > 0 ? 'grown' : d < 0 ? 'shrunk' : ''],
    ];
  }
  return [
    [`total: ${formatValue(tree.total[n])} (${percentOf(tree.total[n], tree.total[0])})`, ''],
    [`self: ${formatValue(tree.self[n])} (${percentOf(tree.self[n], tree.total[0])})`, ''],
  ];
}

function attachTooltip(graph) {
  const tip = $('tooltip');
  graph.canvas.addEventListener('mousemove', (e) => {
    const node = graph.frameAtEvent(e);
    if (node === null) {
      tip.hidden = true;
      return;
    }
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = graph.tree.nameOf(node);
    const lines = tooltipLines(node, graph.tree).map(([text, cls]) => {
      const div = document.createElement('div');
      div.textContent = text;
      if (cls) div.className = cls;
      return div;
    });
    tip.replaceChildren(name, ...lines);
    tip.hidden = false;
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    tip.style.left = `${Math.max(x, 0)}px`;
    tip.style.top = `${e.clientY + 14}px`;
  });
  graph.canvas.addEventListener('mouseleave', () => {
    tip.hidden = true;
  });
}

// ---------------------------------------------------------------- wiring

function wire() {
  $('query-form').addEventListener('submit', (e) => {
    e.preventDefault();
    run();
  });
  for (const button of $('presets').querySelectorAll('button')) {
    button.addEventListener('click', () => {
      setInputs({ from: `now-${button.dataset.range}`, to: DEFAULT_TO });
      run();
    });
  }
  $('mode-single').addEventListener('click', () => {
    if (!page.diff) return;
    setMode(false);
    if (!$('query').value) $('query').value = $('head').value || $('base').value;
    run();
  });
  $('mode-diff').addEventListener('click', () => {
    if (page.diff) return;
    setMode(true);
    if (!$('base').value) $('base').value = $('query').value;
    if (!$('head').value) $('head').value = $('query').value;
    run();
  });
  $('search').addEventListener('input', () => {
    applySearch();
    updateLinks(readInputs());
  });
  $('reset').addEventListener('click', () => flame.reset());
  $('orientation').addEventListener('click', () => {
    flame.setIcicle(!flame.icicle);
    $('orientation').setAttribute('aria-pressed', String(flame.icicle));
    updateLinks(readInputs());
  });
  $('group-by').addEventListener('change', () => run());
  $('sample-type').addEventListener('change', () => {
    page.state.sample_type = $('sample-type').value;
    run();
  });
  window.addEventListener('resize', () => {
    flame.draw();
    chart.draw();
  });
  attachTooltip(flame);
}

async function start() {
  wire();
  const state = readUrl();
  setMode(isDiff(state));
  page.state = state;
  setInputs({ ...state, from: state.from || DEFAULT_FROM, to: state.to || DEFAULT_TO });
  $('side-ranges').open = SIDE_RANGE_KEYS.some((key) => state[key]);
  if (state.view === 'icicle') {
    flame.icicle = true;
    $('orientation').setAttribute('aria-pressed', 'true');
  }
  const names = await labelNames().catch(() => []);
  for (const name of names.filter((n) => n !== '__name__')) {
    const option = document.createElement('option');
    option.value = name;
    option.textContent = name;
    $('group-by').appendChild(option);
  }
  if (state.group_by) $('group-by').value = state.group_by;
  if (!isDiff(state) && !state.query && names.includes('__name__')) {
    const profiles = await labelValues('__name__').catch(() => []);
    if (profiles.length) $('query').value = profiles[0];
  }
  await run();
}

// Hooks for the browser tests, which cannot see inside the canvas.
window.brasa = {
  page,
  flame,
  /** Canvas-relative center of the first drawn frame named `name`, or null. */
  frameCenter(name) {
    for (const row of flame.rows) {
      for (const f of row || []) {
        if (flame.tree.nameOf(f.node) === name && f.w >= 2) {
          const box = flame.canvas.getBoundingClientRect();
          const r = flame.rectOf(f.node);
          return { x: box.left + r.x + r.w / 2, y: box.top + r.y + r.h / 2, width: r.w };
        }
      }
    }
    return null;
  },
};

start();
