// The page: state in the URL, queries, and wiring of the chart, flame
// graphs, sandwich, details, tables, completion and downloads. Every name
// from a profile is untrusted and reaches the DOM through textContent only.

import {
  apiUrl, diffProfiles, getJson, labelNames, profileTypes, session, signIn, signOut,
  SignInNeeded, toDiff, toLines, toProfile, toSeries,
} from './api.js';
import { TimeChart } from './chart.js';
import { FlameGraph, KIND_LABELS, kindColor } from './flame.js';
import { sandwich } from './sandwich.js';
import {
  Completer, hasMatcher, labelPart, profileName, withMatcher, withProfileName,
} from './selector.js';
import { DataTable } from './table.js';
import { TextView } from './textview.js';
import { resolveTime, rfc3339, stepFor } from './time.js';
import {
  buildTree, functionTotals, nodesNamed, searchTree,
} from './tree.js';
import {
  formatChartValue, formatValue as formatIn, isCpu, parseProfileType, typeLabel,
} from './units.js';

/**
 * URL parameters that make up the page's state, named as in the API where
 * the API has them. `sample_type` is the older way to pick values: a hint
 * the server chooses a profile type with, replaced by `profile_type` once
 * answered. `view` is `flame` for the root at the bottom (icicle, root on
 * top, is the default); `zoom` the zoomed frame's path of names (JSON);
 * `focus` the function highlighted and detailed; `sandwich` the function
 * whose sandwich is open.
 */
const STATE_KEYS = ['query', 'base', 'head', 'from', 'to', 'base_from', 'base_to', 'head_from', 'head_to',
  'profile_type', 'sample_type', 'group_by', 'search', 'view', 'zoom', 'focus', 'sandwich'];
/** The selector label that names a profile type (the selector then wins over the picker). */
const PROFILE_TYPE_LABEL = '__profile_type__';
/** What the page calls a range's values of a snapshot type (in-use memory, goroutines). */
const AVERAGED = 'average over the range';
const SIDE_RANGE_KEYS = ['base_from', 'base_to', 'head_from', 'head_to'];
const DEFAULT_FROM = 'now-1h';
const DEFAULT_TO = 'now';
/** Groups that also get their own small flame graph. */
const MAX_GROUP_GRAPHS = 6;
/** Colours of the chart's lines, one per group, in rank order; "other" is grey. */
const LINE_COLORS = ['#c2410c', '#2b6cb0', '#15803d', '#7e22ce', '#b45309', '#0e7490', '#be123c',
  '#4d7c0f', '#1d4ed8', '#a21caf', '#0f766e', '#9a3412'];
const OTHER_COLOR = '#8a857d';
const SINGLE_COLOR = '#c2410c';
const BASE_COLOR = '#2b6cb0';
const HEAD_COLOR = '#d7301f';
/** Binaries named in the legend at most. */
const MAX_LEGEND_BINARIES = 6;

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
  /** Per-function rows of the tree on screen, by name. */
  functions: new Map(),
  /** The function highlighted and detailed, and the one whose sandwich is open. */
  focus: '',
  sandwich: '',
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

const flameText = new TextView($('flame-text'), frameCells);
const flame = new FlameGraph($('flame'), {
  onZoom: zoomed, onDraw: (g) => flameText.update(g), color: (n) => frameColor(flame.tree, n),
});
const sides = ['base', 'head'].map((side) => {
  const text = new TextView($(`${side}-flame-text`), frameCells);
  const graph = new FlameGraph($(`${side}-flame`), {
    values: side, onDraw: (g) => text.update(g), color: (n) => frameColor(graph.tree, n),
    onZoom: (n) => syncSideZoom(n),
  });
  return graph;
});
const sandwichViews = ['callers', 'callees'].map((part) => {
  const text = new TextView($(`sandwich-${part}-text`), frameCells);
  const graph = new FlameGraph($(`sandwich-${part}`), {
    onDraw: (g) => text.update(g), color: (n) => frameColor(graph.tree, n),
  });
  // Callers grow upwards from the function, callees downwards.
  graph.icicle = part === 'callees';
  return graph;
});
const chart = new TimeChart($('chart'), brushed, showReadout);
chart.format = (v) => formatChartValue(v, page.chartUnit);
const table = new DataTable($('top-table'), {
  onRow: (row) => setFocus(page.focus === row.name ? '' : row.name),
  actions: [{ label: 'sandwich', title: 'Callers and callees of this function', run: (row) => openSandwich(row.name) }],
});
const groupsTable = new DataTable($('groups-table'), { onRow: (row) => narrowToGroup(row) });
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
    view: flame.icicle ? '' : 'flame',
    zoom: page.zoomPath || '',
    focus: page.focus,
    sandwich: page.sandwich,
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

