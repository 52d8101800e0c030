//! Selections: what a query handler reads from its parameters to choose
//! profiles. A selector and a time range (`query`, `from`, `to`, or per
//! side of a diff `base`/`head`, `base_from`, ...), and the profile type
//! an answer is in (`profile_type=ID`, or a `__profile_type__="ID"`
//! matcher in the selector; else `sample_type` picks among the types
//! present, else CPU). Every query endpoint reads them here, so they mean
//! the same everywhere and errors name the parameter at fault.

use std::time::{Duration, SystemTime};

use brasa_profile::{diff::Side, profile_type::ProfileType, Profile};
use brasa_store::{
    matcher::{MatchOp, Matcher},
    Cancel, Merged,
};

/// Cancels its query when dropped, finished or not.
pub(crate) struct CancelOnDrop(pub(crate) Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

use crate::{
    params::Params,
    selector::parse_selector,
    state::AppState,
    tenant::Tenant,
    time::{nanos, parse_time, rfc3339},
    Error, Result,
};

/// Range queried when `from` is not given: the last hour.
const DEFAULT_RANGE: Duration = Duration::from_secs(3600);
/// What answers call a selection that selects everything.
const ALL_PROFILES: &str = "all profiles";
/// The parameter that names a profile type.
const PROFILE_TYPE_PARAM: &str = "profile_type";
/// The selector label that names a profile type, as in Pyroscope.
pub(crate) const PROFILE_TYPE_LABEL: &str = "__profile_type__";

/// A selector and a time range.
#[derive(Clone)]
pub(crate) struct Selection {
    /// The selector as given (empty: everything).
    pub(crate) text: String,
    /// The selector, parsed.
    pub(crate) matchers: Vec<Matcher>,
    /// Start of the range, unix ns.
    pub(crate) from: u64,
    /// End of the range, unix ns.
    pub(crate) to: u64,
    /// The profile type asked for, by `profile_type` or the selector.
    pub(crate) profile_type: Option<ProfileType>,
    /// The sample type asked for (`sample_type`): without a profile type,
    /// it picks the type among those present.
    pub(crate) sample_type: Option<String>,
}

/// Names of the parameters one selection is read from.
struct Names {
    /// The selector (empty or absent: everything).
    query: &'static str,
    /// Start of the range, by priority (the first one given wins).
    from: &'static [&'static str],
    /// End of the range, by priority.
    to: &'static [&'static str],
}

/// The parameters of `/api/v1/profile` and `/api/v1/series`.
const QUERY: Names = Names {
    query: "query",
    from: &["from"],
    to: &["to"],
};

/// The parameters of a side of `/api/v1/diff`: its own, then the shared
/// range.
fn side_names(side: Side) -> Names {
    match side {
        Side::Base => Names {
            query: "base",
            from: &["base_from", "from"],
            to: &["base_to", "to"],
        },
        Side::Head => Names {
            query: "head",
            from: &["head_from", "from"],
            to: &["head_to", "to"],
        },
    }
}

impl Selection {
    /// The selection of `/api/v1/profile` and `/api/v1/series`: `query`,
    /// `from` and `to`, within `tenant`.
    pub(crate) fn query(params: &Params, tenant: &Tenant) -> Result<Self> {
        Self::parse(params, &QUERY, tenant)
    }

    /// One side of `/api/v1/diff`: its selector, which must be given, and
    /// its range (`base_from` or else `from`, ...).
    pub(crate) fn side(params: &Params, side: Side, tenant: &Tenant) -> Result<Self> {
        if params.get(side.name()).is_none() {
            return Err(Error::BadRequest(format!(
                "missing `{}`: give both `base` and `head` selectors (`{{}}` selects everything)",
                side.name()
            )));
        }
        Self::parse(params, &side_names(side), tenant)
    }

