// Time values as the API takes them (RFC 3339, unix seconds, `now`,
// `now-1h`), resolved in the browser only to draw the chart's axis; the
// server parses what is sent.

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Seconds in a duration such as `15m` or `1h30m`; NaN when malformed. */
export function durationSeconds(text) {
  const t = String(text).trim();
  if (!/^(\d+(?:\.\d+)?[smhdw])+$/.test(t)) return NaN;
  return t.match(/\d+(?:\.\d+)?[smhdw]/g).reduce((sum, p) => sum + parseFloat(p) * UNIT_SECONDS[p.slice(-1)], 0);
}

/** Unix seconds for an API time value, relative to `now` (seconds); NaN if unknown. */
export function resolveTime(text, now = Date.now() / 1000) {
  const t = String(text ?? '').trim();
  if (t === '' || t === 'now') return now;
  const relative = t.match(/^now\s*([+-])\s*(\S+)$/);
  if (relative) {
    const d = durationSeconds(relative[2]);
    return relative[1] === '-' ? now - d : now + d;
  }
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  return Date.parse(t) / 1000;
}

/** A step for about `points` chart buckets over `seconds`, as a duration string. */
export function stepFor(seconds, points = 120) {
  const raw = Math.max(10, seconds / points);
  const nice = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const step = nice.find((n) => n >= raw) || 86400;
  return `${step}s`;
}

/** A short local time label for an axis tick, with seconds for spans under ten minutes. */
export function formatTick(seconds, span) {
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  const minutes = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const clock = span < 600 ? `${minutes}:${pad(d.getSeconds())}` : minutes;
  return span > 2 * 86400 ? `${d.getMonth() + 1}/${d.getDate()} ${clock}` : clock;
}

/** RFC 3339 in UTC to the second, e.g. `2026-11-26T02:10:13Z`. */
export function rfc3339(seconds) {
  return new Date(Math.round(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