/** Keeps the URL (and the permalink, downloads) in step with what is on screen. */
function saveView() {
  const state = readInputs();
  page.state = { ...page.state, ...state };
  updateLinks(page.state);
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
  $('brush').hidden = !diff;
  $('sides-panel').hidden = !diff;
  $('group-by').disabled = diff;
  $('groups-panel').hidden = true;
  $('chart-lines').hidden = true;
  flame.diff = diff;
  $('flame-title').textContent = diff ? 'Differential flame graph' : 'Flame graph';
  $('table-title').textContent = diff ? 'Biggest changes (self and total share)' : 'Top functions';
}

/** An absolute copy of a time value, so a link shows the same data later. */
function absolute(value, now) {
  const t = resolveTime(value, now);
  return Number.isFinite(t) ? rfc3339(t) : value;
}

/** The formats a view downloads as: label, API format, file name. */
const SINGLE_DOWNLOADS = [
  ['pprof', 'pprof', 'profile.pb.gz'],
  ['SVG', 'svg', 'profile.svg'],
  ['folded', 'folded', 'profile.folded.txt'],
  ['JSON', 'json', 'profile.json'],
];

function updateLinks(state) {
  window.history.replaceState(null, '', `/?${stateParams(state)}`);
  const now = Date.now() / 1000;
  const fixed = { ...state };
  for (const key of ['from', 'to', ...SIDE_RANGE_KEYS]) if (fixed[key]) fixed[key] = absolute(fixed[key], now);
  $('permalink').href = `/?${stateParams(fixed)}`;
  const downloads = $('downloads');
  downloads.replaceChildren();
  const link = (text, path, params, file) => {
    const a = document.createElement('a');
    a.textContent = text;
    a.href = apiUrl(path, { ...params, ...typeParams(state) });
    a.download = file;
    a.className = 'download';
    a.dataset.format = params.format;
    downloads.appendChild(a);
  };
  const range = (from, to) => ({ from: absolute(from, now), to: absolute(to, now) });
  if (isDiff(state)) {
    const base = range(state.base_from || state.from, state.base_to || state.to);
    const head = range(state.head_from || state.from, state.head_to || state.to);
    link('Base pprof', '/api/v1/profile', { query: state.base, ...base, format: 'pprof' }, 'base.pb.gz');
    link('Head pprof', '/api/v1/profile', { query: state.head, ...head, format: 'pprof' }, 'head.pb.gz');
    const sidesParams = {
      base: state.base, head: state.head, base_from: base.from, base_to: base.to, head_from: head.from, head_to: head.to,
    };
    link('Diff SVG', '/api/v1/diff', { ...sidesParams, format: 'svg' }, 'diff.svg');
    link('Diff JSON', '/api/v1/diff', { ...sidesParams, format: 'json' }, 'diff.json');
  } else {
    for (const [text, format, file] of SINGLE_DOWNLOADS) {
      link(text, '/api/v1/profile', { query: state.query, ...range(state.from, state.to), format }, file);
    }
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
  const state = { ...readInputs() };
  // A new query keeps the view's zoom, focus and sandwich where the new
  // profile has them.
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
  $('table-title').textContent = page.diff ? 'Biggest changes (self and total share)'
    : `Top functions${averaged ? ` (${AVERAGED})` : ''}`;
}

async function runSingle(state, id) {
  const range = { from: state.from, to: state.to };
  const types = typeParams(state);
  // The server keeps its default number of groups apart, the rest as "other".
  const grouping = state.group_by ? { group_by: state.group_by } : {};
  const [body] = await Promise.all([
    getJson('/api/v1/profile', {
      query: state.query, ...range, format: 'json', ...types, ...grouping,
    }),
    drawSeries([{ query: state.query, ...range, color: SINGLE_COLOR, ...grouping }], state, types, id),
  ]);
  if (id !== page.run) return null;
  const fetched = performance.now();
  const profile = toProfile(body);
  adoptType(state, profile.profileType);
  setValues(profile.unit, profile.aggregation === 'average');
  const tree = buildTree(profile.stacks, false);
  tree.kinds = profile.kinds;
  tree.details = profile.details;
  const built = performance.now();
  showTree(tree, state);
  showKindsLegend(profile.kinds);
  showBinariesLegend(tree);
  showTopTable();
  restoreView(state);
  page.timings = { build: built - fetched, draw: performance.now() - built };
  chart.draw();
  if (state.group_by) showGroups(state, profile, id);
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
      { query: state.base, from: state.base_from || state.from, to: state.base_to || state.to, color: BASE_COLOR, name: 'base' },
      { query: state.head, from: state.head_from || state.from, to: state.head_to || state.to, color: HEAD_COLOR, name: 'head' },
    ], state, types, id),
  ]);
  if (id !== page.run) return null;
  adoptType(state, diff.profileType);
  setValues(diff.unit, typeOf(diff.profileType)?.aggregation === 'average');
  chart.draw();
  const tree = buildTree(diff.stacks, true);
  showTree(tree, state);
  showKindsLegend(null);
  showBinariesLegend(null);
  for (const graph of sides) {
    graph.setIcicle(flame.icicle);
    graph.setTree(tree);
  }
  showChangesTable(tree);
  restoreView(state);
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
 * unit the answer names. Grouped, one line per group the server ranked
 * (and one for the rest), with a legend that toggles them.
 */
