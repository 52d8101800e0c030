//! Differences between a base and a head profile: per-stack counts for a
//! differential flame graph, and the functions whose share changed most.
//!
//! Both sides are compared as shares of their own totals, so a head
//! recorded for twice as long does not look twice as slow.

use std::collections::{BTreeMap, BTreeSet};

use brasa_proto::pprof::Profile;

use crate::{
    folded::Folded,
    regression::{
        format::aligned,
        shares::{common_sample_type, Metric, RunShares},
    },
    render::{render_lines, FlameGraphOptions},
    Error, Result,
};

/// Default number of rows of the changes table.
pub const DEFAULT_TOP_CHANGES: usize = 20;

/// One side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// What is compared against: the old build, the earlier period.
    Base,
    /// What is compared: the new build, the later period.
    Head,
}

impl Side {
    /// `base` or `head`, as in parameter names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::Head => "head",
        }
    }
}

/// One stack's count on each side, both scaled to a common total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackDiff {
    /// Frames, root first, joined by `;`.
    pub stack: String,
    /// Normalized base count.
    pub base: u64,
    /// Normalized head count.
    pub head: u64,
}

/// The stacks of two profiles, normalized to the same total: the side with
/// the larger total keeps its counts, the other is scaled up to it (and
/// rounded), so the graph compares shares, never durations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedDiff {
    /// Sum of the base counts before normalization.
    pub base_total: i64,
    /// Sum of the head counts before normalization.
    pub head_total: i64,
    /// Every stack of either side, sorted by stack.
    pub stacks: Vec<StackDiff>,
}

impl FoldedDiff {
    /// Compares `base` with `head`. Errors when a side has no samples.
    pub fn new(base: &Folded, head: &Folded) -> Result<Self> {
        let base_total = base.total();
        let head_total = head.total();
        if base_total <= 0 || head_total <= 0 {
            return Err(Error::Request(
                "a side of the diff has no samples; nothing to compare (check the sample type and the recording)".to_owned(),
            ));
        }
        let common = base_total.max(head_total) as f64;
        let scale = |count: i64, total: i64| (count as f64 * common / total as f64).round() as u64;
        let keys: BTreeSet<&String> = base.stacks.keys().chain(head.stacks.keys()).collect();
        let stacks = keys
            .into_iter()
            .map(|stack| StackDiff {
                stack: stack.clone(),
                base: scale(base.stacks.get(stack).copied().unwrap_or(0), base_total),
                head: scale(head.stacks.get(stack).copied().unwrap_or(0), head_total),
            })
            .collect();
        Ok(Self {
            base_total,
            head_total,
            stacks,
        })
    }

    /// `stack base head` lines, the input of a differential flame graph.
    pub fn lines(&self) -> Vec<String> {
        self.stacks
            .iter()
            .map(|s| format!("{} {} {}", s.stack, s.base, s.head))
            .collect()
    }

    /// A differential flame graph: frame widths are head shares, red frames
    /// grew and blue frames shrank relative to base.
    pub fn to_svg(&self, options: &FlameGraphOptions) -> Result<Vec<u8>> {
        let lines = self.lines();
        render_lines(lines.iter().map(String::as_str), options)
    }
}

/// How one function's self share changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionChange {
    /// Function name.
    pub function: String,
    /// Self share in base (fraction).
    pub base_share: f64,
    /// Self share in head (fraction).
    pub head_share: f64,
    /// `head / base - 1`; `None` for a function absent from base.
    pub relative_change: Option<f64>,
}

/// The compared sample type of `base` and `head` and their folded stacks.
pub fn folded_pair(
    base: &Profile,
    head: &Profile,
    sample_type: Option<&str>,
) -> Result<(String, Folded, Folded)> {
    let (name, indexes) = common_sample_type(&[base, head], sample_type)?;
    Ok((
        name,
        Folded::from_profile(base, indexes[0]),
        Folded::from_profile(head, indexes[1]),
    ))
}

/// The `limit` functions whose self share moved most (in percentage
/// points), largest first; ties by name.
pub fn biggest_changes(
    base: &Profile,
    head: &Profile,
    sample_type: Option<&str>,
    limit: usize,
) -> Result<Vec<FunctionChange>> {
    let (_, indexes) = common_sample_type(&[base, head], sample_type)?;
    let base = RunShares::from_profile(base, indexes[0])?;
    let head = RunShares::from_profile(head, indexes[1])?;
    let names: BTreeMap<&str, ()> = base
        .functions
        .keys()
        .chain(head.functions.keys())
        .map(|n| (n.as_str(), ()))
        .collect();
    let mut changes: Vec<FunctionChange> = names
        .into_keys()
        .map(|function| {
            let base_share = base.share(function, Metric::SelfTime);
            let head_share = head.share(function, Metric::SelfTime);
            FunctionChange {
                function: function.to_owned(),
                base_share,
                head_share,
                relative_change: (base_share > 0.0).then(|| head_share / base_share - 1.0),
            }
        })
        .filter(|c| c.base_share != c.head_share)
        .collect();
    changes.sort_by(|a, b| {
        (b.head_share - b.base_share)
            .abs()
            .total_cmp(&(a.head_share - a.base_share).abs())
            .then_with(|| a.function.cmp(&b.function))
    });
    changes.truncate(limit);
    Ok(changes)
}

/// The changes as an aligned text table.
pub fn changes_table(changes: &[FunctionChange]) -> String {
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            vec![
                c.function.clone(),
                format!("{:.2}%", c.base_share * 100.0),
                format!("{:.2}%", c.head_share * 100.0),
                c.relative_change
                    .map_or_else(|| "new".to_owned(), |r| format!("{:+.1}%", r * 100.0)),
            ]
        })
        .collect();
    let mut out = String::new();
    aligned(
        &mut out,
        &["function (self)", "base %", "head %", "change"],
        1,
        &rows,
    );
    out
}
