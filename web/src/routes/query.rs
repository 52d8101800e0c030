//! `GET /api/v1/profile` (merged profile in several formats) and
//! `GET /api/v1/series` (sample totals over time).

use std::time::{Duration, Instant, SystemTime};

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
use brasa_store::{matcher::Matcher, query::Merged};
use serde_json::{json, Value};

use super::profile_json::profile_json;
use crate::{
    limits::MAX_POINTS_PER_SERIES,
    params::Params,
    selector::parse_selector,
    state::AppState,
    time::{parse_duration, parse_time},
    Error, Result,
};

/// Range queried when `from` is not given: the last hour.
const DEFAULT_RANGE: Duration = Duration::from_secs(3600);
/// Points a series chart aims for when `step` is not given.
const DEFAULT_POINTS: u64 = 240;
/// Smallest default step: the agent's upload interval.
const MIN_DEFAULT_STEP_NANOS: u64 = 10_000_000_000;

/// A selector and a time range: what `query`, `from` and `to` say.
pub(crate) struct Selection {
    pub(crate) text: String,
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) from: u64,
    pub(crate) to: u64,
}

/// Names of the parameters one selection is read from.
pub(crate) struct SelectionParams<'a> {
    /// The selector (empty or absent: everything).
    pub(crate) query: &'a str,
    /// Start of the range, by priority (the first one given wins).
    pub(crate) from: &'a [&'a str],
    /// End of the range, by priority.
    pub(crate) to: &'a [&'a str],
}

/// The parameters of `/api/v1/profile` and `/api/v1/series`.
const QUERY_PARAMS: SelectionParams<'static> = SelectionParams {
    query: "query",
    from: &["from"],
    to: &["to"],
};

fn selection(params: &Params) -> Result<Selection> {
    selection_from(params, &QUERY_PARAMS)
}

/// Parses one selection; errors name the parameter at fault.
pub(crate) fn selection_from<'a>(
    params: &Params,
    names: &SelectionParams<'a>,
) -> Result<Selection> {
    let now = SystemTime::now();
    let text = params.get(names.query).unwrap_or("").to_owned();
    let matchers = parse_selector(&text).map_err(|e| match e {
        Error::BadRequest(m) if names.query != QUERY_PARAMS.query => {
            Error::BadRequest(format!("`{}`: {m}", names.query))
        }
        other => other,
    })?;
    // The first of `keys` given, with its parsed value.
    let time = |keys: &'a [&'a str]| -> Result<Option<(&'a str, u64)>> {
        let Some((key, value)) = params.first_of(keys) else {
            return Ok(None);
        };
        parse_time(value, now)
            .map(|t| Some((key, t)))
            .map_err(|e| Error::BadRequest(format!("`{key}`: {e}")))
    };
    let (to_key, to) = time(names.to)?.unwrap_or((names.to[0], crate::time::nanos(now)));
    let (from_key, from) = time(names.from)?.unwrap_or((
        names.from[0],
        to.saturating_sub(DEFAULT_RANGE.as_nanos() as u64),
    ));
    if from > to {
        return Err(Error::BadRequest(format!(
            "`{from_key}` ({from} ns) is after `{to_key}` ({to} ns)"
        )));
    }
    Ok(Selection {
        text,
        matchers,
        from,
        to,
    })
}

/// Merges every stored profile that `selection` matches, off the async
/// runtime; a 404 that names the selection when nothing matches.
pub(crate) async fn merge_selection(
    state: &AppState,
    selection: &Selection,
) -> Result<(Profile, Summary)> {
    let worker = state.clone();
    let (matchers, from, to) = (selection.matchers.clone(), selection.from, selection.to);
    let merged: Merged =
        tokio::task::spawn_blocking(move || worker.store().merge(&matchers, from, to)).await??;
    let summary = merged_summary(&merged, &selection.text);
    let Some(profile) = merged.profile else {
        return Err(Error::NotFound(format!(
            "no profiles match {:?} between {} and {} (unix ns)",
            selection.text, selection.from, selection.to
        )));
    };
    Ok((profile, summary))
}

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
    let started = Instant::now();
    let result = profile_inner(&state, params).await;
    state
        .metrics()
        .queried("profile", result.is_ok(), started.elapsed());
    result
}

async fn profile_inner(state: &AppState, params: Params) -> Result<Response> {
    let selection = selection(&params)?;
    let format = params.one_of("format", FORMATS)?;
    let sample_type = params.get("sample_type").map(str::to_owned);
    let (profile, summary) = merge_selection(state, &selection).await?;
    tokio::task::spawn_blocking(move || respond(&profile, &summary, format, sample_type)).await?
}

/// Counts that the JSON answer reports next to the profile.
pub(crate) struct Summary {
    /// The selector, or "all profiles".
    pub(crate) title: String,
    /// Stored profiles merged.
    pub(crate) profiles: usize,
    /// Series that matched.
    pub(crate) series: usize,
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
        Format::Json => (
            [(CONTENT_TYPE, "application/json")],
            profile_json(profile, summary, sample_type.as_deref())?,
        )
            .into_response(),
    };
    Ok(response)
}

pub(crate) async fn series(State(state): State<AppState>, params: Params) -> Result<Json<Value>> {
    let started = Instant::now();
    let result = series_inner(&state, params).await;
    state
        .metrics()
        .queried("series", result.is_ok(), started.elapsed());
    result
}

async fn series_inner(state: &AppState, params: Params) -> Result<Json<Value>> {
    let selection = selection(&params)?;
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
    let sample_type = params.get("sample_type").map(str::to_owned);
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
