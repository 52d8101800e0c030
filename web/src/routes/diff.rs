//! `GET /api/v1/diff`: two selections compared as shares of their own
//! totals, as a differential flame graph (`format=svg`) or as JSON for the
//! page (`format=json`, the default).
//!
//! Each side is merged exactly as `/api/v1/profile` merges a selection,
//! both in one profile type: a side that names none takes the other's,
//! else the one the base's profiles call for. `from`/`to` apply to both
//! sides, `base_from`, `base_to`, `head_from` and `head_to` override them
//! per side.

use axum::{
    extract::State,
    http::header::CONTENT_TYPE,
    response::{IntoResponse, Response},
};
use brasa_profile::{
    diff::{biggest_changes, folded_pair, FoldedDiff, FunctionChange, Side},
    render::{count_name, FlameGraphOptions},
    Profile,
};
use serde::Serialize;

use super::name_table::NameTable;
use crate::{
    params::Params,
    selection::{sample_type, Selection},
    state::AppState,
    tenant::Tenant,
    Error, Result,
};

/// Rows of the JSON answer's `changes` table.
pub(crate) const JSON_TOP_CHANGES: usize = 100;

/// Output formats of `/api/v1/diff`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Json,
}

/// The formats by their `format=` names; JSON, what the page reads, is
/// the default.
const FORMATS: &[(&str, Format)] = &[("json", Format::Json), ("svg", Format::Svg)];

pub(crate) async fn diff(
    State(state): State<AppState>,
    tenant: Tenant,
    params: Params,
) -> Result<Response> {
    state
        .metrics()
        .time_query("diff", diff_inner(&state, &tenant, params))
        .await
}

async fn diff_inner(state: &AppState, tenant: &Tenant, params: Params) -> Result<Response> {
    let mut base = Selection::side(&params, Side::Base, tenant)?;
    let mut head = Selection::side(&params, Side::Head, tenant)?;
    if base.profile_type.is_none() {
        base.profile_type = match head.profile_type.clone() {
            Some(t) => Some(t),
            None => {
                let worker = state.clone();
                let selection = base.clone();
                tokio::task::spawn_blocking(move || selection.resolve_type(&worker)).await??
            }
        };
    }
    if head.profile_type.is_none() {
        head.profile_type = base.profile_type.clone();
    }
    let profile_type = base.profile_type.as_ref().map(|t| t.id());
    let format = params.one_of("format", FORMATS)?;
    let sample_type = sample_type(&params);
    let named = |side: Side| {
        move |e: Error| match e {
            Error::NotFound(m) => Error::NotFound(format!("{} side: {m}", side.name())),
            other => other,
        }
    };
    let (base_merged, head_merged) = tokio::join!(base.merge(state), head.merge(state));
    let (base_profile, base_summary) = base_merged.map_err(named(Side::Base))?;
    let (head_profile, _) = head_merged.map_err(named(Side::Head))?;
    let profile_type = profile_type.unwrap_or_else(|| base_summary.profile_type.id());
    let title = format!("{} vs {}", base.title(), head.title());
    tokio::task::spawn_blocking(move || {
        respond(
            &base_profile,
            &head_profile,
            format,
            sample_type.as_deref(),
            title,
            &profile_type,
        )
    })
    .await?
}

fn respond(
    base: &Profile,
    head: &Profile,
    format: Format,
    sample_type: Option<&str>,
    title: String,
    profile_type: &str,
) -> Result<Response> {
    let (type_name, base_folded, head_folded) = folded_pair(base, head, sample_type)?;
    let diff = FoldedDiff::new(&base_folded, &head_folded)?;
    if format == Format::Svg {
        let mut options = FlameGraphOptions::default();
        options.title = title;
        options.count_name = count_name(&type_name);
        let svg = diff.to_svg(&options)?;
        return Ok(([(CONTENT_TYPE, "image/svg+xml")], svg).into_response());
    }
    let changes = biggest_changes(base, head, sample_type, JSON_TOP_CHANGES)?;
    let body = DiffJson::new(profile_type, &type_name, &diff, &changes);
    let bytes =
        serde_json::to_vec(&body).map_err(|e| Error::Internal(format!("writing JSON: {e}")))?;
    Ok(([(CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// The JSON answer. Totals are before normalization; per-stack `base` and
/// `head` are normalized to the larger total. Frame names are sent once in
/// `names`, stacks are indexes into it (root first).
#[derive(Serialize)]
struct DiffJson<'a> {
    /// The profile type's ID, the same on both sides.
    profile_type: &'a str,
    sample_type: &'a str,
    base_total: i64,
    head_total: i64,
    names: NameTable,
    stacks: Vec<StackJson>,
    changes: Vec<ChangeJson<'a>>,
}

#[derive(Serialize)]
struct StackJson {
    frames: Vec<u32>,
    base: u64,
    head: u64,
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    function: &'a str,
    base_share: f64,
    head_share: f64,
    /// `head_share / base_share - 1`; null for a function new in head.
    relative_change: Option<f64>,
}

impl<'a> DiffJson<'a> {
    fn new(
        profile_type: &'a str,
        sample_type: &'a str,
        diff: &'a FoldedDiff,
        changes: &'a [FunctionChange],
    ) -> Self {
        let mut names = NameTable::default();
        let stacks = diff
            .stacks
            .iter()
            .map(|s| StackJson {
                frames: s
                    .stack
                    .split(brasa_profile::folded::FRAME_SEPARATOR)
                    .map(|frame| names.id(frame))
                    .collect(),
                base: s.base,
                head: s.head,
            })
            .collect();
        Self {
            profile_type,
            sample_type,
            base_total: diff.base_total,
            head_total: diff.head_total,
            names,
            stacks,
            changes: changes
                .iter()
                .map(|c| ChangeJson {
                    function: &c.function,
                    base_share: c.base_share,
                    head_share: c.head_share,
                    relative_change: c.relative_change,
                })
                .collect(),
        }
    }
}
