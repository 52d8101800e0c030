//! Label matchers: the store's side of a Prometheus selector. Parsing the
//! selector text is the web layer's job; the store only evaluates.

use regex::Regex;

use crate::{labels::Labels, Error, Result};

/// How a matcher compares a label's value.
#[derive(Debug, Clone)]
pub enum MatchOp {
    /// `=`: equal.
    Equal(String),
    /// `!=`: not equal.
    NotEqual(String),
    /// `=~`: the whole value matches the regex.
    Regex(Regex),
    /// `!~`: the whole value does not match the regex.
    NotRegex(Regex),
}

/// One `name op value` condition. A missing label has the value `""`, as in
/// Prometheus, so `{team!="x"}` matches series without `team`.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
}

impl Matcher {
    /// `name = value`.
    pub fn equal(name: &str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            op: MatchOp::Equal(value.to_owned()),
        }
    }

    /// `name != value`.
    pub fn not_equal(name: &str, value: &str) -> Self {
        Self {
            name: name.to_owned(),
            op: MatchOp::NotEqual(value.to_owned()),
        }
    }

    /// `name =~ pattern` (anchored at both ends).
    pub fn regex(name: &str, pattern: &str) -> Result<Self> {
        Ok(Self {
            name: name.to_owned(),
            op: MatchOp::Regex(anchored(pattern)?),
        })
    }

    /// `name !~ pattern` (anchored at both ends).
    pub fn not_regex(name: &str, pattern: &str) -> Result<Self> {
        Ok(Self {
            name: name.to_owned(),
            op: MatchOp::NotRegex(anchored(pattern)?),
        })
    }

    /// Whether `value` (`""` for a missing label) satisfies this matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Equal(v) => value == v,
            MatchOp::NotEqual(v) => value != v,
            MatchOp::Regex(re) => re.is_match(value),
            MatchOp::NotRegex(re) => !re.is_match(value),
        }
    }

    /// Whether a series with `labels` satisfies this matcher.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).unwrap_or(""))
    }
}

/// True when every matcher accepts `labels`.
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Largest compiled regex program: selectors come from HTTP queries, and a
/// pathological pattern must fail fast instead of eating memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn anchored(pattern: &str) -> Result<Regex> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| Error::Regex {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })
}
