//! Series labels: the rules a label set must follow, and its canonical
//! (sorted) form.

use std::fmt;

use crate::{Error, Result};

/// Most labels one series may carry. Agent series carry about six; a client
/// that sends more is almost certainly putting per-request data in labels,
/// which would explode the number of series.
pub const MAX_LABELS_PER_SERIES: usize = 32;
/// Longest label name, in bytes (Prometheus names are short identifiers).
pub const MAX_LABEL_NAME_BYTES: usize = 128;
/// Longest label value, in bytes: room for an executable path or a
/// container id, not for a stack trace.
pub const MAX_LABEL_VALUE_BYTES: usize = 1024;
/// The label that holds the profile's name (`process_cpu` in
/// `process_cpu{service="api"}`).
pub const NAME_LABEL: &str = "__name__";
/// The label that holds a series' tenant. The server sets it from the
/// request's credentials or `X-Scope-OrgID`, never from what a client
/// sends as labels; series without it belong to [`DEFAULT_TENANT`].
pub const TENANT_LABEL: &str = "__tenant__";
/// The tenant of series without [`TENANT_LABEL`]: everything stored when
/// tenants are not used.
pub const DEFAULT_TENANT: &str = "";

/// The tenant a series with `labels` belongs to.
pub fn tenant_of(labels: &Labels) -> &str {
    labels.get(TENANT_LABEL).unwrap_or(DEFAULT_TENANT)
}

/// A validated label set, sorted by name, names unique, no empty value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Validates and sorts `pairs`. Pairs with an empty value are dropped
    /// (an empty value means "no such label", as in Prometheus).
    pub fn new<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut labels: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            check_name(&name)?;
            check_value(&name, &value)?;
            if value.is_empty() {
                continue;
            }
            labels.push((name, value));
            if labels.len() > MAX_LABELS_PER_SERIES {
                return Err(Error::Labels(format!(
                    "more than {MAX_LABELS_PER_SERIES} labels; keep per-request data out of series labels"
                )));
            }
        }
        labels.sort();
        if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::Labels(format!("label {:?} is given twice", w[0].0)));
        }
        Ok(Self(labels))
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Canonical bytes: `name 0 value 0 ...`. Names and values never contain
    /// NUL (validation refuses it), so the encoding is unambiguous.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.0 {
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(value.as_bytes());
            out.push(0);
        }
        out
    }

    /// Parses [`Self::to_bytes`] output.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let corrupt = || Error::Corrupt("series labels".to_owned());
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt())?;
        let parts: Vec<&str> = text.split('\0').collect();
        // The encoding ends with a NUL, so the last part is always empty.
        let (last, pairs) = parts.split_last().ok_or_else(corrupt)?;
        if !last.is_empty() || pairs.len() % 2 != 0 {
            return Err(corrupt());
        }
        let labels = pairs
            .chunks(2)
            .map(|p| (p[0].to_owned(), p[1].to_owned()))
            .collect();
        Ok(Self(labels))
    }
}

impl fmt::Display for Labels {
    /// Prometheus style: `name{a="1", b="2"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.get(NAME_LABEL) {
            f.write_str(name)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for (n, v) in self.iter().filter(|(n, _)| *n != NAME_LABEL) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

/// Checks a label name: `[a-zA-Z_][a-zA-Z0-9_]*`, at most
/// [`MAX_LABEL_NAME_BYTES`].
pub fn check_name(name: &str) -> Result<()> {
    let valid_start = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !valid_start || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::Labels(format!(
            "label name {name:?} must match [a-zA-Z_][a-zA-Z0-9_]*"
        )));
    }
    if name.len() > MAX_LABEL_NAME_BYTES {
        return Err(Error::Labels(format!(
            "label name {:?}... is longer than {MAX_LABEL_NAME_BYTES} bytes",
            &name[..32]
        )));
    }
    Ok(())
}

fn check_value(name: &str, value: &str) -> Result<()> {
    if value.len() > MAX_LABEL_VALUE_BYTES {
        return Err(Error::Labels(format!(
            "value of label {name:?} is longer than {MAX_LABEL_VALUE_BYTES} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::Labels(format!(
            "value of label {name:?} contains a control character"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bytes_round_trip() {
        let l = Labels::new([("b", "2"), ("a", "1")]).unwrap();
        assert_eq!(l.to_bytes(), b"a\x001\x00b\x002\x00");
        assert_eq!(Labels::from_bytes(&l.to_bytes()).unwrap(), l);
        assert_eq!(Labels::from_bytes(b"").unwrap(), Labels::default());
        for bad in [&b"a\x00"[..], b"a\x001", b"\xff\x00\x00"] {
            assert!(Labels::from_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
