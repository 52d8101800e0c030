// The page: state in the URL, queries, and wiring of the chart, flame
// graph, tables, completion and downloads. Every name from a profile is
// untrusted and reaches the DOM through textContent only.

import {
  apiUrl, diffProfiles, getJson, labelNames, labelValues, profileTypes, session, signIn, signOut,
  SignInNeeded, toDiff, toProfile, toSeries,
} from './api.js';
import { TimeChart } from './chart.js';
import { FlameGraph, KIND_LABELS, kindColor } from './flame.js';
import {
  Completer, hasMatcher, labelPart, profileName, withMatcher, withProfileName,
} from './selector.js';
import { DataTable } from './table.js';
import { resolveTime, rfc3339, stepFor } from './time.js';
import { buildTree, changesFromTree, functionTotals, searchTree } from './tree.js';
import {
  formatChartValue, formatValue as formatIn, isCpu, parseProfileType, typeLabel,
} from './units.js';

/**
 * URL parameters that make up the page's state, named as in the API.
 * `sample_type` is the older way to pick values: a hint the server
 * chooses a profile type with, replaced by `profile_type` once answered.
 */
const STATE_KEYS = ['query', 'base', 'head', 'from', 'to', 'base_from', 'base_to', 'head_from', 'head_to',
  'profile_type', 'sample_type', 'group_by', 'search', 'view'];
/** The selector label that names a profile type (the selector then wins over the picker). */
const PROFILE_TYPE_LABEL = '__profile_type__';
/** What the page calls a range's values of a snapshot type (in-use memory, goroutines). */
const AVERAGED = 'average over the range';
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
  /** The profile types of the current range, as the picker lists them. */
  types: [],
  /** The sample unit of the values shown, and whether they are averages over the range. */
  unit: '',
  averaged: false,
  /** The unit of the chart's values (`cores`, `bytes/s`, `bytes`, ...). */
  chartUnit: '',
  run: 0,
  /** The pending sign-in, while the dialog is open. */
  signingIn: null,
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
chart.format = (v) => formatChartValue(v, page.chartUnit);
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
    profile_type: page.state.profile_type,
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
    a.href = apiUrl('/api/v1/profile', {
      query, from: absolute(from, now), to: absolute(to, now), format: 'pprof', ...typeParams(state),
    });
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
    const types = await loadProfileTypes(state);
    if (id !== page.run) return;
    page.types = types;
    followSelector(state, types);
    showProfileTypes(state.profile_type);
    updateLinks(state);
    const done = isDiff(state) ? await runDiff(state, id) : await runSingle(state, id);
    if (id !== page.run || !done) return;
    const ms = Math.round(performance.now() - started);
    setStatus(`${done} in ${ms} ms`, 'ready');
  } catch (error) {
    if (id !== page.run) return;
    if (error instanceof SignInNeeded) {
      // The session ended (expired, or its token was removed): sign in again.
      setStatus('Signed out: sign in to continue', 'error');
      await askToSignIn();
      run();
      return;
    }
    setStatus(error.message, 'error');
  }
}

// ---------------------------------------------------------------- signing in

/** Signs in first when the server wants a token and the browser has no session. */
async function ensureSignedIn() {
  const who = await session().catch(() => ({ auth: false }));
  $('sign-out').hidden = !who.auth;
  if (who.auth && !who.signed_in) await askToSignIn();
}

/** Shows the sign-in dialog until a token is accepted. */
function askToSignIn() {
  const dialog = $('sign-in');
  if (page.signingIn) return page.signingIn;
  page.signingIn = new Promise((resolve) => {
    const form = $('sign-in-form');
    const submit = async (event) => {
      event.preventDefault();
      $('sign-in-error').textContent = '';
      try {
        await signIn($('sign-in-token').value);
      } catch (error) {
        $('sign-in-error').textContent = error instanceof SignInNeeded
          ? 'That token is not accepted.'
          : error.message;
        return;
      }
      $('sign-in-token').value = '';
      form.removeEventListener('submit', submit);
      dialog.close();
      $('sign-out').hidden = false;
      page.signingIn = null;
      resolve();
    };
    form.addEventListener('submit', submit);
    dialog.showModal();
    $('sign-in-token').focus();
  });
  return page.signingIn;
}

