//! The one extractor for query parameters. Handlers read them through
//! [`Params`], so a malformed query string, or a parameter whose value does
//! not parse, is the crate's JSON 400 with a message naming the parameter.

use std::fmt::Display;

use axum::{
    extract::{FromRequestParts, Query},
    http::{request::Parts, Uri},
};

use crate::{Error, Result};

/// The query parameters of a request, in the order given. A parameter
/// given more than once has its last value, except where the pairs are
/// taken whole (ingest labels, where a repeat is refused).
pub(crate) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        Self::from_uri(&parts.uri)
    }
}

impl Params {
    /// The parameters of `uri`'s query string.
    pub(crate) fn from_uri(uri: &Uri) -> Result<Self> {
        let Query(pairs) = Query::try_from_uri(uri)
            .map_err(|e| Error::BadRequest(format!("malformed query string: {}", e.body_text())))?;
        Ok(Self(pairs))
    }

    /// The last value of parameter `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first of `names` that is given (they are in priority order),
    /// with its value.
    pub(crate) fn first_of<'n>(&self, names: &[&'n str]) -> Option<(&'n str, &str)> {
        names
            .iter()
            .find_map(|name| self.get(name).map(|value| (*name, value)))
    }

    /// Parameter `name` parsed by `parse`, `None` when absent; a value that
    /// does not parse is a 400 that names the parameter.
    pub(crate) fn parse<T, E: Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> std::result::Result<T, E>,
    ) -> Result<Option<T>> {
        self.get(name)
            .map(|value| parse(value).map_err(|e| Error::BadRequest(format!("`{name}`: {e}"))))
            .transpose()
    }

    /// Which of `choices` parameter `name` picks; the first choice when it
    /// is absent. Any other value is a 400 listing the choices.
    pub(crate) fn one_of<T: Copy>(&self, name: &str, choices: &[(&str, T)]) -> Result<T> {
        let Some(value) = self.get(name) else {
            return Ok(choices[0].1);
        };
        if let Some((_, choice)) = choices.iter().find(|(text, _)| *text == value) {
            return Ok(*choice);
        }
        let names: Vec<&str> = choices.iter().map(|(text, _)| *text).collect();
        let listed = match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        Err(Error::BadRequest(format!(
            "unknown {name} {value:?}; use {listed}"
        )))
    }

    /// Every pair, in the order given.
    pub(crate) fn into_pairs(self) -> Vec<(String, String)> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    async fn params(query: &str) -> Params {
        let (mut parts, ()) = Request::builder()
            .uri(format!("/x?{query}"))
            .body(())
            .unwrap()
            .into_parts();
        Params::from_request_parts(&mut parts, &()).await.unwrap()
    }

    #[tokio::test]
    async fn the_last_value_wins_and_pairs_keep_their_order() {
        let p = params("a=1&b=%7B%7D&a=2").await;
        assert_eq!(p.get("a"), Some("2"));
        assert_eq!(p.get("b"), Some("{}"));
        assert_eq!(p.get("c"), None);
        assert_eq!(p.first_of(&["c", "b", "a"]), Some(("b", "{}")));
        assert_eq!(
            p.into_pairs()[..2],
            [("a".into(), "1".into()), ("b".into(), "{}".into())]
        );
    }

    #[tokio::test]
    async fn bad_values_name_their_parameter() {
        let p = params("step=soon&format=png").await;
        let err = p.parse("step", crate::time::parse_duration).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(
            err.to_string().starts_with("`step`: invalid duration"),
            "{err}"
        );
        assert_eq!(
            p.parse("absent", crate::time::parse_duration).unwrap(),
            None
        );
        let choices = [("pprof", 0), ("svg", 1), ("json", 2)];
        let err = p.one_of("format", &choices).unwrap_err().to_string();
        assert_eq!(err, r#"unknown format "png"; use pprof, svg or json"#);
        assert_eq!(params("").await.one_of("format", &choices).unwrap(), 0);
        assert_eq!(
            params("format=json")
                .await
                .one_of("format", &choices)
                .unwrap(),
            2
        );
    }
}
