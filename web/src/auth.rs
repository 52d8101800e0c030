//! Optional bearer-token authentication.
//!
//! With a token file, every endpoint but `/healthz` wants
//! `Authorization: Bearer TOKEN`; the Pyroscope endpoints also accept HTTP
//! Basic with the token as password, since that is what Pyroscope clients
//! send. Tokens are compared in constant time.

use std::{path::Path, sync::Arc};

use axum::{
    extract::{Request, State},
    http::header::AUTHORIZATION,
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::{Error, Result};

/// Paths that never need a token: liveness probes run without secrets.
const OPEN_PATHS: &[&str] = &["/healthz"];
/// Paths of the Pyroscope protocol, where Basic authentication is accepted.
const BASIC_PATH_PREFIXES: &[&str] = &["/ingest", "/push.v1."];
/// Shortest accepted token: anything shorter is guessable.
pub const MIN_TOKEN_BYTES: usize = 16;

/// The accepted tokens.
#[derive(Clone)]
pub struct Tokens(Vec<Vec<u8>>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} hidden)", self.0.len())
    }
}

/// The tokens of a token file's text, one per line, trimmed; blank lines
/// and `#` comments skipped. The server and the client commands read token
/// files through this alone.
pub fn token_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Tokens {
    /// Tokens from text with one per line (blank lines and `#` comments
    /// skipped).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let tokens: Vec<Vec<u8>> = token_lines(text).map(|l| l.as_bytes().to_vec()).collect();
        if tokens.is_empty() {
            return Err("no token in it; put one token per line".to_owned());
        }
        if let Some(short) = tokens.iter().position(|t| t.len() < MIN_TOKEN_BYTES) {
            return Err(format!(
                "token on non-empty line {} is shorter than {MIN_TOKEN_BYTES} bytes; use long random tokens",
                short + 1
            ));
        }
        Ok(Self(tokens))
    }

    /// Reads a token file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let path_text = || path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::TokenFileUnreadable {
            path: path_text(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| Error::TokenFile {
            path: path_text(),
            reason,
        })
    }

    /// Whether `candidate` is one of the tokens. Every token is compared,
    /// each in constant time, so timing says nothing about which matched.
    pub fn accepts(&self, candidate: &[u8]) -> bool {
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |any, t| any | t.ct_eq(candidate))
            .into()
    }
}

/// The token in an `Authorization` header value, if the scheme is allowed.
fn presented(header: &str, allow_basic: bool) -> Option<Vec<u8>> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().as_bytes().to_vec());
    }
    if allow_basic && scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        return Some(decoded[colon + 1..].to_vec());
    }
    None
}

/// Middleware enforcing `tokens`, when configured (`None` lets every
/// request through).
pub(crate) async fn require_token(
    State(tokens): State<Option<Arc<Tokens>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(tokens) = tokens else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if OPEN_PATHS.contains(&path) {
        return next.run(request).await;
    }
    let allow_basic = BASIC_PATH_PREFIXES.iter().any(|p| path.starts_with(p));
    let ok = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| presented(v, allow_basic))
        .is_some_and(|t| tokens.accepts(&t));
    if ok {
        next.run(request).await
    } else {
        Error::Unauthorized.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks_tokens() {
        let tokens = Tokens::parse("# fleet\nabcdefghijklmnop\n\n0123456789abcdef0\n").unwrap();
        assert!(tokens.accepts(b"abcdefghijklmnop"));
        assert!(tokens.accepts(b"0123456789abcdef0"));
        assert!(!tokens.accepts(b"abcdefghijklmno"));
        assert!(!tokens.accepts(b""));
        assert!(Tokens::parse("\n# nothing\n").is_err());
        assert!(Tokens::parse("short\n").is_err());
    }

    #[test]
    fn reads_bearer_and_basic() {
        assert_eq!(presented("Bearer abc", false), Some(b"abc".to_vec()));
        let basic = base64::engine::general_purpose::STANDARD.encode("user:s3cret:x");
        assert_eq!(
            presented(&format!("Basic {basic}"), true),
            Some(b"s3cret:x".to_vec())
        );
        assert_eq!(presented(&format!("Basic {basic}"), false), None);
        assert_eq!(presented("Basic !!!", true), None);
        assert_eq!(presented("Token abc", true), None);
    }
}