async function drawSeries(sides, state, types, id) {
  const now = Date.now() / 1000;
  const from = resolveTime(state.from, now);
  const to = resolveTime(state.to, now);
  const answers = await Promise.all(sides.map(async (side) => {
    const a = resolveTime(side.from, now);
    const b = resolveTime(side.to, now);
    const step = stepFor(Number.isFinite(b - a) ? b - a : 3600);
    try {
      const body = await getJson('/api/v1/series', {
        query: side.query, from: side.from, to: side.to, step, group_by: side.group_by, ...types,
      });
      const meta = { unit: String(body.unit ?? ''), aggregation: body.aggregation, profileType: body.profile_type };
      if (side.group_by) {
        return toLines(body, side.group_by).map((line, i) => ({
          ...line, ...meta, color: line.other ? OTHER_COLOR : LINE_COLORS[i % LINE_COLORS.length],
        }));
      }
      return [{ points: toSeries(body), color: side.color, name: side.name || 'total', ...meta }];
    } catch (_) {
      return [{ points: [], color: side.color, name: side.name || 'total' }];
    }
  }));
  if (id !== page.run) return;
  const lines = answers.flat();
  const answered = lines.find((l) => l.unit) || {};
  showChartUnit(answered.unit || '', answered.aggregation, answered.profileType);
  const times = lines.flatMap((l) => l.points.map((p) => p.t));
  const lo = Number.isFinite(from) ? from : Math.min(...times);
  const hi = Number.isFinite(to) ? to : Math.max(...times);
  chart.set(lines, lo, hi);
  showChartLines(sides.some((s) => s.group_by) ? lines : []);
}

/** The legend of a grouped chart: a button per line that shows or hides it. */
function showChartLines(lines) {
  const legend = $('chart-lines');
  legend.hidden = lines.length === 0;
  legend.replaceChildren(...lines.map((line, i) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('aria-pressed', 'true');
    button.dataset.line = String(i);
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = line.color;
    button.append(swatch, line.name);
    button.title = `${line.name}: ${(line.share * 100).toFixed(2)}% of the selection`;
    button.addEventListener('click', () => {
      chart.toggle(i);
      button.setAttribute('aria-pressed', String(!line.hidden));
    });
    return button;
  }));
}

/** The values of the chart's lines at the hovered time, in words. */
function showReadout(t, values) {
  const out = $('chart-readout');
  if (t === null || !values.length) {
    out.textContent = '';
    return;
  }
  const when = new Date(t * 1000).toLocaleTimeString();
  const parts = values.map(({ line, value }) => `${line.name} ${formatChartValue(value, page.chartUnit)}`);
  out.textContent = `${when}: ${parts.join(', ')}${page.chartUnit ? ` (${page.chartUnit})` : ''}`;
}

/** A range dragged on the chart: both ranges, or in a diff the side picked to brush. */
function brushed(from, to) {
  const side = page.diff ? $('brush-side').value : 'both';
  if (side === 'both') {
    setInputs({ from: rfc3339(from), to: rfc3339(to) });
  } else {
    setInputs({ [`${side}_from`]: rfc3339(from), [`${side}_to`]: rfc3339(to) });
    $('side-ranges').open = true;
  }
  run();
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
  page.functions = new Map(functionTotals(tree).map((row) => [row.name, row]));
  flame.setTree(tree);
  showZoomPath(0);
}

/** The names from the root down to `node`, the root left out. */
function pathOf(tree, node) {
  const names = [];
  for (let n = node; n > 0; n = tree.parent[n]) names.unshift(tree.nameOf(n));
  return names;
}

