// Calls to the HTTP API and the conversion of its JSON answers into the
// shapes the page draws: stack lists and time series.

/** Thrown when the server wants credentials: the page then asks for a token. */
export class SignInNeeded extends Error {}

/**
 * Fetches JSON; throws an Error carrying the server's `{"error": ...}`
 * text, or SignInNeeded on a 401.
 */
export async function getJson(path, params) {
  return jsonOf(path, await fetch(apiUrl(path, params), { headers: { Accept: 'application/json' } }));
}

async function jsonOf(path, response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    const reason = body && typeof body.error === 'string' ? body.error : text.slice(0, 300);
    const ErrorType = response.status === 401 ? SignInNeeded : Error;
    throw new ErrorType(`${path}: ${response.status} ${reason}`);
  }
  if (body === null) throw new Error(`${path}: the answer is not JSON`);
  return body;
}

/**
 * The session: `{auth, signed_in, scopes}` (`auth` false when the server
 * has no token file).
 */
export async function session() {
  return getJson('/api/v1/session');
}

/**
 * Signs in with a token: the server answers with an HttpOnly session
 * cookie, so the token is kept nowhere in the page.
 */
export async function signIn(token) {
  const response = await fetch('/api/v1/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ token }),
  });
  return jsonOf('sign-in', response);
}

/** Ends the session. */
export async function signOut() {
  await fetch('/api/v1/session', { method: 'DELETE' });
}

