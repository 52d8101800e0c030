//! `GET /api/v1/profile` (merged profile in several formats) and
//! `GET /api/v1/series` (sample totals over time).

use std::time::{Duration, Instant, SystemTime};

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::header::{CONTENT_DISPOSITION, CONTENT_TYPE},
    response::{IntoResponse, Response},
    Json,
};
use brasa_profile::{
    codec,
    folded::Folded,
    io::{render, OutputFormat, WriteOptions},
    render::FlameGraphOptions,
    sample_type::{sample_type_index, sample_type_names},
    top::{top, total},
    Profile,
};
use brasa_store::{matcher::Matcher, query::Merged};
use serde_json::{json, Value};

use super::{param, params};
use crate::{
    app::AppState,
    limits::MAX_POINTS_PER_SERIES,
    selector::parse_selector,
    time::{parse_duration, parse_time},
    Error, Result,
};

/// Range queried when `from` is not given: the last hour.
const DEFAULT_RANGE: Duration = Duration::from_secs(3600);
/// Functions listed in the JSON answer's `top`.
const JSON_TOP_FUNCTIONS: usize = 100;
/// Points a series chart aims for when `step` is not given.
const DEFAULT_POINTS: u64 = 240;
/// Smallest default step: the agent's upload interval.
const MIN_DEFAULT_STEP_NANOS: u64 = 10_000_000_000;

/// What `query`, `from` and `to` say.
struct Selection {
    text: String,
    matchers: Vec<Matcher>,
    from: u64,
    to: u64,
}

fn selection(params: &[(String, String)]) -> Result<Selection> {
    let now = SystemTime::now();
    let text = param(params, "query").unwrap_or("").to_owned();
    let matchers = parse_selector(&text)?;
    let bad_time = |e: crate::time::TimeError| Error::BadRequest(e.to_string());
    let to = match param(params, "to") {
        Some(t) => parse_time(t, now).map_err(bad_time)?,
        None => crate::time::nanos(now),
    };
    let from = match param(params, "from") {
        Some(t) => parse_time(t, now).map_err(bad_time)?,
        None => to.saturating_sub(DEFAULT_RANGE.as_nanos() as u64),
    };
    if from > to {
        return Err(Error::BadRequest(format!(
            "`from` ({from} ns) is after `to` ({to} ns)"
        )));
    }
    Ok(Selection {
        text,
        matchers,
        from,
        to,
    })
}

/// Output formats of `/api/v1/profile`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Pprof,
    Svg,
    Folded,
    Json,
}

fn format(params: &[(String, String)]) -> Result<Format> {
    match param(params, "format").unwrap_or("pprof") {
        "pprof" => Ok(Format::Pprof),
        "svg" => Ok(Format::Svg),
        "folded" => Ok(Format::Folded),
        "json" => Ok(Format::Json),
        other => Err(Error::BadRequest(format!(
            "unknown format {other:?}; use pprof, svg, folded or json"
        ))),
    }
}

pub(crate) async fn profile(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response> {
    let started = Instant::now();
    let result = profile_inner(&state, query).await;
    state
        .metrics()
        .queried("profile", result.is_ok(), started.elapsed());
    result
}

async fn profile_inner(
    state: &AppState,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response> {
    let params = params(query)?;
    let selection = selection(&params)?;
    let format = format(&params)?;
    let sample_type = param(&params, "sample_type").map(str::to_owned);
    let worker = state.clone();
    let (matchers, from, to) = (selection.matchers, selection.from, selection.to);
    let merged: Merged =
        tokio::task::spawn_blocking(move || worker.store().merge(&matchers, from, to)).await??;
    let summary = merged_summary(&merged, &selection.text);
    let Some(profile) = merged.profile else {
        return Err(Error::NotFound(format!(
            "no profiles match {:?} between {} and {} (unix ns)",
            selection.text, selection.from, selection.to
        )));
    };
    tokio::task::spawn_blocking(move || respond(&profile, &summary, format, sample_type)).await?
}

/// Counts that the JSON answer reports next to the profile.
struct Summary {
    title: String,
    profiles: usize,
    series: usize,
}

fn merged_summary(merged: &Merged, text: &str) -> Summary {
    Summary {
        title: if text.is_empty() {
            "all profiles".to_owned()
        } else {
            text.to_owned()
        },
        profiles: merged.profiles,
        series: merged.series,
    }
}

fn respond(
    profile: &Profile,
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
            codec::encode(profile),
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
            let bytes = render(profile, output, &options)?;
            ([(CONTENT_TYPE, content_type)], bytes).into_response()
        }
        Format::Json => Json(json_body(profile, summary, sample_type.as_deref())?).into_response(),
    };
    Ok(response)
}