/** The node at a path of names from the root, or 0 when the tree has no such path. */
function nodeOfPath(tree, names) {
  let n = 0;
  for (const name of names) {
    const id = tree.nameIds.get(name);
    const child = id === undefined ? undefined : tree.children(n).find((c) => tree.name[c] === id);
    if (child === undefined) return 0;
    n = child;
  }
  return n;
}

/**
 * Puts back the zoom, focus, sandwich and search of `state` (from the URL
 * or the view before a new query), where the new tree has them.
 */
function restoreView(state) {
  const tree = page.tree;
  let path = [];
  try {
    path = state.zoom ? JSON.parse(state.zoom) : [];
  } catch (_) {
    path = [];
  }
  const node = Array.isArray(path) ? nodeOfPath(tree, path.map(String)) : 0;
  page.zoomPath = node > 0 ? state.zoom : '';
  if (node > 0) flame.zoom(node);
  const present = (name) => Boolean(name) && page.functions.has(name);
  page.focus = present(state.focus) ? state.focus : '';
  if (present(state.sandwich)) openSandwich(state.sandwich, { scroll: false });
  else closeSandwich();
  applyHighlight();
  showDetails(page.focus);
  saveView();
}

/** After a zoom: the path shown and kept in the URL, the other graphs following. */
function zoomed(node) {
  showZoomPath(node);
  page.zoomPath = node > 0 ? JSON.stringify(pathOf(page.tree, node)) : '';
  if (page.diff) syncSideZoom(node);
  saveView();
}

