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
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::profile_json::profile_json;
use crate::{
    limits::{MAX_GROUPS, MAX_POINTS_PER_SERIES},
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
    let (profile, summary) = selection.merge(state).await?;
    tokio::task::spawn_blocking(move || respond(profile, &summary, format, sample_type)).await?
}

fn respond(
    profile: Profile,
    summary: &Summary,
    format: Format,
    sample_type: Option<String>,
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
            profile_json(&profile, summary, sample_type.as_deref())?,
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
    let group_by = params
        .get("group_by")
        .filter(|g| !g.is_empty())
        .map(str::to_owned);
    let worker = state.clone();
    // Dropped when the client goes away: the chart stops at its next series.
    let guard = CancelOnDrop(Cancel::default());
    let cancel = guard.0.clone();
    let data = tokio::task::spawn_blocking(move || {
        chart(&worker, &selection, step, group_by.as_deref(), &cancel)
    })
    .await??;
    drop(guard);
    Ok(Json(data))
}

/// The chart of one profile type: per series (or per value of the label
/// `group_by`, series or sample label), its totals in `step` buckets, as
/// a rate per second for amounts (CPU in cores, allocations in bytes/s)
/// and as the average value for snapshots (in-use bytes, goroutines).
fn chart(
    state: &AppState,
    selection: &Selection,
    step: u64,
    group_by: Option<&str>,
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
    // Per line: its labels, and per bucket the sum of totals and the
    // number of profiles.
    let mut lines: BTreeMap<Vec<(String, String)>, Buckets> = BTreeMap::new();
    let mut add = |labels: Vec<(String, String)>, totals: Vec<(u64, i64)>| -> Result<()> {
        if totals.is_empty() {
            return Ok(());
        }
        if group_by.is_some() && !lines.contains_key(&labels) && lines.len() >= MAX_GROUPS {
            return Err(Error::BadRequest(format!(
                "`group_by` makes more than {MAX_GROUPS} lines; narrow the selector or group by a label with fewer values"
            )));
        }
        let buckets = lines.entry(labels).or_default();
        for (time, total) in totals {
            let bucket = selection.from + (time - selection.from) / step * step;
            let (sum, count) = buckets.entry(bucket).or_default();
            *sum = sum.saturating_add(total);
            *count += 1;
        }
        Ok(())
    };
    let range = (selection.from, selection.to);
    let selected = store.select_samples(&selection.matchers)?;
    store.options().query.check_series(selected.len())?;
    for (series, on_samples) in selected {
        if let Err(e) = cancel.check() {
            state.metrics().query_cancelled();
            return Err(e.into());
        }
        let name = series.labels.get(NAME_LABEL).unwrap_or("");
        let Some(column) = series.kind.column(name, &profile_type) else {
            continue;
        };
        match group_by {
            None => {
                let labels = series
                    .labels
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect();
                add(
                    labels,
                    store.column_totals(&series, column, &on_samples, range.0, range.1)?,
                )?;
            }
            Some(label) => {
                for (value, totals) in
                    store.grouped_totals(&series, column, &on_samples, label, range)?
                {
                    add(vec![(label.to_owned(), value)], totals)?;
                }
            }
        }
    }
    let out: Vec<Value> = lines
        .into_iter()
        .map(|(labels, buckets)| {
            let labels: serde_json::Map<String, Value> =
                labels.into_iter().map(|(n, v)| (n, Value::from(v))).collect();
            let points: Vec<Value> = buckets
                .into_iter()
                .map(|(t, (sum, count))| {
                    let value = match aggregation {
                        Aggregation::Sum => sum as f64 / step_seconds / unit.divisor,
                        Aggregation::Average => sum as f64 / f64::from(count.max(1)),
                    };
                    json!([t as f64 / 1e9, value])
                })
                .collect();
            json!({
                "labels": labels,
                "sample_type": format!("{}/{}", profile_type.sample.r#type, profile_type.sample.unit),
                "points": points,
            })
        })
        .collect();
    Ok(json!({
        "status": "success",
        "profile_type": profile_type.id(),
        "aggregation": match aggregation { Aggregation::Sum => "rate", Aggregation::Average => "gauge" },
        "unit": unit.name,
        "data": out,
    }))
}

/// A chart line's buckets: start (unix ns) → sum of totals and number of
/// profiles.
type Buckets = BTreeMap<u64, (i64, u32)>;

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
