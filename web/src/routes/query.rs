//! `GET /api/v1/profile` (merged profile in several formats),
//! `GET /api/v1/series` (one profile type over time: a rate for amounts,
//! the value for snapshots) and `GET /api/v1/profile_types`.

use axum::{
    extract::State,
    http::header::{CONTENT_DISPOSITION, CONTENT_TYPE},
    response::{IntoResponse, Response},
    Json,
};
use brasa_profile::profile_type::{Aggregation, ProfileType};
use brasa_profile::{
    codec,
    io::{render, OutputFormat, WriteOptions},
    render::FlameGraphOptions,
    Profile,
};
use brasa_store::{labels::NAME_LABEL, Cancel};
use rustc_hash::FxHashMap as HashMap;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::{
    groups::{check_cancel, rank, rank_blocking, share, GroupBy, Ranking, Weighting},
    profile_json::profile_json,
};
use crate::{
    limits::MAX_POINTS_PER_SERIES,
    params::Params,
    selection::{sample_type, CancelOnDrop, Selection, Summary},
    state::AppState,
    tenant::Tenant,
    time::parse_duration,
    Error, Result,
};

/// Points a series chart aims for when `step` is not given.
const DEFAULT_POINTS: u64 = 240;
/// Smallest default step: the agent's upload interval.
const MIN_DEFAULT_STEP_NANOS: u64 = 10_000_000_000;

/// Output formats of `/api/v1/profile`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Pprof,
    Svg,
    Folded,
    Json,
}

/// The formats by their `format=` names; pprof is the default, so that
/// `go tool pprof URL` works.
const FORMATS: &[(&str, Format)] = &[
    ("pprof", Format::Pprof),
    ("svg", Format::Svg),
    ("folded", Format::Folded),
    ("json", Format::Json),
];

pub(crate) async fn profile(
    State(state): State<AppState>,
    tenant: Tenant,
    params: Params,
) -> Result<Response> {
    state
        .metrics()
        .time_query("profile", profile_inner(&state, &tenant, params))
        .await
}

async fn profile_inner(state: &AppState, tenant: &Tenant, params: Params) -> Result<Response> {
    let selection = Selection::query(&params, tenant)?;
    let format = params.one_of("format", FORMATS)?;
    let sample_type = sample_type(&params);
    // Only the JSON lists groups; the other formats ignore `group_by`.
    let group_by = match format {
        Format::Json => GroupBy::from_params(&params)?,
        _ => None,
    };
    let (profile, summary) = selection.merge(state).await?;
    let groups = match &group_by {
        Some(group_by) => {
            let weighting = if summary.averaged {
                Weighting::AveragePerSeries
            } else {
                Weighting::Raw
            };
            Some(
                rank_blocking(
                    state,
                    &selection,
                    &summary.profile_type,
                    group_by,
                    weighting,
                )
                .await?,
            )
        }
        None => None,
    };
    tokio::task::spawn_blocking(move || {
        respond(profile, &summary, format, sample_type, groups.as_ref())
    })
    .await?
}

/// The answer of `/api/v1/profile` in `format`; `groups` (of `group_by`)
/// only in the JSON.
fn respond(
    profile: Profile,
    summary: &Summary,
    format: Format,
    sample_type: Option<String>,
    groups: Option<&Ranking>,
) -> Result<Response> {
    let response = match format {
        Format::Pprof => (
            [
                (CONTENT_TYPE, "application/octet-stream"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"profile.pb.gz\"",
                ),
            ],
            codec::encode(&brasa_profile::pprof_tools::for_pprof(profile)),
        )
            .into_response(),
        Format::Svg | Format::Folded => {
            let mut options = WriteOptions::default();
            options.sample_type = sample_type;
            options.flamegraph = FlameGraphOptions::default();
            options.flamegraph.title = summary.title.clone();
            let (output, content_type) = if format == Format::Svg {
                (OutputFormat::Svg, "image/svg+xml")
            } else {
                (OutputFormat::Folded, "text/plain; charset=utf-8")
            };
            let bytes = render(&profile, output, &options)?;
            ([(CONTENT_TYPE, content_type)], bytes).into_response()
        }
        Format::Json => (
            [(CONTENT_TYPE, "application/json")],
            profile_json(&profile, summary, sample_type.as_deref(), groups)?,
        )
            .into_response(),
    };
    Ok(response)
}

pub(crate) async fn series(
    State(state): State<AppState>,
    tenant: Tenant,
    params: Params,
) -> Result<Json<Value>> {
    state
        .metrics()
        .time_query("series", series_inner(&state, &tenant, params))
        .await
}

