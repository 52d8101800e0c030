// Values in the unit of their profile type (bytes as KiB/MiB/GiB, time
// as ms/s/min, counts plain), the chart's rates and gauges, and profile
// types named for people.

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
/** Nanoseconds in one of each time unit a profile may be in. */
const NANOS_PER = { nanoseconds: 1, microseconds: 1e3, milliseconds: 1e6, seconds: 1e9 };
/** Time units above a second, largest first. */
const LONG_TIMES = [[3600e9, 'h'], [60e9, 'min'], [1e9, 's'], [1e6, 'ms'], [1e3, 'µs']];

/** 1234567 → "1.23M"; values below 1 keep three significant digits. */
export function compact(v) {
  const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, suffix] of units) if (Math.abs(v) >= size) return `${(v / size).toPrecision(3)}${suffix}`;
  if (v !== 0 && Math.abs(v) < 1) return String(Number(v.toPrecision(3)));
  return String(Math.round(v * 100) / 100);
}

/** Three significant digits of a scaled value from 1 to 1024: "3.00", "76.8", "768". */
function digits3(size) {
  return size.toFixed(size >= 100 ? 0 : size >= 10 ? 1 : 2);
}

/** 3145728 → "3.00 MiB", 786432 → "768 KiB". */
export function formatBytes(v) {
  let size = Math.abs(v);
  let i = 0;
  while (size >= 1024 && i < BYTE_UNITS.length - 1) {
    size /= 1024;
    i += 1;
  }
  if (i === 0) return `${compact(v)} B`;
  return `${v < 0 ? '-' : ''}${digits3(size)} ${BYTE_UNITS[i]}`;
}

/** 1.5e9 → "1.50 s", 7.1e8 → "710 ms", 9e10 → "1.50 min". */
export function formatNanos(ns) {
  for (const [size, suffix] of LONG_TIMES) {
    if (Math.abs(ns) >= size) return `${ns < 0 ? '-' : ''}${digits3(Math.abs(ns) / size)} ${suffix}`;
  }
  return `${compact(ns)} ns`;
}

/** A value of a profile in its sample unit (`bytes`, `nanoseconds`, `count`, ...). */
export function formatValue(v, unit) {
  if (unit === 'bytes') return formatBytes(v);
  if (unit in NANOS_PER) return formatNanos(v * NANOS_PER[unit]);
  if (!unit || unit === 'count') return compact(v);
  return `${compact(v)} ${unit}`;
}

/**
 * A value of `/api/v1/series` in its `unit`: `cores` (the legend names
 * them), rates such as `bytes/s` or `count/s`, or a gauge's own unit.
 */
export function formatChartValue(v, unit) {
  const u = String(unit || '');
  if (u === 'cores') return compact(v);
  if (u.endsWith('/s')) return `${formatValue(v, u.slice(0, -2))}/s`;
  return formatValue(v, u);
}

/**
 * A profile type from its ID, `name:sample_type:sample_unit:period_type:period_unit`
 * (the name may itself hold `:`); null when the ID is malformed.
 */
export function parseProfileType(id) {
  const parts = String(id ?? '').split(':');
  if (parts.length < 5) return null;
  const [sampleType, sampleUnit, periodType, periodUnit] = parts.slice(-4);
  const name = parts.slice(0, -4).join(':');
  if (![name, sampleType, sampleUnit, periodType, periodUnit].every(Boolean)) return null;
  return {
    id: String(id), name, sample_type: sampleType, sample_unit: sampleUnit, period_type: periodType, period_unit: periodUnit,
  };
}

/** Whether a profile type (as `/api/v1/profile_types` lists them) is CPU time. */
export function isCpu(type) {
  return type.sample_type === 'cpu' && type.sample_unit === 'nanoseconds';
}

/** "CPU (process_cpu)", "memory: inuse_space (bytes)". */
export function typeLabel(type) {
  if (!type) return '';
  return isCpu(type) ? `CPU (${type.name})` : `${type.name}: ${type.sample_type} (${type.sample_unit})`;
}
