//! Optional authentication, by tokens with scopes ([`tokens`]) and, for
//! the web UI, sessions ([`session`]).
//!
//! With a token file, every data endpoint wants `Authorization: Bearer
//! TOKEN` or a session cookie, and the token's scopes must allow what the
//! endpoint does: `ingest` to push, `read` to query, `admin` for
//! `/metrics` and `/api/v1/targets` (and everything else). The Pyroscope
//! endpoints also accept HTTP Basic with the token as password, since
//! that is what Pyroscope clients send. `/healthz`, the page and its files
//! (they hold no data) and the sign-in endpoint are open.
//!
//! The token file is re-read when it changes (checked every second) and
//! on SIGHUP; a file that no longer parses is logged and the tokens read
//! before stay in force.

pub mod session;
pub mod tokens;

use std::{
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    extract::{Request, State},
    http::header::{AUTHORIZATION, COOKIE},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;

pub use tokens::{token_lines, Grant, Scope, Scopes, TokenLine, Tokens, MIN_TOKEN_BYTES};

use crate::{
    endpoint_kind::{endpoint_kind, EndpointKind, PYROSCOPE_PATH_PREFIXES},
    tenant::TokenTenant,
    Error,
};

/// How often the token file is checked for changes.
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The scope a kind of request needs; `None` for open endpoints.
fn required_scope(kind: EndpointKind) -> Option<Scope> {
    match kind {
        EndpointKind::Open => None,
        EndpointKind::Ingest => Some(Scope::Ingest),
        EndpointKind::Query => Some(Scope::Read),
        EndpointKind::Operations => Some(Scope::Admin),
    }
}

/// The server's tokens and sessions.
pub struct Auth {
    tokens: RwLock<Arc<Tokens>>,
    sessions: Mutex<Sessions>,
}

use session::Sessions;

impl Auth {
    /// Authentication with `tokens`.
    pub fn new(tokens: Tokens) -> Self {
        Self {
            tokens: RwLock::new(Arc::new(tokens)),
            sessions: Mutex::new(Sessions::default()),
        }
    }

    fn tokens(&self) -> Arc<Tokens> {
        self.tokens
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// What a token grants, if it is accepted.
    pub fn grant_of(&self, token: &[u8]) -> Option<Grant> {
        self.tokens().grant_of(token)
    }

    /// The scopes of a token, if it is accepted.
    pub fn scopes_of(&self, token: &[u8]) -> Option<Scopes> {
        self.tokens().scopes_of(token)
    }

    /// Opens a session for an accepted token that may read (the page
    /// shows data and nothing else): the cookie's id.
    pub fn sign_in(&self, token: &[u8]) -> Result<String, Error> {
        match self.scopes_of(token) {
            None => return Err(Error::Unauthorized),
            Some(scopes) if !scopes.allow(Scope::Read) => {
                return Err(Error::Forbidden(Scope::Read.name()))
            }
            Some(_) => {}
        }
        self.lock_sessions()
            .open(token, Instant::now())
            .ok_or_else(|| Error::Internal("no randomness for a session id".to_owned()))
    }

    /// Ends the session of a `Cookie` header, if any.
    pub fn sign_out(&self, cookie_header: &str) {
        if let Some(id) = session::session_id(cookie_header) {
            self.lock_sessions().close(id);
        }
    }

    /// What a live session grants (what its token grants now).
    pub fn session_grant(&self, cookie_header: &str) -> Option<Grant> {
        let id = session::session_id(cookie_header)?;
        let sessions = self.lock_sessions();
        let token = sessions.token(id, Instant::now())?;
        self.grant_of(token)
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Re-reads the token file, if the tokens came from one; keeps the
    /// current tokens when it does not read or parse.
    pub fn reload(&self) -> Result<(), Error> {
        let Some(path) = self.tokens().source().map(ToOwned::to_owned) else {
            return Ok(());
        };
        let tokens = Tokens::from_file(&path)?;
        *self
            .tokens
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(tokens);
        Ok(())
    }

    /// Re-reads the token file whenever it changes or SIGHUP arrives,
    /// telling `reloaded` whether it worked: a future for the server to
    /// run as a task. SIGHUP is caught from the moment this returns.
    pub fn watch(
        self: Arc<Self>,
        reloaded: impl Fn(bool) + Send + 'static,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let path = self.tokens().source().map(ToOwned::to_owned);
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        async move {
            let Some(path) = path else { return };
            let stamp = |path: &std::path::Path| {
                std::fs::metadata(path)
                    .ok()
                    .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
            };
            let mut last = stamp(&path);
            let mut tick = tokio::time::interval(RELOAD_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let signalled = tokio::select! {
                    _ = tick.tick() => false,
                    Some(()) = async {
                        match hangup.as_mut() {
                            Some(h) => h.recv().await,
                            None => std::future::pending().await,
                        }
                    } => true,
                };
                let now = stamp(&path);
                if !signalled && now == last {
                    continue;
                }
                last = now;
                let outcome = self.reload();
                reloaded(outcome.is_ok());
                match outcome {
                    Ok(()) => tracing::info!(path = %path.display(), "token file re-read"),
                    Err(e) => {
                        tracing::error!("{}; the tokens read before stay in force", e.report())
                    }
                }
            }
        }
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

/// What a request's credentials grant: its `Authorization` header, else
/// its session cookie.
fn request_grant(auth: &Auth, request: &Request) -> Option<Grant> {
    let path = request.uri().path();
    // Basic is what Pyroscope clients send, so it is for their endpoints only.
    let allow_basic = PYROSCOPE_PATH_PREFIXES.iter().any(|p| path.starts_with(p));
    let headers = request.headers();
    if let Some(header) = headers.get(AUTHORIZATION) {
        let token = header
            .to_str()
            .ok()
            .and_then(|v| presented(v, allow_basic))?;
        return auth.grant_of(&token);
    }
    let cookie = headers.get(COOKIE)?.to_str().ok()?;
    auth.session_grant(cookie)
}

/// Middleware enforcing `auth`, when configured (`None` lets every
/// request through). A request whose token is bound to a tenant carries
/// it on ([`TokenTenant`]).
pub(crate) async fn require_token(
    State(auth): State<Option<Arc<Auth>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(auth) = auth else {
        return next.run(request).await;
    };
    let kind = endpoint_kind(request.method(), request.uri().path());
    let Some(needed) = required_scope(kind) else {
        return next.run(request).await;
    };
    match request_grant(&auth, &request) {
        Some(grant) if grant.scopes.allow(needed) => {
            if let Some(tenant) = grant.tenant {
                request.extensions_mut().insert(TokenTenant(tenant));
            }
            next.run(request).await
        }
        Some(_) => Error::Forbidden(needed.name()).into_response(),
        None => Error::Unauthorized.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
