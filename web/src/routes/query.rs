//! `GET /api/v1/profile` (merged profile in several formats) and
//! `GET /api/v1/series` (sample totals over time).

use axum::{
    extract::State,
    http::header::{CONTENT_DISPOSITION, CONTENT_TYPE},
    response::{IntoResponse, Response},
    Json,
};
use brasa_profile::{
    codec,
    io::{render, OutputFormat, WriteOptions},
    render::FlameGraphOptions,
    Profile,
};
use serde_json::{json, Value};

use super::profile_json::profile_json;
use crate::{
    limits::MAX_POINTS_PER_SERIES,
    params::Params,
    selection::{sample_type, Selection, Summary},
    state::AppState,
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

pub(crate) async fn profile(State(state): State<AppState>, params: Params) -> Result<Response> {
    state
        .metrics()
        .time_query("profile", profile_inner(&state, params))
        .await
}

async fn profile_inner(state: &AppState, params: Params) -> Result<Response> {
    let selection = Selection::query(&params)?;
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

pub(crate) async fn series(State(state): State<AppState>, params: Params) -> Result<Json<Value>> {
    state
        .metrics()
        .time_query("series", series_inner(&state, params))
        .await
}

async fn series_inner(state: &AppState, params: Params) -> Result<Json<Value>> {
    let selection = Selection::query(&params)?;
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
    let sample_type = sample_type(&params);
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