/** Zooms both sides of a comparison on the frame of the same path. */
function syncSideZoom(node) {
  for (const graph of sides) if (graph.zoomed !== node) graph.zoom(node);
  if (flame.zoomed !== node) flame.zoom(node);
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

/** The binary (or package) a native frame's colour shade stands for, or null. */
function groupOf(tree, name) {
  const mapping = tree.details?.get(name)?.mapping;
  if (mapping) return baseName(mapping);
  // Go's `path/pkg.Function` and Rust's or C++'s `crate::module::function`.
  const rust = name.lastIndexOf('::');
  if (rust > 0) return name.slice(0, rust);
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  return dot > 0 ? name.slice(0, dot) : null;
}

function baseName(path) {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** A frame's colour: its kind's hue, and for native code a shade per binary. */
function frameColor(tree, n) {
  const name = tree.nameOf(n);
  const kind = tree.kinds?.get(name);
  return kindColor(kind, name, kind ? null : groupOf(tree, name));
}

/** The binaries with the most samples and the shade of their frames. */
function showBinariesLegend(tree) {
  const legend = $('binaries-legend');
  const totals = new Map();
  for (const row of tree ? page.functions.values() : []) {
    const mapping = tree.details?.get(row.name)?.mapping;
    if (mapping && !tree.kinds?.get(row.name)) totals.set(mapping, (totals.get(mapping) || 0) + row.self);
  }
  const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_LEGEND_BINARIES);
  legend.hidden = top.length < 2;
  legend.replaceChildren();
  if (legend.hidden) return;
  legend.append('binaries: ');
  for (const [mapping] of top) {
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = kindColor(null, mapping, baseName(mapping));
    const label = document.createElement('span');
    label.textContent = baseName(mapping);
    label.title = mapping;
    legend.append(swatch, label);
  }
}

function showZoomPath(node) {
  const tree = page.tree;
  const names = pathOf(tree, node);
  $('zoom-path').textContent = names.length ? `Zoomed: all › ${names.join(' › ')}` : '';
  $('zoom-path').dataset.zoomed = node > 0 ? tree.nameOf(node) : '';
}

/** The search box as a pattern: a regex, or its literal text when it is no regex; null when empty. */
function searchPattern() {
  const text = $('search').value;
  if (!text) return null;
  try {
    return new RegExp(text, 'i');
  } catch (_) {
    return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  }
}

/**
 * What the graphs highlight, the rest dimmed: the focused function, else
 * the search's matches. The search also filters the table.
 */
function applyHighlight() {
  const out = $('search-result');
  const pattern = searchPattern();
  table.setFilter(pattern);
  table.select(page.focus || null);
  const tree = page.tree;
  if (!tree) return;
  let highlight = null;
  if (pattern) {
    const { matched, count, share } = searchTree(tree, pattern);
    const frames = count === 1 ? '1 frame matches' : `${count} frames match`;
    out.textContent = `${frames}, ${(share * 100).toFixed(2)}% of total`;
    out.dataset.matches = String(count);
    highlight = count ? matched : null;
  } else {
    out.textContent = '';
    delete out.dataset.matches;
  }
  if (page.focus) highlight = nodesNamed(tree, page.focus).matched;
  flame.setHighlight(highlight);
  for (const graph of page.diff ? sides : []) graph.setHighlight(highlight);
  $('details-focus').setAttribute('aria-pressed', String(Boolean(page.focus)));
}

/** Highlights function `name` everywhere (none for ''), shows its details and keeps it in the URL. */
function setFocus(name) {
  page.focus = name;
  applyHighlight();
  showDetails(name);
  saveView();
}

function percentOf(value, total) {
  return total ? `${((value / total) * 100).toFixed(2)}%` : '';
}

function showTopTable() {
  const total = page.tree.total[0];
  table.set([
    { key: 'name', label: 'function' },
    { key: 'self', label: 'self', numeric: true, format: (r) => formatValue(r.self) },
    { key: 'selfPct', label: 'self %', numeric: true, sortValue: (r) => r.self, format: (r) => percentOf(r.self, total) },
    { key: 'total', label: 'total', numeric: true, format: (r) => formatValue(r.total) },
    { key: 'totalPct', label: 'total %', numeric: true, sortValue: (r) => r.total, format: (r) => percentOf(r.total, total) },
  ], [...page.functions.values()], 'self');
}

/** A change in points of share, signed. */
function points(change) {
  return `${change > 0 ? '+' : ''}${(change * 100).toFixed(2)}`;
}

/**
 * The functions whose share changed, by self and by total share: a
 * subtree that moved under another caller changes the callers' totals
 * even when no leaf changes.
 */
function diffRows(tree) {
  const base = tree.base[0] || 1;
  const head = tree.head[0] || 1;
  return [...page.functions.values()].map((r) => ({
    name: r.name,
    baseShare: r.selfBase / base,
    headShare: r.selfHead / head,
    baseTotalShare: r.base / base,
    headTotalShare: r.head / head,
  })).map((r) => ({ ...r, delta: r.headShare - r.baseShare, totalDelta: r.headTotalShare - r.baseTotalShare }))
    .filter((r) => Math.abs(r.delta) > 1e-9 || Math.abs(r.totalDelta) > 1e-9);
}

function showChangesTable(tree) {
  const pct = (v) => `${(v * 100).toFixed(2)}%`;
  const sign = (v) => (v > 0 ? 'grown' : v < 0 ? 'shrunk' : '');
  table.set([
    { key: 'name', label: 'function' },
    { key: 'baseShare', label: 'base self %', numeric: true, format: (r) => pct(r.baseShare) },
    { key: 'headShare', label: 'head self %', numeric: true, format: (r) => pct(r.headShare) },
    {
      key: 'delta', label: 'self change (points)', numeric: true, sortValue: (r) => Math.abs(r.delta),
      format: (r) => points(r.delta), className: (r) => sign(r.delta),
    },
    { key: 'baseTotalShare', label: 'base total %', numeric: true, format: (r) => pct(r.baseTotalShare) },
    { key: 'headTotalShare', label: 'head total %', numeric: true, format: (r) => pct(r.headTotalShare) },
    {
      key: 'totalDelta', label: 'total change (points)', numeric: true, sortValue: (r) => Math.abs(r.totalDelta),
      format: (r) => points(r.totalDelta), className: (r) => sign(r.totalDelta),
    },
  ], diffRows(tree), 'delta');
}

// ---------------------------------------------------------------- details

/** Facts about function `name` in the panel (hidden for ''): values, binary, file and source lines. */
function showDetails(name) {
  const panel = $('details-panel');
  const row = name ? page.functions.get(name) : null;
  panel.hidden = !row;
  if (!row) return;
  const tree = page.tree;
  $('details-title').textContent = name;
  const facts = [];
  if (tree.diff) {
    const base = tree.base[0] || 1;
    const head = tree.head[0] || 1;
    facts.push(['base', `total ${percentOf(row.base, base)}, self ${percentOf(row.selfBase, base)}`]);
    facts.push(['head', `total ${percentOf(row.head, head)}, self ${percentOf(row.selfHead, head)}`]);
    facts.push(['change', `total ${points(row.head / head - row.base / base)} points, self ${points(row.selfHead / head - row.selfBase / base)} points`]);
  } else {
    const total = tree.total[0];
    facts.push(['self', `${formatValue(row.self)} (${percentOf(row.self, total)})`]);
    facts.push(['total', `${formatValue(row.total)} (${percentOf(row.total, total)})`]);
    if (page.averaged) facts.push(['values', AVERAGED]);
  }
  const details = tree.details?.get(name);
  const kind = tree.kinds?.get(name);
  if (kind) facts.push(['runs as', KIND_LABELS[kind] || kind]);
  if (details?.mapping) facts.push(['binary', details.mapping]);
  const where = sourceOf(details);
  if (where) facts.push(['source', where]);
  const list = $('details-facts');
  list.replaceChildren(...facts.flatMap(([term, text]) => {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = text;
    dd.dataset.fact = term;
    return [dt, dd];
  }));
  const lines = details?.lines || [];
  const linesTable = $('details-lines');
  linesTable.hidden = lines.length === 0;
  linesTable.tBodies[0].replaceChildren(...lines.map((l) => {
    const tr = document.createElement('tr');
    for (const text of [String(l.line), formatValue(l.self), formatValue(l.total)]) {
      const td = document.createElement('td');
      td.className = 'num';
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  }));
}

/** `file:line` of a function (its line with the most samples), `file` alone, or null. */
function sourceOf(details) {
  if (!details?.file) return null;
  const busiest = (details.lines || []).reduce((a, b) => (!a || b.total > a.total ? b : a), null);
  return busiest ? `${details.file}:${busiest.line}` : details.file;
}

// ---------------------------------------------------------------- sandwich

/** Opens the sandwich of function `name`: its callers above, its callees below. */
function openSandwich(name, { scroll = true } = {}) {
  const { callers, callees } = sandwich(page.tree, name);
  if (!callers) return;
  page.sandwich = name;
  $('sandwich-panel').hidden = false;
  $('sandwich-title').textContent = name;
  sandwichViews[0].setTree(callers);
  sandwichViews[1].setTree(callees);
  if (scroll) $('sandwich-panel').scrollIntoView({ block: 'start' });
  saveView();
}

function closeSandwich() {
  page.sandwich = '';
  $('sandwich-panel').hidden = true;
}

// ---------------------------------------------------------------- groups

/**
 * The groups of the selection, as the server ranked them (the biggest
 * first, the rest as "other", shares of the whole), and small flame
 * graphs of the biggest.
 */
async function showGroups(state, profile, id) {
  const label = state.group_by;
  const panel = $('groups-panel');
  const graphs = $('group-graphs');
  panel.hidden = false;
  $('groups-title').textContent = `Totals per ${label}`;
  graphs.replaceChildren();
  const groups = profile.groups || [];
  groupsTable.set([
    { key: 'name', label },
    // "other" stays last, however big the rest is.
    {
      key: 'total', label: page.averaged ? 'average' : 'total', numeric: true,
      sortValue: (r) => (r.other ? -Infinity : r.total), format: (r) => formatValue(r.total),
    },
    {
      key: 'share', label: 'share', numeric: true,
      sortValue: (r) => (r.other ? -Infinity : r.share), format: (r) => `${(r.share * 100).toFixed(2)}%`,
    },
  ], groups.map((g, rank) => ({
    name: g.other ? `other (${g.folded} values)` : g.value, value: g.value, other: g.other, total: g.total, share: g.share, rank,
  })), 'total');
  const biggest = groups.filter((g) => !g.other).slice(0, MAX_GROUP_GRAPHS);
  const answers = await Promise.all(biggest.map(async (group) => {
    const query = withMatcher(state.query, label, group.value);
    try {
      const body = await getJson('/api/v1/profile', {
        query, from: state.from, to: state.to, format: 'json', ...typeParams(state),
      });
      return { group, query, profile: toProfile(body) };
    } catch (_) {
      return null;
    }
  }));
  if (id !== page.run) return;
  for (const answer of answers.filter(Boolean)) {
    const box = document.createElement('div');
    box.className = 'group-graph';
    const title = document.createElement('h3');
    const open = document.createElement('a');
    open.textContent = `${label}=${answer.group.value}`;
    open.href = `/?${stateParams({ ...state, query: answer.query, group_by: '' })}`;
    title.appendChild(open);
    const wrap = document.createElement('div');
    wrap.className = 'flame-wrap';
    const canvas = document.createElement('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `Flame graph of ${label}=${answer.group.value}`);
    wrap.appendChild(canvas);
    box.append(title, wrap);
    graphs.appendChild(box);
    const graph = new FlameGraph(canvas, { color: (n) => frameColor(graph.tree, n) });
    graph.setIcicle(flame.icicle);
    const groupTree = buildTree(answer.profile.stacks, false);
    groupTree.kinds = answer.profile.kinds;
    groupTree.details = answer.profile.details;
    graph.setTree(groupTree);
    attachTooltip(graph);
  }
}

/** Clicking a group narrows the selector to it (the "other" group has no one value). */
function narrowToGroup(row) {
  if (row.other) return;
  const label = page.state.group_by;
  $('query').value = withMatcher($('query').value, label, row.value);
  $('group-by').value = '';
  run();
}

// ---------------------------------------------------------------- tooltip

/** A value of the profile on screen, in its unit. */
function formatValue(v) {
  return formatIn(v, page.unit);
}

/** The cells of a frame in a text equivalent: its values as the graph sizes it. */
function frameCells(graph, n) {
  const tree = graph.tree;
  if (tree.diff && graph.valueKey !== 'total') {
    const values = graph.values();
    return [['share', percentOf(values[n], values[0])]];
  }
  if (tree.diff) {
    const b = tree.base[0] ? tree.base[n] / tree.base[0] : 0;
    const h = tree.head[0] ? tree.head[n] / tree.head[0] : 0;
    return [['base', `${(b * 100).toFixed(2)}%`], ['head', `${(h * 100).toFixed(2)}%`], ['change', `${points(h - b)} points`]];
  }
  return [
    ['total', formatValue(tree.total[n])],
    ['self', formatValue(tree.self[n])],
    ['share', percentOf(tree.total[n], tree.total[0])],
  ];
}

function tooltipLines(n, tree, graph) {
  const lines = [];
  if (tree.diff && graph.valueKey === 'total') {
    const b = tree.base[0] ? tree.base[n] / tree.base[0] : 0;
    const h = tree.head[0] ? tree.head[n] / tree.head[0] : 0;
    const d = (h - b) * 100;
    lines.push(
      [`base: ${(b * 100).toFixed(2)}% (self ${percentOf(tree.selfBase[n], tree.base[0])})`, ''],
      [`head: ${(h * 100).toFixed(2)}% (self ${percentOf(tree.selfHead[n], tree.head[0])})`, ''],
      [`change: ${d > 0 ? '+' : ''}${d.toFixed(2)} points`, d > 0 ? 'grown' : d < 0 ? 'shrunk' : ''],
    );
  } else if (tree.diff) {
    const values = graph.values();
    lines.push([`${graph.valueKey}: ${percentOf(values[n], values[0])}`, '']);
  } else {
    lines.push(
      [`total: ${formatValue(tree.total[n])} (${percentOf(tree.total[n], tree.total[0])})`, ''],
      [`self: ${formatValue(tree.self[n])} (${percentOf(tree.self[n], tree.total[0])})`, ''],
    );
    if (page.averaged) lines.push([AVERAGED, 'note']);
  }
  const name = tree.nameOf(n);
  const details = tree.details?.get(name);
  if (details?.mapping) lines.push([`binary: ${details.mapping}`, 'where']);
  const where = sourceOf(details);
  if (where) lines.push([`source: ${where}`, 'where']);
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
    const lines = tooltipLines(node, graph.tree, graph).map(([text, cls]) => {
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

// ---------------------------------------------------------------- frame menu and keys

/** Opens the frame menu of node `node` at page coordinates. */
function openFrameMenu(node, x, y) {
  const menu = $('frame-menu');
  menu.dataset.node = String(node);
  menu.hidden = false;
  menu.style.left = `${Math.min(x, window.innerWidth - menu.offsetWidth - 8)}px`;
  menu.style.top = `${Math.min(y, window.innerHeight - menu.offsetHeight - 8)}px`;
  menu.querySelector('li').focus();
}

function closeFrameMenu() {
  $('frame-menu').hidden = true;
}

/** What the menu and the keys do with a frame. */
function frameAction(action, node) {
  const name = page.tree.nameOf(node);
  if (action === 'sandwich') openSandwich(name);
  else if (action === 'details') showDetails(name);
  else if (action === 'focus') setFocus(name);
  else if (action === 'zoom') flame.zoom(node);
}

/** The flame graph's keys: arrows move between frames, Enter zooms, s and d open views, Escape resets. */
function onFlameKey(e) {
  const moves = { ArrowUp: 'up', ArrowDown: 'down', ArrowLeft: 'left', ArrowRight: 'right' };
  if (!page.tree) return;
  if (moves[e.key]) {
    flame.move(moves[e.key]);
  } else if (e.key === 'Enter' && flame.selected >= 0) {
    flame.zoom(flame.selected);
  } else if ((e.key === 's' || e.key === 'd') && flame.selected > 0) {
    frameAction(e.key === 's' ? 'sandwich' : 'details', flame.selected);
  } else if (e.key === 'Escape') {
    flame.select(-1);
    flame.reset();
  } else {
    return;
  }
  e.preventDefault();
  const n = flame.selected;
  $('frame-announce').textContent = n >= 0
    ? `${page.tree.nameOf(n)}: ${frameCells(flame, n).map(([k, v]) => `${k} ${v}`).join(', ')}`
    : '';
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
    applyHighlight();
    saveView();
  });
  $('reset').addEventListener('click', () => flame.reset());
  $('orientation').addEventListener('click', () => setIcicle(!flame.icicle));
  $('group-by').addEventListener('change', () => run());
  $('brush-side').addEventListener('change', () => {
    const side = $('brush-side').value;
    chart.brushColor = side === 'base' ? 'rgba(43, 108, 176, 0.25)'
      : side === 'head' ? 'rgba(215, 48, 31, 0.25)' : 'rgba(251, 146, 60, 0.25)';
  });
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
    for (const graph of [flame, ...sides, ...sandwichViews]) if (graph.tree) graph.draw();
    chart.draw();
  });
  for (const graph of [flame, ...sides, ...sandwichViews]) attachTooltip(graph);
  $('flame').addEventListener('keydown', onFlameKey);
  $('flame').addEventListener('contextmenu', (e) => {
    const node = flame.frameAtEvent(e);
    if (node === null || node === 0) return;
    e.preventDefault();
    openFrameMenu(node, e.clientX, e.clientY);
  });
  $('frame-menu').addEventListener('click', (e) => {
    const item = e.target.closest('li');
    if (!item) return;
    closeFrameMenu();
    frameAction(item.dataset.action, Number($('frame-menu').dataset.node));
  });
  $('frame-menu').addEventListener('keydown', (e) => {
    const items = [...$('frame-menu').querySelectorAll('li')];
    const at = items.indexOf(document.activeElement);
    if (e.key === 'Escape') closeFrameMenu();
    else if (e.key === 'ArrowDown') items[(at + 1) % items.length].focus();
    else if (e.key === 'ArrowUp') items[(at - 1 + items.length) % items.length].focus();
    else if (e.key === 'Enter' && at >= 0) items[at].click();
    else return;
    e.preventDefault();
  });
  document.addEventListener('click', (e) => {
    if (!$('frame-menu').contains(e.target)) closeFrameMenu();
  });
  $('details-sandwich').addEventListener('click', () => openSandwich($('details-title').textContent));
  $('details-focus').addEventListener('click', () => {
    const name = $('details-title').textContent;
    setFocus(page.focus === name ? '' : name);
  });
  $('details-close').addEventListener('click', () => {
    $('details-panel').hidden = true;
    if (page.focus) setFocus('');
  });
  $('sandwich-close').addEventListener('click', () => {
    closeSandwich();
    saveView();
  });
  // The page is useless without a session: Escape does not dismiss the sign-in.
  $('sign-in').addEventListener('cancel', (e) => e.preventDefault());
  $('sign-out').addEventListener('click', async () => {
    await signOut();
    window.location.reload();
  });
}

/** Icicle (root on top, the default) or flame orientation, for every graph of the profile. */
function setIcicle(icicle) {
  flame.setIcicle(icicle);
  for (const graph of sides) graph.setIcicle(icicle);
  $('orientation').setAttribute('aria-pressed', String(!icicle));
  saveView();
}

async function start() {
  wire();
  await ensureSignedIn();
  const state = readUrl();
  setMode(isDiff(state));
  page.state = state;
  setInputs({ ...state, from: state.from || DEFAULT_FROM, to: state.to || DEFAULT_TO });
  $('side-ranges').open = SIDE_RANGE_KEYS.some((key) => state[key]);
  page.zoomPath = state.zoom || '';
  page.focus = state.focus || '';
  page.sandwich = state.sandwich || '';
  if (state.view === 'flame') {
    flame.icicle = false;
    for (const graph of sides) graph.icicle = false;
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
  sides,
  sandwichViews,
  chart,
  /** The color the flame graph gives frames named `name`. */
  colorOfFrame(name) {
    const tree = flame.tree;
    const node = tree ? tree.name.indexOf(tree.nameIds.get(name)) : -1;
    return node > 0 ? flame.colorOf(node) : null;
  },
  /** Canvas-relative center of the first drawn frame named `name` in `graph` (the main one by default), or null. */
  frameCenter(name, graph = flame) {
    for (const row of graph.rows) {
      for (const f of row || []) {
        if (graph.tree.nameOf(f.node) === name && f.w >= 2) {
          const box = graph.canvas.getBoundingClientRect();
          const r = graph.rectOf(f.node);
          return { x: box.left + r.x + r.w / 2, y: box.top + r.y + r.h / 2, width: r.w };
        }
      }
    }
    return null;
  },
};

start();
