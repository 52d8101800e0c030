//! The one selector parser: Prometheus series selectors
//! (`process_cpu{service="api",version=~"1\\.4.*"}`), parsed by
//! promql-parser and turned into store matchers.

use brasa_store::{labels::NAME_LABEL, matcher::Matcher};
use promql_parser::{label::MatchOp, parser::Expr};

use crate::Error;

/// Selectors that match everything: an empty query or `{}` (which
/// PromQL itself refuses, but which is the natural "all profiles").
const MATCH_ALL: &[&str] = &["", "{}"];
/// What promql-parser says about selectors of only empty-matching matchers.
const NEEDS_NON_EMPTY: &str = "at least one non-empty matcher";
/// A matcher every stored series passes (all have a profile name).
const ANY_NAME: &str = r#"__name__=~".+""#;

/// Parses a selector into matchers. An empty selector (or `{}`) matches
/// every series.
pub fn parse_selector(input: &str) -> Result<Vec<Matcher>, Error> {
    let text = input.trim();
    if MATCH_ALL.contains(&text) {
        return Ok(Vec::new());
    }
    let bad = |reason: String| Error::BadRequest(format!("invalid selector {input:?}: {reason}"));
    match promql_parser::parser::parse(text) {
        Ok(expr) => matchers_of(expr, &bad),
        // PromQL refuses selectors whose every matcher accepts "" (such as
        // `{service!="db"}`) because they would match every series in a
        // TSDB. Here that is a useful query, and every stored series has a
        // profile name, so `__name__=~".+"` (dropped again below) changes
        // nothing but the parser's verdict. Tried once: the message may
        // quote the input, which may quote the message.
        Err(e) if e.contains(NEEDS_NON_EMPTY) && text.starts_with('{') => {
            let widened = format!("{{{ANY_NAME},{}", &text[1..]);
            let expr =
                promql_parser::parser::parse(&widened).map_err(|e| bad(e.trim().to_owned()))?;
            let mut matchers = matchers_of(expr, &bad)?;
            // The added matcher comes first: the selector has no name.
            matchers.remove(0);
            Ok(matchers)
        }
        Err(e) => Err(bad(e.trim().to_owned())),
    }
}

/// The matchers of a parsed selector; `bad` words the errors.
fn matchers_of(expr: Expr, bad: &impl Fn(String) -> Error) -> Result<Vec<Matcher>, Error> {
    let Expr::VectorSelector(selector) = expr else {
        return Err(bad(
            "expected a series selector such as process_cpu{service=\"api\"}, not an expression"
                .to_owned(),
        ));
    };
    if selector.offset.is_some() || selector.at.is_some() {
        return Err(bad(
            "offset and @ modifiers are not supported; use from= and to=".to_owned(),
        ));
    }
    if !selector.matchers.or_matchers.is_empty() {
        return Err(bad("`or` inside a selector is not supported".to_owned()));
    }
    let mut matchers = Vec::with_capacity(selector.matchers.matchers.len() + 1);
    if let Some(name) = &selector.name {
        matchers.push(Matcher::equal(NAME_LABEL, name));
    }
    for m in &selector.matchers.matchers {
        let matcher = match &m.op {
            MatchOp::Equal => Matcher::equal(&m.name, &m.value),
            MatchOp::NotEqual => Matcher::not_equal(&m.name, &m.value),
            MatchOp::Re(_) => Matcher::regex(&m.name, &m.value).map_err(|e| bad(e.to_string()))?,
            MatchOp::NotRe(_) => {
                Matcher::not_regex(&m.name, &m.value).map_err(|e| bad(e.to_string()))?
            }
        };
        matchers.push(matcher);
    }
    Ok(matchers)
}

#[cfg(test)]
mod tests {
    use brasa_store::labels::Labels;

    use super::*;

    fn matches(selector: &str, labels: &[(&str, &str)]) -> bool {
        let labels = Labels::new(labels.iter().copied()).unwrap();
        parse_selector(selector)
            .unwrap()
            .iter()
            .all(|m| m.matches(&labels))
    }

    #[test]
    fn every_operator_and_the_name() {
        let api = [
            ("__name__", "process_cpu"),
            ("service", "api"),
            ("version", "1.4.2"),
        ];
        assert!(matches(r#"process_cpu{service="api"}"#, &api));
        assert!(!matches(r#"memory{service="api"}"#, &api));
        assert!(matches(r#"{service!="db"}"#, &api));
        assert!(!matches(r#"{service!="api"}"#, &api));
        assert_eq!(parse_selector(r#"{service!~"x|y"}"#).unwrap().len(), 1);
        assert!(matches(r#"{version=~"1\\.4.*"}"#, &api));
        assert!(!matches(r#"{version=~"1\\.5.*"}"#, &api));
        assert!(matches(r#"{version!~"2.*"}"#, &api));
        assert!(matches("process_cpu", &api));
        assert!(matches("", &api));
        assert!(matches("{}", &api));
    }

    #[test]
    fn a_regex_quoting_the_parser_message_is_an_error_not_a_stack_overflow() {
        // Found by the `selector` fuzz target: the error for this bad regex
        // quotes it, the quote holds what the empty-matcher retry looked
        // for, and the retry recursed until the stack overflowed.
        let error = parse_selector(r#"{a!~")at least one non-empty matcher"}"#).unwrap_err();
        assert!(error.to_string().contains("illegal regex"), "{error}");
        let all_empty = parse_selector(r#"{service!="db"}"#).unwrap();
        assert_eq!(all_empty.len(), 1);
    }

    #[test]
    fn malformed_selectors_explain_themselves() {
        for (bad, hint) in [
            (r#"{service="api""#, "invalid selector"),
            (r#"rate(x[5m])"#, "expected a series selector"),
            (r#"x offset 5m"#, "offset"),
            (r#"{a=~"("}"#, "invalid selector"),
            (r#"{a="1" or b="2"}"#, "or"),
            ("1 + 2", "expected a series selector"),
        ] {
            let err = parse_selector(bad).unwrap_err().to_string();
            assert!(err.contains(hint), "{bad}: {err}");
        }
    }
}