    /// Parses one selection, limited to `tenant`'s series; errors name
    /// the parameter at fault.
    fn parse(params: &Params, names: &Names, tenant: &Tenant) -> Result<Self> {
        let now = SystemTime::now();
        let text = params.get(names.query).unwrap_or("").to_owned();
        let in_query = |e: Error| match e {
            Error::BadRequest(m) if names.query != QUERY.query => {
                Error::BadRequest(format!("`{}`: {m}", names.query))
            }
            other => other,
        };
        let mut matchers = parse_selector(&text).map_err(in_query)?;
        let in_selector = take_profile_type(&mut matchers).map_err(in_query)?;
        matchers.push(tenant.matcher());
        let given = params.parse(PROFILE_TYPE_PARAM, ProfileType::parse)?;
        let profile_type = match (in_selector, given) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::BadRequest(format!(
                    "`{PROFILE_TYPE_PARAM}` ({b}) and the selector's {PROFILE_TYPE_LABEL} ({a}) differ; give one of them"
                )))
            }
            (a, b) => a.or(b),
        };
        // The first of `keys` given, with its parsed value.
        let time = |keys: &'static [&'static str]| -> Result<Option<(&'static str, u64)>> {
            let Some((key, value)) = params.first_of(keys) else {
                return Ok(None);
            };
            parse_time(value, now)
                .map(|t| Some((key, t)))
                .map_err(|e| Error::BadRequest(format!("`{key}`: {e}")))
        };
        let (to_key, to) = time(names.to)?.unwrap_or((names.to[0], nanos(now)));
        let (from_key, from) = time(names.from)?.unwrap_or((
            names.from[0],
            to.saturating_sub(DEFAULT_RANGE.as_nanos() as u64),
        ));
        if from > to {
            return Err(Error::BadRequest(format!(
                "`{from_key}` ({}) is after `{to_key}` ({})",
                rfc3339(from),
                rfc3339(to)
            )));
        }
        Ok(Self {
            text,
            matchers,
            from,
            to,
            profile_type,
            sample_type: sample_type(params),
        })
    }

    /// Runs the store's merge for this selection: of its profile type, or
    /// of the one the store chooses with the `sample_type` hint. Stops
    /// early once `cancel` is.
    fn merge_blocking(&self, state: &AppState, cancel: &Cancel) -> Result<Merged> {
        let _running = state.metrics().running_query();
        let store = state.store();
        let (matchers, from, to) = (&self.matchers, self.from, self.to);
        let merged = match &self.profile_type {
            Some(wanted) => store.merge_type(matchers, from, to, wanted, cancel),
            None => store.merge_choosing(matchers, from, to, self.sample_type.as_deref(), cancel),
        };
        if let Err(brasa_store::Error::QueryCancelled) = merged {
            state.metrics().query_cancelled();
        }
        Ok(merged?)
    }

    /// The profile type this selection answers: its own, else the one the
    /// store chooses among the types present; `None` when none fits.
    pub(crate) fn resolve_type(&self, state: &AppState) -> Result<Option<ProfileType>> {
        if let Some(t) = &self.profile_type {
            return Ok(Some(t.clone()));
        }
        let present = state
            .store()
            .profile_types(&self.matchers, self.from, self.to)?;
        Ok(brasa_store::choose(&present, self.sample_type.as_deref()).cloned())
    }

    /// What answers call this selection: its selector, or "all profiles".
    pub(crate) fn title(&self) -> &str {
        if self.text.is_empty() {
            ALL_PROFILES
        } else {
            &self.text
        }
    }

    /// Merges every stored profile of one profile type that this selection
    /// matches, off the async runtime; a 404 that names the selection, and
    /// the types it does hold, when nothing matches.
    pub(crate) async fn merge(&self, state: &AppState) -> Result<(Profile, Summary)> {
        let worker = state.clone();
        let selection = self.clone();
        // The merge runs on a blocking thread, which goes on when this
        // future is dropped (the client went away): dropping the guard
        // tells it to stop.
        let guard = CancelOnDrop(Cancel::default());
        let cancel = guard.0.clone();
        let merged =
            tokio::task::spawn_blocking(move || selection.merge_blocking(&worker, &cancel))
                .await??;
        drop(guard);
        let (Some(profile), Some(profile_type)) = (merged.profile, merged.profile_type) else {
            let what = match (&self.profile_type, &self.sample_type) {
                (Some(t), _) => format!("no profiles of type {t}"),
                (None, Some(s)) => format!("no profiles with sample type {s:?}"),
                (None, None) => "no profiles".to_owned(),
            };
            let held = if merged.other_types.is_empty() {
                String::new()
            } else {
                let ids: Vec<String> = merged.other_types.iter().map(ProfileType::id).collect();
                format!(
                    "; it holds {} (pick one with `{PROFILE_TYPE_PARAM}`)",
                    ids.join(", ")
                )
            };
            return Err(Error::NotFound(format!(
                "{what} match {:?} between {} and {}{held}",
                self.text,
                rfc3339(self.from),
                rfc3339(self.to)
            )));
        };
        let summary = Summary {
            title: self.title().to_owned(),
            profiles: merged.profiles,
            series: merged.series,
            profile_type,
            other_types: merged.other_types,
            averaged: merged.averaged,
        };
        Ok((profile, summary))
    }
}

/// Removes the selector's `__profile_type__` matcher, which selects a
/// profile type rather than series, and parses its ID.
fn take_profile_type(matchers: &mut Vec<Matcher>) -> Result<Option<ProfileType>> {
    let Some(at) = matchers.iter().position(|m| m.name == PROFILE_TYPE_LABEL) else {
        return Ok(None);
    };
    let matcher = matchers.remove(at);
    if matchers.iter().any(|m| m.name == PROFILE_TYPE_LABEL) {
        return Err(Error::BadRequest(format!(
            "the selector names {PROFILE_TYPE_LABEL} twice; a query answers one profile type"
        )));
    }
    let MatchOp::Equal(id) = &matcher.op else {
        return Err(Error::BadRequest(format!(
            "{PROFILE_TYPE_LABEL} takes `=` and one ID: a query answers one profile type"
        )));
    };
    ProfileType::parse(id)
        .map(Some)
        .map_err(|e| Error::BadRequest(format!("{PROFILE_TYPE_LABEL}: {e}")))
}

/// The sample type an answer is in (`sample_type`, a full `name/unit` or
/// just the name); `None`: the profile's default.
pub(crate) fn sample_type(params: &Params) -> Option<String> {
    params.get("sample_type").map(str::to_owned)
}

/// Counts that answers report next to a merged selection.
pub(crate) struct Summary {
    /// The selector, or "all profiles".
    pub(crate) title: String,
    /// Stored profiles merged.
    pub(crate) profiles: usize,
    /// Series that matched.
    pub(crate) series: usize,
    /// The profile type of the answer.
    pub(crate) profile_type: ProfileType,
    /// The selection's other profile types in the range, left out.
    pub(crate) other_types: Vec<ProfileType>,
    /// Whether values are averages over the range (snapshots such as
    /// in-use memory), not sums.
    pub(crate) averaged: bool,
}
