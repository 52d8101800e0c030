//! Selections: what a query handler reads from its parameters to choose
//! profiles. A selector and a time range (`query`, `from`, `to`, or per
//! side of a diff `base`/`head`, `base_from`, ...), and the sample type
//! an answer is in (`sample_type`). Every query endpoint reads them here,
//! so they mean the same everywhere and errors name the parameter at fault.

use std::time::{Duration, SystemTime};

use brasa_profile::{diff::Side, Profile};
use brasa_store::matcher::Matcher;

use crate::{
    params::Params,
    selector::parse_selector,
    state::AppState,
    time::{nanos, parse_time, rfc3339},
    Error, Result,
};

/// Range queried when `from` is not given: the last hour.
const DEFAULT_RANGE: Duration = Duration::from_secs(3600);
/// What answers call a selection that selects everything.
const ALL_PROFILES: &str = "all profiles";

/// A selector and a time range.
pub(crate) struct Selection {
    /// The selector as given (empty: everything).
    pub(crate) text: String,
    /// The selector, parsed.
    pub(crate) matchers: Vec<Matcher>,
    /// Start of the range, unix ns.
    pub(crate) from: u64,
    /// End of the range, unix ns.
    pub(crate) to: u64,
    /// The sample type asked for (`sample_type`): it also picks which kind
    /// of profile is merged when the selection matches several.
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
    /// `from` and `to`.
    pub(crate) fn query(params: &Params) -> Result<Self> {
        Self::parse(params, &QUERY)
    }

    /// One side of `/api/v1/diff`: its selector, which must be given, and
    /// its range (`base_from` or else `from`, ...).
    pub(crate) fn side(params: &Params, side: Side) -> Result<Self> {
        if params.get(side.name()).is_none() {
            return Err(Error::BadRequest(format!(
                "missing `{}`: give both `base` and `head` selectors (`{{}}` selects everything)",
                side.name()
            )));
        }
        Self::parse(params, &side_names(side))
    }

    /// Parses one selection; errors name the parameter at fault.
    fn parse(params: &Params, names: &Names) -> Result<Self> {
        let now = SystemTime::now();
        let text = params.get(names.query).unwrap_or("").to_owned();
        let matchers = parse_selector(&text).map_err(|e| match e {
            Error::BadRequest(m) if names.query != QUERY.query => {
                Error::BadRequest(format!("`{}`: {m}", names.query))
            }
            other => other,
        })?;
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
            sample_type: sample_type(params),
        })
    }

    /// What answers call this selection: its selector, or "all profiles".
    pub(crate) fn title(&self) -> &str {
        if self.text.is_empty() {
            ALL_PROFILES
        } else {
            &self.text
        }
    }

    /// Merges every stored profile this selection matches, off the async
    /// runtime; a 404 that names the selection when nothing matches.
    pub(crate) async fn merge(&self, state: &AppState) -> Result<(Profile, Summary)> {
        let worker = state.clone();
        let (matchers, from, to) = (self.matchers.clone(), self.from, self.to);
        let wanted = self.sample_type.clone();
        let merged = tokio::task::spawn_blocking(move || {
            worker
                .store()
                .merge_kind(&matchers, from, to, wanted.as_deref())
        })
        .await??;
        let summary = Summary {
            title: self.title().to_owned(),
            profiles: merged.profiles,
            series: merged.series,
            other_kinds: merged.other_kinds,
            averaged: merged.averaged,
        };
        let Some(profile) = merged.profile else {
            return Err(Error::NotFound(format!(
                "no profiles match {:?} between {} and {}",
                self.text,
                rfc3339(self.from),
                rfc3339(self.to)
            )));
        };
        Ok((profile, summary))
    }
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
    /// Sample types of matching profiles of other kinds, left out (pick
    /// one with `sample_type`).
    pub(crate) other_kinds: Vec<String>,
    /// Per sample type of the merged profile, whether its values are
    /// averages over the range (snapshots such as in-use memory), not sums.
    pub(crate) averaged: Vec<bool>,
}
