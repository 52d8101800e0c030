//! Group-by: the values of one label ranked by their total over a
//! selection's range, the biggest [`GroupBy::limit`] kept apart and the
//! rest folded into one "other" group. `/api/v1/series?group_by=LABEL`
//! draws a line per kept value and one for the rest;
//! `/api/v1/profile?format=json&group_by=LABEL` lists them as `groups`.
//! Both rank with [`rank`].
//!
//! A value is a series' own value of the label when the series has the
//! label, else each sample's; samples without it have the value `""`,
//! which ranks like any other value (so that the groups add up to the
//! whole selection).
//!
//! Memory is bounded whatever the label's cardinality: one running total
//! per distinct value, at most [`MAX_GROUPS`] of them (past it the query
//! is a 400 that says to narrow the selector).

use brasa_profile::profile_type::ProfileType;
use brasa_store::{labels::NAME_LABEL, Cancel};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::{
    limits::{DEFAULT_GROUP_LIMIT, MAX_GROUPS, MAX_GROUP_LIMIT},
    params::Params,
    selection::{CancelOnDrop, Selection},
    state::AppState,
    Error, Result,
};

/// The parameter naming the label to group by.
const GROUP_BY_PARAM: &str = "group_by";
/// The parameter saying how many groups to answer apart.
const LIMIT_PARAM: &str = "limit";

/// What `group_by` and `limit` ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupBy {
    /// The label whose values are the groups.
    pub(crate) label: String,
    /// Groups answered apart, the biggest first; the rest are one
    /// "other" group.
    pub(crate) limit: usize,
}

impl GroupBy {
    /// `group_by` (absent or empty: no grouping) and `limit` (default
    /// [`DEFAULT_GROUP_LIMIT`], 1 to [`MAX_GROUP_LIMIT`]); `limit`
    /// without `group_by` is ignored.
    pub(crate) fn from_params(params: &Params) -> Result<Option<Self>> {
        let Some(label) = params.get(GROUP_BY_PARAM).filter(|g| !g.is_empty()) else {
            return Ok(None);
        };
        let limit = params
            .parse(LIMIT_PARAM, |v| {
                v.parse::<u64>().map_err(|_| {
                    format!("{v:?} is not a number of groups; give 1 to {MAX_GROUP_LIMIT}")
                })
            })?
            .unwrap_or(DEFAULT_GROUP_LIMIT as u64);
        if limit == 0 || limit > MAX_GROUP_LIMIT as u64 {
            return Err(Error::BadRequest(format!(
                "`{LIMIT_PARAM}` is {limit}; give 1 to {MAX_GROUP_LIMIT}: the answer keeps that many values of `{GROUP_BY_PARAM}` apart, biggest first, and adds up the rest as \"other\""
            )));
        }
        Ok(Some(Self {
            label: label.to_owned(),
            limit: limit as usize,
        }))
    }
}

/// How a series' totals make its groups' totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Weighting {
    /// The sum of the raw totals of the profiles in the range: what a
    /// chart's buckets add.
    Raw,
    /// Per series, that sum divided by the number of the series' profiles
    /// in the range (all of them, whether they hold the value or not),
    /// then added across series: what a merged profile of snapshots
    /// (in-use memory, goroutines) holds, so that the groups' totals add
    /// up to its `total`.
    AveragePerSeries,
}

/// A label's values ranked by their total.
#[derive(Debug, Default)]
pub(crate) struct Ranking {
    /// The biggest values, biggest total first (ties by value ascending),
    /// with their totals.
    pub(crate) top: Vec<(String, i64)>,
    /// How many values are folded into "other".
    pub(crate) folded: usize,
    /// The total of the values folded into "other".
    pub(crate) other_total: i64,
}

impl Ranking {
    /// The `groups` of the profile JSON: the top values, then "other"
    /// when values were folded, with shares of `whole`.
    pub(crate) fn groups(&self, whole: i64) -> Vec<GroupJson<'_>> {
        let mut groups: Vec<GroupJson<'_>> = self
            .top
            .iter()
            .map(|(value, total)| GroupJson {
                value: Some(value),
                other: false,
                total: *total,
                share: share(*total, whole),
                groups_in_other: None,
            })
            .collect();
        if self.folded > 0 {
            groups.push(GroupJson {
                value: None,
                other: true,
                total: self.other_total,
                share: share(self.other_total, whole),
                groups_in_other: Some(self.folded),
            });
        }
        groups
    }
}