async fn series_inner(state: &AppState, tenant: &Tenant, params: Params) -> Result<Json<Value>> {
    let selection = Selection::query(&params, tenant)?;
    let span = selection.to - selection.from;
    let step = match params.parse("step", parse_duration)? {
        Some(step) => u64::try_from(step.as_nanos()).unwrap_or(u64::MAX),
        None => (span / DEFAULT_POINTS).max(MIN_DEFAULT_STEP_NANOS),
    };
    if step == 0 {
        return Err(Error::BadRequest("`step` must be positive".to_owned()));
    }
    if span / step >= MAX_POINTS_PER_SERIES {
        return Err(Error::BadRequest(format!(
            "{} points per series is too many (at most {MAX_POINTS_PER_SERIES}); use a larger step or a shorter range",
            span / step + 1
        )));
    }
    let group_by = GroupBy::from_params(&params)?;
    let worker = state.clone();
    // Dropped when the client goes away: the chart stops at its next series.
    let guard = CancelOnDrop(Cancel::default());
    let cancel = guard.0.clone();
    let data = tokio::task::spawn_blocking(move || {
        chart(&worker, &selection, step, group_by.as_ref(), &cancel)
    })
    .await??;
    drop(guard);
    Ok(Json(data))
}

/// The chart of one profile type in `step` buckets, as a rate per second
/// for amounts (CPU in cores, allocations in bytes/s) and as the value for
/// snapshots (in-use bytes, goroutines: per series the average over its
/// profiles in the bucket, added across the series of a line).
///
/// Without `group_by`, one line per series. With it, one line per value of
/// its label among the [`GroupBy::limit`] biggest by total over the range
/// (see [`groups`](super::groups)), biggest first, each with its `total`
/// and `share` of the whole selection; then, when values are left, one
/// `"other": true` line that adds them all up.
///
/// Grouping reads the range twice: once for one running total per value
/// ([`rank`]), once for the buckets of the top values and "other". One
/// pass would keep buckets for every value, values × points numbers
/// (10,000 × 11,000 at the limits); two hold the values' totals and
/// (limit + 1) × points buckets. A value that appears between the passes
/// is added to "other".
fn chart(
    state: &AppState,
    selection: &Selection,
    step: u64,
    group_by: Option<&GroupBy>,
    cancel: &Cancel,
) -> Result<Value> {
    let _running = state.metrics().running_query();
    let store = state.store();
    let Some(profile_type) = selection.resolve_type(state)? else {
        return Ok(json!({ "status": "success", "data": [] }));
    };
    let aggregation = profile_type.aggregation();
    let unit = chart_unit(&profile_type);
    let step_seconds = step as f64 / 1e9;
    let ranking = group_by
        .map(|g| rank(state, selection, &profile_type, g, Weighting::Raw, cancel))
        .transpose()?;
    let mut lines: Vec<Line> = Vec::new();
    let mut line_of: HashMap<&str, usize> = HashMap::default();
    if let (Some(ranking), Some(group_by)) = (&ranking, group_by) {
        for (value, _) in &ranking.top {
            line_of.insert(value.as_str(), lines.len());
            lines.push(Line::new(vec![(group_by.label.clone(), value.clone())]));
        }
    }
    let mut other: Option<usize> = None;
    let bucket = |time: u64| selection.from + (time - selection.from) / step * step;
    let range = (selection.from, selection.to);
    let selected = store.select_samples(&selection.matchers)?;
    store.options().query.check_series(selected.len())?;
    for (series, on_samples) in selected {
        check_cancel(state, cancel)?;
        let name = series.labels.get(NAME_LABEL).unwrap_or("");
        let Some(column) = series.kind.column(name, &profile_type) else {
            continue;
        };
        // This series' sums per (line, bucket), and its profiles per
        // bucket, which snapshots are averaged over.
        let mut sums: BTreeMap<(usize, u64), i64> = BTreeMap::new();
        let mut add = |line: usize, time: u64, total: i64| {
            let sum = sums.entry((line, bucket(time))).or_default();
            *sum = sum.saturating_add(total);
        };
        let profiles: Vec<(u64, i64)> = match group_by {
            None => {
                let totals = store.column_totals(&series, column, &on_samples, range.0, range.1)?;
                if totals.is_empty() {
                    continue;
                }
                let labels = series
                    .labels
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect();
                lines.push(Line::new(labels));
                for &(time, total) in &totals {
                    add(lines.len() - 1, time, total);
                }
                totals
            }
            Some(group_by) => {
                store.for_each_grouped_total(
                    &series,
                    column,
                    &on_samples,
                    &group_by.label,
                    range,
                    |value, time, total| {
                        check_cancel(state, cancel)?;
                        let line = match line_of.get(value) {
                            Some(&line) => line,
                            None => *other.get_or_insert_with(|| {
                                lines.push(Line::new(Vec::new()));
                                lines.len() - 1
                            }),
                        };
                        add(line, time, total);
                        Ok::<(), Error>(())
                    },
                )?;
                match aggregation {
                    Aggregation::Sum => Vec::new(),
                    // Headers only: every profile of the series counts.
                    Aggregation::Average => {
                        store.column_totals(&series, column, &[], range.0, range.1)?
                    }
                }
            }
        };
        let mut counts: BTreeMap<u64, u32> = BTreeMap::new();
        for (time, _) in profiles {
            *counts.entry(bucket(time)).or_default() += 1;
        }
        for ((line, start), sum) in sums {
            let line = &mut lines[line];
            line.total = line.total.saturating_add(sum);
            let point = line.points.entry(start).or_default();
            point.sum = point.sum.saturating_add(sum);
            point.average +=
                sum as f64 / f64::from(counts.get(&start).copied().unwrap_or(1).max(1));
        }
    }
    if group_by.is_none() {
        lines.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
    let whole = lines
        .iter()
        .fold(0i64, |sum, line| sum.saturating_add(line.total));
    let sample_type = format!(
        "{}/{}",
        profile_type.sample.r#type, profile_type.sample.unit
    );
    let out: Vec<Value> = lines
        .into_iter()
        .enumerate()
        .map(|(index, line)| {
            let labels: serde_json::Map<String, Value> = line
                .labels
                .into_iter()
                .map(|(n, v)| (n, Value::from(v)))
                .collect();
            let points: Vec<Value> = line
                .points
                .into_iter()
                .map(|(t, point)| {
                    let value = match aggregation {
                        Aggregation::Sum => point.sum as f64 / step_seconds / unit.divisor,
                        Aggregation::Average => point.average,
                    };
                    json!([t as f64 / 1e9, value])
                })
                .collect();
            let mut out = json!({
                "labels": labels,
                "sample_type": sample_type,
                "points": points,
            });
            if let Some(ranking) = &ranking {
                out["total"] = line.total.into();
                out["share"] = share(line.total, whole).into();
                if other == Some(index) {
                    out["other"] = true.into();
                    out["groups_in_other"] = ranking.folded.into();
                }
            }
            out
        })
        .collect();
    let mut answer = json!({
        "status": "success",
        "profile_type": profile_type.id(),
        "aggregation": match aggregation { Aggregation::Sum => "rate", Aggregation::Average => "gauge" },
        "unit": unit.name,
        "total": whole,
        "data": out,
    });
    if let Some(group_by) = group_by {
        answer["group_by"] = group_by.label.clone().into();
        answer["limit"] = group_by.limit.into();
    }
    Ok(answer)
}

/// One line of a chart being drawn.
struct Line {
    /// Its labels: the series', or the `group_by` label's value; none
    /// for "other".
    labels: Vec<(String, String)>,
    /// The sum of its totals over the range, in the sample type's unit.
    total: i64,
    /// Its buckets by start (unix ns).
    points: BTreeMap<u64, Point>,
}

impl Line {
    /// A line without points yet.
    fn new(labels: Vec<(String, String)>) -> Self {
        Self {
            labels,
            total: 0,
            points: BTreeMap::new(),
        }
    }
}

/// One bucket of a chart line.
#[derive(Default)]
struct Point {
    /// The sum of its profiles' totals: what an amount's rate is of.
    sum: i64,
    /// Per series, the sum over the number of its profiles in the bucket,
    /// added up: a snapshot's value.
    average: f64,
}

/// The unit a chart's values are in, and what a rate's per-second sums
/// are divided by to get there.
struct ChartUnit {
    name: String,
    divisor: f64,
}

/// Snapshots keep their unit; amounts become rates: CPU nanoseconds per
/// second are cores, other nanoseconds seconds per second, the rest
/// `unit/s`.
fn chart_unit(t: &ProfileType) -> ChartUnit {
    let unit = &t.sample.unit;
    match (t.aggregation(), unit.as_str()) {
        (Aggregation::Average, _) => ChartUnit {
            name: unit.clone(),
            divisor: 1.0,
        },
        (Aggregation::Sum, "nanoseconds") if t.is_cpu() => ChartUnit {
            name: "cores".to_owned(),
            divisor: 1e9,
        },
        (Aggregation::Sum, "nanoseconds") => ChartUnit {
            name: "seconds/s".to_owned(),
            divisor: 1e9,
        },
        (Aggregation::Sum, _) => ChartUnit {
            name: format!("{unit}/s"),
            divisor: 1.0,
        },
    }
}

pub(crate) async fn profile_types(
    State(state): State<AppState>,
    tenant: Tenant,
    params: Params,
) -> Result<Json<Value>> {
    state
        .metrics()
        .time_query(
            "profile_types",
            profile_types_inner(&state, &tenant, params),
        )
        .await
}

/// The profile types the selection (default: everything) holds in the
/// range, CPU first.
async fn profile_types_inner(
    state: &AppState,
    tenant: &Tenant,
    params: Params,
) -> Result<Json<Value>> {
    let selection = Selection::query(&params, tenant)?;
    let worker = state.clone();
    let present = tokio::task::spawn_blocking(move || {
        worker
            .store()
            .profile_types(&selection.matchers, selection.from, selection.to)
    })
    .await??;
    let data: Vec<Value> = present
        .iter()
        .map(|p| {
            let t = &p.profile_type;
            json!({
                "id": t.id(),
                "name": t.name,
                "sample_type": t.sample.r#type,
                "sample_unit": t.sample.unit,
                "period_type": t.period.r#type,
                "period_unit": t.period.unit,
                "aggregation": t.aggregation().as_str(),
                "series": p.series,
            })
        })
        .collect();
    Ok(Json(json!({ "status": "success", "data": data })))
}