/** An API URL with the non-empty parameters of `params`. */
export function apiUrl(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** Label names, from `/api/v1/labels`. */
export async function labelNames() {
  return stringList(await getJson('/api/v1/labels'), ['names', 'labels']);
}

/** Values of one label, from `/api/v1/labels/NAME/values`. */
export async function labelValues(name) {
  return stringList(await getJson(`/api/v1/labels/${encodeURIComponent(name)}/values`), ['values']);
}

function stringList(body, keys) {
  let list = body;
  if (!Array.isArray(list)) {
    list = body.data;
    for (const key of keys) if (Array.isArray(body[key])) list = body[key];
  }
  return Array.isArray(list) ? list.filter((v) => typeof v === 'string') : [];
}

/**
 * The profile types present, from `/api/v1/profile_types` (`params`:
 * `from`, `to`, `query`), CPU first: `[{id, name, sample_type,
 * sample_unit, period_type, period_unit, aggregation, series}]`.
 */
export async function profileTypes(params) {
  const body = await getJson('/api/v1/profile_types', params);
  const list = Array.isArray(body.data) ? body.data : [];
  return list.filter((t) => t && typeof t.id === 'string').map((t) => ({
    id: t.id,
    name: String(t.name ?? ''),
    sample_type: String(t.sample_type ?? ''),
    sample_unit: String(t.sample_unit ?? ''),
    period_type: String(t.period_type ?? ''),
    period_unit: String(t.period_unit ?? ''),
    aggregation: String(t.aggregation ?? 'sum'),
    series: Number(t.series ?? 0),
  }));
}

/**
 * A merged profile as a list of stacks: `{stacks: [{frames, value}], total,
 * unit, sampleType, profileType, aggregation}`, one profile type. Accepts a stack list (`stack` joined by `;` or a
 * `frames` array), a folded map (`{"a;b": 3}`), or a call tree
 * (`{name, value|total, children}`), so the page follows the server.
 */
export function toProfile(body) {
  const sampleType = String(body.sample_type ?? body.sampleType ?? '');
  const sampleTypes = Array.isArray(body.sample_types) ? body.sample_types.map(String) : [];
  const out = {
    stacks: [],
    unit: body.unit || sampleType.split('/')[1] || '',
    sampleType,
    sampleTypes,
    profileType: String(body.profile_type ?? ''),
    aggregation: String(body.aggregation ?? 'sum'),
  };
  const source = body.stacks ?? body.samples ?? body.folded;
  const names = Array.isArray(body.names) ? body.names : null;
  if (Array.isArray(source)) {
    for (const s of source) {
      const value = Number(s.value ?? s.count ?? s.total ?? 0);
      if (value > 0) out.stacks.push({ frames: framesOf(s, names), value });
    }
  } else if (source && typeof source === 'object') {
    for (const [stack, value] of Object.entries(source)) {
      if (Number(value) > 0) out.stacks.push({ frames: stack.split(';'), value: Number(value) });
    }
  } else {
    const tree = body.tree ?? body.root ?? body.flamegraph ?? body;
    if (tree && Array.isArray(tree.children)) treeToStacks(tree, out.stacks);
  }
  out.kinds = kindsOf(body.frame_kinds, names);
  out.details = detailsOf(body.details, names);
  out.groups = Array.isArray(body.groups) ? body.groups.map(toGroup) : null;
  out.total = out.stacks.reduce((sum, s) => sum + s.value, 0);
  return out;
}

/**
 * Where each function ran and its source lines, as a map from name to
 * `{mapping, file, lines: [{line, self, total}]}`, from the answer's
 * `details` (aligned with `names`).
 */
function detailsOf(details, names) {
  const out = new Map();
  if (!names || !Array.isArray(details)) return out;
  details.forEach((d, id) => {
    if (!d || typeof d !== 'object' || typeof names[id] !== 'string') return;
    const lines = Array.isArray(d.lines) ? d.lines : [];
    out.set(names[id], {
      mapping: typeof d.mapping === 'string' && d.mapping ? d.mapping : null,
      file: typeof d.file === 'string' && d.file ? d.file : null,
      lines: lines.filter(Array.isArray).map(([line, self, total]) => ({
        line: Number(line), self: Number(self ?? 0), total: Number(total ?? 0),
      })),
    });
  });
  return out;
}

/** One group of a `group_by` answer: `{value, other, total, share, folded}`. */
function toGroup(g) {
  return {
    value: String(g.value ?? ''),
    other: Boolean(g.other),
    total: Number(g.total ?? 0),
    share: Number(g.share ?? 0),
    folded: Number(g.groups_in_other ?? 0),
  };
}

/**
 * A diff as `{stacks: [{frames, base, head}], baseTotal, headTotal, unit,
 * profileType}`,
 * the per-stack counts normalized to one total by the server.
 */
export function toDiff(body) {
  const stacks = [];
  const source = body.stacks ?? [];
  const names = Array.isArray(body.names) ? body.names : null;
  for (const s of Array.isArray(source) ? source : []) {
    const base = Number(s.base ?? 0);
    const head = Number(s.head ?? 0);
    if (base > 0 || head > 0) stacks.push({ frames: framesOf(s, names), base, head });
  }
  return {
    stacks,
    baseTotal: Number(body.base_total ?? body.baseTotal ?? 0),
    headTotal: Number(body.head_total ?? body.headTotal ?? 0),
    unit: body.unit || String(body.sample_type ?? '').split('/')[1] || '',
    profileType: String(body.profile_type ?? ''),
  };
}

/**
 * What ran each frame that is not native code, as a map from name to kind
 * (`kernel`, `python`, `jit`), from the answer's `frame_kinds` (name indexes
 * by kind).
 */
function kindsOf(frameKinds, names) {
  const kinds = new Map();
  if (!names || !frameKinds || typeof frameKinds !== 'object') return kinds;
  for (const [kind, ids] of Object.entries(frameKinds)) {
    if (!Array.isArray(ids)) continue;
    for (const id of ids) if (typeof names[id] === 'string') kinds.set(names[id], String(kind));
  }
  return kinds;
}

/**
 * Frame names of one stack, root first. Frames may be names or indexes
 * into the answer's `names` table (each distinct name sent once).
 */
function framesOf(s, names) {
  const frames = Array.isArray(s.frames) ? s.frames : Array.isArray(s.stack) ? s.stack : null;
  if (!frames) return String(s.stack ?? '').split(';');
  if (names) return frames.map((f) => (typeof f === 'number' ? String(names[f] ?? '?') : String(f)));
  return frames.every((f) => typeof f === 'string') ? frames : frames.map(String);
}

function treeToStacks(root, stacks) {
  // Iterative, so a deep tree cannot overflow the call stack.
  const work = [[root, []]];
  while (work.length) {
    const [node, path] = work.pop();
    const children = Array.isArray(node.children) ? node.children : [];
    const total = Number(node.value ?? node.total ?? 0);
    const childSum = children.reduce((sum, c) => sum + Number(c.value ?? c.total ?? 0), 0);
    const self = Number(node.self ?? total - childSum);
    if (path.length && self > 0) stacks.push({ frames: path, value: self });
    for (const child of children) work.push([child, path.concat(String(child.name ?? ''))]);
  }
}

/**
 * The values of `/api/v1/series` over time as `[{t: unix seconds, v}]`,
 * summed over series (rates add up, and so do gauges of distinct series).
 */
export function toSeries(body) {
  const sums = new Map();
  const add = (t, v) => {
    let seconds = Number(t);
    if (!Number.isFinite(seconds)) seconds = Date.parse(t) / 1000;
    if (seconds > 1e14) seconds /= 1e9; else if (seconds > 1e11) seconds /= 1e3;
    const value = Number(v);
    if (Number.isFinite(seconds) && Number.isFinite(value)) sums.set(seconds, (sums.get(seconds) || 0) + value);
  };
  const visit = (points) => {
    for (const p of points || []) {
      if (Array.isArray(p)) add(p[0], p[1]);
      else if (p && typeof p === 'object') add(p.t ?? p.time ?? p.timestamp, p.v ?? p.value ?? p.total);
    }
  };
  const data = Array.isArray(body.data) ? body.data : body.data?.result;
  const series = body.series ?? data ?? body.result ?? (Array.isArray(body) ? body : null);
  if (Array.isArray(series) && series.length && !Array.isArray(series[0]) && (series[0].points || series[0].values)) {
    for (const s of series) visit(s.points ?? s.values);
  } else {
    visit(series ?? body.points ?? body.values);
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

/**
 * The lines of a grouped `/api/v1/series` answer, biggest group first:
 * `[{name, other, total, share, points: [{t, v}]}]`; the groups beyond
 * the answer's limit are one line, `other`.
 */
export function toLines(body, label) {
  const data = Array.isArray(body.data) ? body.data : [];
  return data.map((line) => {
    const other = Boolean(line.other);
    const value = line.labels && typeof line.labels === 'object' ? line.labels[label] : undefined;
    return {
      name: other ? `other (${Number(line.groups_in_other ?? 0)} values)` : String(value ?? ''),
      value: other ? null : String(value ?? ''),
      other,
      total: Number(line.total ?? 0),
      share: Number(line.share ?? 0),
      points: toSeries({ data: [line] }),
    };
  });
}

/**
 * A diff of two profiles (from `toProfile`) in the shape of `toDiff`: both
 * sides scaled to the larger total, so shares are compared, not durations.
 */
export function diffProfiles(base, head) {
  if (!base.total || !head.total) throw new Error('a side of the diff has no samples; nothing to compare');
  const common = Math.max(base.total, head.total);
  const stacks = new Map();
  const addSide = (profile, key) => {
    const scale = common / profile.total;
    for (const s of profile.stacks) {
      const id = s.frames.join('\u0000');
      let entry = stacks.get(id);
      if (!entry) {
        entry = { frames: s.frames, base: 0, head: 0 };
        stacks.set(id, entry);
      }
      entry[key] += Math.round(s.value * scale);
    }
  };
  addSide(base, 'base');
  addSide(head, 'head');
  return {
    stacks: [...stacks.values()],
    baseTotal: base.total,
    headTotal: head.total,
    unit: head.unit || base.unit,
    profileType: head.profileType || base.profileType,
  };
}