/** The selectors of a state: the query, or both sides of a diff. */
function selectors(state) {
  return isDiff(state) ? [state.base, state.head] : [state.query];
}

/**
 * The profile types of the state's range for the picker, CPU first. A
 * selector's labels narrow the list; its profile name does not, so that
 * the picker offers the other profiles of the same labels too.
 */
async function loadProfileTypes(state) {
  const sides = isDiff(state)
    ? [[state.base, state.base_from, state.base_to], [state.head, state.head_from, state.head_to]]
    : [[state.query]];
  const lists = await Promise.all(sides.map(([query, from, to]) => profileTypes({
    query: labelPart(query), from: from || state.from, to: to || state.to,
  }).catch(() => null)));
  if (lists.every((l) => l === null)) return page.types;
  const byId = new Map();
  for (const type of lists.flat()) if (type && !byId.has(type.id)) byId.set(type.id, type);
  return [...byId.values()].sort((a, b) => (isCpu(b) - isCpu(a)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Keeps the profile type in agreement with a profile name typed into the
 * selector: the named profile's type of the same values when it has one,
 * else none, and the server picks (CPU first).
 */
function followSelector(state, types) {
  const current = parseProfileType(state.profile_type);
  if (!current) return;
  const names = selectors(state).map(profileName).filter(Boolean);
  if (names.every((name) => name === current.name)) return;
  const values = state.profile_type.slice(current.name.length);
  const same = names.every((name) => name === names[0])
    ? types.find((t) => t.name === names[0] && t.id.slice(t.name.length) === values)
    : null;
  state.profile_type = same ? same.id : '';
  delete state.sample_type;
}

/**
 * The API parameters that pick the profile type of a query: the state's
 * profile type, else the older sample type hint; none when a selector
 * names its own with `__profile_type__`.
 */
function typeParams(state) {
  if (selectors(state).some((s) => hasMatcher(s, PROFILE_TYPE_LABEL))) return {};
  if (state.profile_type) return { profile_type: state.profile_type };
  return state.sample_type ? { sample_type: state.sample_type } : {};
}

/** The profile type an answer is in becomes the state's (and the URL's). */
function adoptType(state, id) {
  if (id && (state.profile_type !== id || state.sample_type)) {
    state.profile_type = id;
    delete state.sample_type;
    updateLinks(state);
  }
  showProfileTypes(state.profile_type);
}

/** The listed profile type `id`, or what its ID says when it is not listed. */
function typeOf(id) {
  return page.types.find((t) => t.id === id) || parseProfileType(id);
}

/** Sets the unit values are shown in, and says whether they are averages. */
function setValues(unit, averaged) {
  page.unit = unit;
  page.averaged = averaged;
  const type = typeOf(page.state.profile_type);
  const what = type ? `${type.sample_type} in ${unit || 'count'}` : unit;
  $('value-note').textContent = `${what}, ${averaged ? AVERAGED : 'summed over the range'}`;
  $('value-note').dataset.aggregation = averaged ? 'average' : 'sum';
  $('table-title').textContent = page.diff ? 'Biggest changes (self share)'
    : `Top functions${averaged ? ` (${AVERAGED})` : ''}`;
}

async function runSingle(state, id) {
  const range = { from: state.from, to: state.to };
  const types = typeParams(state);
  const [body] = await Promise.all([
    getJson('/api/v1/profile', { query: state.query, ...range, format: 'json', ...types }),
    drawSeries([{ query: state.query, ...range, color: '#c2410c' }], state, types, id),
  ]);
  if (id !== page.run) return null;
  const fetched = performance.now();
  const profile = toProfile(body);
  adoptType(state, profile.profileType);
  setValues(profile.unit, profile.aggregation === 'average');
  const tree = buildTree(profile.stacks, false);
  tree.kinds = profile.kinds;
  const built = performance.now();
  showTree(tree);
  showKindsLegend(profile.kinds);
  showTopTable();
  page.timings = { build: built - fetched, draw: performance.now() - built };
  chart.draw();
  if (state.group_by) showGroups(state, id);
  else $('groups-panel').hidden = true;
  return `${profile.stacks.length} stacks, ${formatValue(profile.total)} ${page.averaged ? AVERAGED : 'total'}`;
}

async function runDiff(state, id) {
  const params = { base: state.base, head: state.head, from: state.from, to: state.to, format: 'json' };
  for (const key of SIDE_RANGE_KEYS) params[key] = state[key];
  const types = typeParams(state);
  const [diff] = await Promise.all([
    fetchDiff(state, { ...params, ...types }, types),
    drawSeries([
      { query: state.base, from: state.base_from || state.from, to: state.base_to || state.to, color: '#2b6cb0' },
      { query: state.head, from: state.head_from || state.from, to: state.head_to || state.to, color: '#d7301f' },
    ], state, types, id),
  ]);
  if (id !== page.run) return null;
  adoptType(state, diff.profileType);
  setValues(diff.unit, typeOf(diff.profileType)?.aggregation === 'average');
  chart.draw();
  const tree = buildTree(diff.stacks, true);
  showTree(tree);
  showKindsLegend(null);
  showChangesTable(diff.changes || changesFromTree(tree));
  const totals = `base ${formatValue(diff.baseTotal)}, head ${formatValue(diff.headTotal)}`;
  return `${totals}${page.averaged ? ` (each an ${AVERAGED})` : ''} (normalized to shares)`;
}

/**
 * The diff from `/api/v1/diff`; when the server cannot answer it, the same
 * comparison from the two sides' profiles, so a failing side gets its own
 * error message.
 */
async function fetchDiff(state, params, types) {
  try {
    const diff = toDiff(await getJson('/api/v1/diff', params));
    if (!diff.stacks.length) throw new Error('the diff answer has no stacks');
    return diff;
  } catch (_) {
    const side = (query, from, to) => getJson('/api/v1/profile', {
      query, from: from || state.from, to: to || state.to, format: 'json', ...types,
    });
    const [base, head] = await Promise.all([
      side(state.base, state.base_from, state.base_to),
      side(state.head, state.head_from, state.head_to),
    ]);
    return diffProfiles(toProfile(base), toProfile(head));
  }
}

/**
 * The chart: `/api/v1/series` of each side in the query's profile type,
 * a rate for amounts (CPU in cores) and the value for snapshots, in the
 * unit the answer names.
 */
async function drawSeries(sides, state, types, id) {
  const now = Date.now() / 1000;
  const from = resolveTime(state.from, now);
  const to = resolveTime(state.to, now);
  const lines = await Promise.all(sides.map(async (side) => {
    const a = resolveTime(side.from, now);
    const b = resolveTime(side.to, now);
    const step = stepFor(Number.isFinite(b - a) ? b - a : 3600);
    try {
      const body = await getJson('/api/v1/series', {
        query: side.query, from: side.from, to: side.to, step, ...types,
      });
      return {
        points: toSeries(body), color: side.color, unit: String(body.unit ?? ''), aggregation: body.aggregation,
        profileType: body.profile_type,
      };
    } catch (_) {
      return { points: [], color: side.color };
    }
  }));
  if (id !== page.run) return;
  const answered = lines.find((l) => l.unit) || {};
  showChartUnit(answered.unit || '', answered.aggregation, answered.profileType);
  const times = lines.flatMap((l) => l.points.map((p) => p.t));
  const lo = Number.isFinite(from) ? from : Math.min(...times);
  const hi = Number.isFinite(to) ? to : Math.max(...times);
  chart.set(lines, lo, hi);
}

/** The chart's title and the unit its axis is in. */
function showChartUnit(unit, aggregation, profileType) {
  page.chartUnit = unit;
  const type = typeOf(profileType);
  $('chart-title').textContent = type ? `${typeLabel(type)} over time` : 'Over time';
  const out = $('chart-unit');
  out.dataset.unit = unit;
  out.dataset.aggregation = aggregation || '';
  if (!unit) out.textContent = '';
  else out.textContent = aggregation === 'gauge' ? `in ${unit}, average per step` : `in ${unit}`;
  $('chart').setAttribute('aria-label', `${$('chart-title').textContent} ${out.textContent}`.trim());
}

// ---------------------------------------------------------------- views

/** Fills the picker with the range's profile types, `current` selected. */
function showProfileTypes(current) {
  const select = $('profile-type');
  const types = page.types.slice();
  const parsed = parseProfileType(current);
  if (parsed && !types.some((t) => t.id === current)) types.push(parsed);
  const labels = types.map(typeLabel);
  select.replaceChildren(...types.map((type, i) => {
    const option = document.createElement('option');
    option.value = type.id;
    // Types of one name and sample type differ by their period type.
    const twin = labels.some((label, j) => j !== i && label === labels[i]);
    option.textContent = twin ? `${labels[i]} per ${type.period_type}` : labels[i];
    option.title = type.id;
    return option;
  }));
  select.value = current || '';
  select.disabled = types.length === 0;
}

function showTree(tree) {
  page.tree = tree;
  flame.setTree(tree);
  showZoomPath(0);
  applySearch();
}

/** The colors of the kinds of frames drawn, when there is more than native code. */
function showKindsLegend(kinds) {
  const legend = $('kinds-legend');
  legend.replaceChildren();
  const present = new Set(kinds ? kinds.values() : []);
  legend.hidden = present.size === 0;
  if (legend.hidden) return;
  for (const kind of Object.keys(KIND_LABELS)) {
    if (kind !== 'native' && !present.has(kind)) continue;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = kindColor(kind, KIND_LABELS[kind]);
    legend.append(swatch, KIND_LABELS[kind]);
  }
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
      const body = await getJson('/api/v1/profile', {
        query, from: state.from, to: state.to, format: 'json', ...typeParams(state),
      });
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
    { key: 'total', label: page.averaged ? 'average' : 'total', numeric: true, format: (r) => formatValue(r.total) },
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
    const groupTree = buildTree(group.profile.stacks, false);
    groupTree.kinds = group.profile.kinds;
    graph.setTree(groupTree);
    attachTooltip(graph);
  }
}

// ---------------------------------------------------------------- tooltip

/** A value of the profile on screen, in its unit. */
function formatValue(v) {
  return formatIn(v, page.unit);
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
  const lines = [
    [`total: ${formatValue(tree.total[n])} (${percentOf(tree.total[n], tree.total[0])})`, ''],
    [`self: ${formatValue(tree.self[n])} (${percentOf(tree.self[n], tree.total[0])})`, ''],
  ];
  if (page.averaged) lines.push([AVERAGED, 'note']);
  return lines;
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
  $('profile-type').addEventListener('change', () => {
    const type = parseProfileType($('profile-type').value);
    if (!type) return;
    page.state.profile_type = type.id;
    delete page.state.sample_type;
    // The selectors follow the picker to the type's profile.
    for (const key of ['query', 'base', 'head']) {
      if ($(key).value) $(key).value = withProfileName($(key).value, type.name);
    }
    run();
  });
  window.addEventListener('resize', () => {
    flame.draw();
    chart.draw();
  });
  attachTooltip(flame);
  // The page is useless without a session: Escape does not dismiss the sign-in.
  $('sign-in').addEventListener('cancel', (e) => e.preventDefault());
  $('sign-out').addEventListener('click', async () => {
    await signOut();
    window.location.reload();
  });
}

async function start() {
  wire();
  await ensureSignedIn();
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
  if (!isDiff(state) && !state.query) {
    // The profile of the type shown first: CPU, from process_cpu when there is one.
    const type = parseProfileType(state.profile_type) || await defaultType(state);
    if (type) $('query').value = type.name;
  }
  await run();
}

/** The profile type a page without one opens on: the server's pick, CPU first. */
async function defaultType(state) {
  const types = await profileTypes({ from: state.from || DEFAULT_FROM, to: state.to || DEFAULT_TO }).catch(() => []);
  return types.find((t) => isCpu(t) && t.name === 'process_cpu') || types[0] || null;
}

// Hooks for the browser tests, which cannot see inside the canvas.
window.brasa = {
  page,
  flame,
  /** The color the flame graph gives frames named `name`. */
  colorOfFrame(name) {
    const tree = flame.tree;
    const node = tree ? tree.name.indexOf(tree.nameIds.get(name)) : -1;
    return node > 0 ? flame.colorOf(node) : null;
  },
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