/// One entry of the profile JSON's `groups`: a value, or "other".
#[derive(Serialize, Debug)]
pub(crate) struct GroupJson<'a> {
    /// The label's value; absent for "other".
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    /// Whether this is the values past the limit, added up.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    other: bool,
    /// The group's total, in the sample type's unit.
    total: i64,
    /// `total` over the whole selection's.
    share: f64,
    /// How many values "other" adds up.
    #[serde(skip_serializing_if = "Option::is_none")]
    groups_in_other: Option<usize>,
}

/// `part` over `whole`; 0 when the whole is.
pub(crate) fn share(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Totals per distinct value, at most [`MAX_GROUPS`] values.
#[derive(Default)]
pub(crate) struct ValueTotals(HashMap<String, i64>);

impl ValueTotals {
    /// Adds `total` to `value`'s; a 400 when it is one value too many.
    pub(crate) fn add(&mut self, value: &str, total: i64) -> Result<()> {
        if let Some(sum) = self.0.get_mut(value) {
            *sum = sum.saturating_add(total);
            return Ok(());
        }
        if self.0.len() >= MAX_GROUPS {
            return Err(too_many_values());
        }
        self.0.insert(value.to_owned(), total);
        Ok(())
    }

    /// The values, biggest total first (ties by value ascending), the
    /// first `limit` apart and the rest folded.
    pub(crate) fn rank(self, limit: usize) -> Ranking {
        let mut all: Vec<(String, i64)> = self.0.into_iter().collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rest = if all.len() > limit {
            all.split_off(limit)
        } else {
            Vec::new()
        };
        Ranking {
            top: all,
            folded: rest.len(),
            other_total: rest
                .iter()
                .fold(0i64, |sum, (_, total)| sum.saturating_add(*total)),
        }
    }
}

/// The 400 of a label with more than [`MAX_GROUPS`] values.
pub(crate) fn too_many_values() -> Error {
    Error::BadRequest(format!(
        "`{GROUP_BY_PARAM}` finds more than {MAX_GROUPS} values of its label; narrow the selector or group by a label with fewer values"
    ))
}

/// [`Error`] of a cancelled query, counted, once `cancel` is.
pub(crate) fn check_cancel(state: &AppState, cancel: &Cancel) -> Result<()> {
    cancel.check().map_err(|e| {
        state.metrics().query_cancelled();
        e.into()
    })
}

/// Ranks the values of `group_by`'s label among the samples of
/// `profile_type` that `selection` selects, by their total over its range
/// (summed as `weighting` says). Reads the range once, holding one total
/// per distinct value; stops once `cancel` is.
pub(crate) fn rank(
    state: &AppState,
    selection: &Selection,
    profile_type: &ProfileType,
    group_by: &GroupBy,
    weighting: Weighting,
    cancel: &Cancel,
) -> Result<Ranking> {
    let store = state.store();
    let range = (selection.from, selection.to);
    let mut totals = ValueTotals::default();
    let selected = store.select_samples(&selection.matchers)?;
    store.options().query.check_series(selected.len())?;
    for (series, on_samples) in selected {
        check_cancel(state, cancel)?;
        let name = series.labels.get(NAME_LABEL).unwrap_or("");
        let Some(column) = series.kind.column(name, profile_type) else {
            continue;
        };
        // This series' totals per value, then added to the selection's.
        let mut own = ValueTotals::default();
        store.for_each_grouped_total(
            &series,
            column,
            &on_samples,
            &group_by.label,
            range,
            |value, _, total| {
                check_cancel(state, cancel)?;
                own.add(value, total)
            },
        )?;
        let profiles = match weighting {
            Weighting::Raw => 1,
            // Headers only: every profile of the series counts.
            Weighting::AveragePerSeries => store
                .column_totals(&series, column, &[], range.0, range.1)?
                .len(),
        };
        for (value, sum) in own.0 {
            totals.add(&value, average(sum, profiles))?;
        }
    }
    Ok(totals.rank(group_by.limit))
}

/// [`rank`] off the async runtime; stops when the caller goes away.
pub(crate) async fn rank_blocking(
    state: &AppState,
    selection: &Selection,
    profile_type: &ProfileType,
    group_by: &GroupBy,
    weighting: Weighting,
) -> Result<Ranking> {
    let (worker, selection, profile_type, group_by) = (
        state.clone(),
        selection.clone(),
        profile_type.clone(),
        group_by.clone(),
    );
    let guard = CancelOnDrop(Cancel::default());
    let cancel = guard.0.clone();
    let ranking = tokio::task::spawn_blocking(move || {
        let _running = worker.metrics().running_query();
        rank(
            &worker,
            &selection,
            &profile_type,
            &group_by,
            weighting,
            &cancel,
        )
    })
    .await??;
    drop(guard);
    Ok(ranking)
}

/// `sum` over `count` profiles, rounded to the nearest integer as the
/// store's merge rounds its averages.
fn average(sum: i64, count: usize) -> i64 {
    let count = count.max(1) as i64;
    (sum + sum.signum() * count / 2) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(pairs: &[(&str, i64)]) -> ValueTotals {
        let mut totals = ValueTotals::default();
        for (value, total) in pairs {
            totals.add(value, *total).unwrap();
        }
        totals
    }

    #[test]
    fn biggest_first_ties_by_value_and_the_rest_folded() {
        let ranking = totals(&[("b", 5), ("a", 5), ("c", 9), ("d", 1), ("", 2), ("c", 1)]).rank(3);
        let top: Vec<(&str, i64)> = ranking.top.iter().map(|(v, t)| (v.as_str(), *t)).collect();
        assert_eq!(top, [("c", 10), ("a", 5), ("b", 5)]);
        assert_eq!((ranking.folded, ranking.other_total), (2, 3));
        let groups = serde_json::to_value(ranking.groups(20)).unwrap();
        assert_eq!(
            groups[0],
            serde_json::json!({"value": "c", "total": 10, "share": 0.5})
        );
        assert_eq!(
            groups[3],
            serde_json::json!({"other": true, "total": 3, "share": 0.15, "groups_in_other": 2})
        );
        let all = totals(&[("a", 1), ("b", 2)]).rank(2);
        assert_eq!((all.top.len(), all.folded), (2, 0));
        assert_eq!(all.groups(0).len(), 2, "no other when nothing is folded");
    }

    #[test]
    fn one_value_past_the_bound_is_refused() {
        let mut totals = ValueTotals::default();
        for value in 0..MAX_GROUPS {
            totals.add(&value.to_string(), 1).unwrap();
        }
        totals.add("0", 1).unwrap();
        let err = totals.add("new", 1).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("narrow the selector"), "{err}");
    }

    #[test]
    fn ties_rank_by_value_and_a_cancelled_ranking_stops() {
        use brasa_store::{labels::Labels, Store, StoreOptions};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let profile = brasa_profile::folded::Folded::parse("main;work 5\n")
            .unwrap()
            .to_profile();
        for service in ["a", "b"] {
            let labels = Labels::new([("service", service)]).unwrap();
            store.ingest(&labels, &profile, 1_000).unwrap();
        }
        let state = AppState::new(store, crate::ServerOptions::default());
        let selection = Selection {
            text: String::new(),
            matchers: crate::selector::parse_selector(r#"{service=~"a|b"}"#).unwrap(),
            from: 0,
            to: 2_000,
            profile_type: None,
            sample_type: None,
        };
        let profile_type = selection.resolve_type(&state).unwrap().unwrap();
        let group_by = GroupBy {
            label: "service".to_owned(),
            limit: 1,
        };
        let ranking = rank(
            &state,
            &selection,
            &profile_type,
            &group_by,
            Weighting::Raw,
            &Cancel::default(),
        )
        .unwrap();
        assert_eq!(ranking.top, [("a".to_owned(), 5)]);
        assert_eq!((ranking.folded, ranking.other_total), (1, 5));

        let cancel = Cancel::default();
        cancel.cancel();
        let err = rank(
            &state,
            &selection,
            &profile_type,
            &group_by,
            Weighting::Raw,
            &cancel,
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Store(brasa_store::Error::QueryCancelled)),
            "{err}"
        );
    }

    #[test]
    fn averages_round_like_the_merge() {
        assert_eq!(average(5, 2), 3);
        assert_eq!(average(-5, 2), -3);
        assert_eq!(average(7, 0), 7);
        assert_eq!(average(10, 4), 3);
    }
}