fn json_body(profile: &Profile, summary: &Summary, sample_type: Option<&str>) -> Result<Value> {
    let index = sample_type_index(profile, sample_type)?;
    let folded = Folded::from_profile(profile, index);
    let stacks: Vec<Value> = folded
        .stacks
        .iter()
        .map(|(stack, value)| json!({ "frames": stack.split(';').collect::<Vec<_>>(), "value": value }))
        .collect();
    let top: Vec<Value> = top(profile, index)
        .into_iter()
        .take(JSON_TOP_FUNCTIONS)
        .map(|e| json!({ "name": e.name, "flat": e.flat, "cum": e.cum }))
        .collect();
    Ok(json!({
        "sample_type": sample_type_names(profile)[index],
        "sample_types": sample_type_names(profile),
        "total": total(profile, index),
        "profiles": summary.profiles,
        "series": summary.series,
        "stacks": stacks,
        "top": top,
    }))
}

pub(crate) async fn series(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>> {
    let started = Instant::now();
    let result = series_inner(&state, query).await;
    state
        .metrics()
        .queried("series", result.is_ok(), started.elapsed());
    result
}

async fn series_inner(
    state: &AppState,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>> {
    let params = params(query)?;
    let selection = selection(&params)?;
    let span = selection.to - selection.from;
    let step = match param(&params, "step") {
        Some(s) => {
            let step = parse_duration(s).map_err(|e| Error::BadRequest(e.to_string()))?;
            u64::try_from(step.as_nanos()).unwrap_or(u64::MAX)
        }
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
    let sample_type = param(&params, "sample_type").map(str::to_owned);
    let worker = state.clone();
    let data = tokio::task::spawn_blocking(move || {
        chart(&worker, &selection, step, sample_type.as_deref())
    })
    .await??;
    Ok(Json(json!({ "status": "success", "data": data })))
}

/// Per series: the chosen sample type's totals summed into `step` buckets.
fn chart(
    state: &AppState,
    selection: &Selection,
    step: u64,
    sample_type: Option<&str>,
) -> Result<Vec<Value>> {
    let store = state.store();
    let mut out = Vec::new();
    for series in store.select(&selection.matchers)? {
        let types = store.sample_types(series.id);
        let index = match sample_type {
            Some(wanted) => match types.iter().position(|t| {
                t == wanted || t.split_once('/').is_some_and(|(name, _)| name == wanted)
            }) {
                Some(i) => i,
                None => continue,
            },
            None if types.is_empty() => continue,
            None => types.len() - 1,
        };
        let mut buckets: std::collections::BTreeMap<u64, i64> = Default::default();
        for (time, totals) in store.totals(series.id, selection.from, selection.to)? {
            let bucket = selection.from + (time - selection.from) / step * step;
            let sum = buckets.entry(bucket).or_default();
            *sum = sum.saturating_add(totals.get(index).copied().unwrap_or(0));
        }
        if buckets.is_empty() {
            continue;
        }
        let labels: serde_json::Map<String, Value> = series
            .labels
            .iter()
            .map(|(n, v)| (n.to_owned(), Value::from(v)))
            .collect();
        let points: Vec<Value> = buckets
            .into_iter()
            .map(|(t, v)| json!([t as f64 / 1e9, v]))
            .collect();
        out.push(json!({ "labels": labels, "sample_type": types[index], "points": points }));
    }
    Ok(out)
}
