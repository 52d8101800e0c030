//! Sessions of the web UI: a person signs in once with a token, and the
//! browser then holds a random session id in an HttpOnly, SameSite=Strict
//! cookie, so no token sits in the page, its URLs or its storage.
//!
//! Sessions live in the server's memory, bounded in number and lifetime;
//! a restart signs everyone out. A session stays tied to its token: when
//! the token leaves the token file, the session stops working, and its
//! scopes are the token's current ones.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use subtle::ConstantTimeEq;

/// Name of the session cookie.
pub const COOKIE: &str = "brasa_session";
/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Most sessions held at once; signing in past it ends the oldest.
pub const MAX_SESSIONS: usize = 10_000;

/// Random bytes of a session id.
const ID_BYTES: usize = 32;

struct Session {
    token: Vec<u8>,
    expires: Instant,
}

/// The open sessions.
#[derive(Default)]
pub struct Sessions(HashMap<String, Session>);

impl Sessions {
    /// Opens a session for `token`; returns its id, or `None` when the
    /// system has no randomness to give.
    pub fn open(&mut self, token: &[u8], now: Instant) -> Option<String> {
        let mut bytes = [0u8; ID_BYTES];
        getrandom::fill(&mut bytes).ok()?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.0.retain(|_, s| s.expires > now);
        if self.0.len() >= MAX_SESSIONS {
            if let Some(oldest) = self
                .0
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(id, _)| id.clone())
            {
                self.0.remove(&oldest);
            }
        }
        self.0.insert(
            id.clone(),
            Session {
                token: token.to_vec(),
                expires: now + SESSION_LIFETIME,
            },
        );
        Some(id)
    }

    /// The token of a live session.
    pub fn token(&self, id: &str, now: Instant) -> Option<&[u8]> {
        let (key, session) = self.0.get_key_value(id)?;
        // The map found it by hash; the bytes are compared in constant time.
        let same: bool = key.as_bytes().ct_eq(id.as_bytes()).into();
        (same && session.expires > now).then_some(session.token.as_slice())
    }

    /// Ends a session.
    pub fn close(&mut self, id: &str) {
        self.0.remove(id);
    }
}

/// The session id in a `Cookie` header, if any.
pub fn session_id(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| v.len() == 2 * ID_BYTES && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value that gives the browser session `id`.
pub fn set_cookie(id: &str) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    )
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_expire_and_close() {
        let mut sessions = Sessions::default();
        let now = Instant::now();
        let id = sessions.open(b"token-a", now).unwrap();
        assert_eq!(id.len(), 64);
        assert_eq!(sessions.token(&id, now), Some(&b"token-a"[..]));
        assert_eq!(sessions.token(&id, now + SESSION_LIFETIME), None);
        let other = sessions.open(b"token-b", now).unwrap();
        assert_ne!(id, other);
        sessions.close(&id);
        assert_eq!(sessions.token(&id, now), None);
        assert_eq!(sessions.token(&other, now), Some(&b"token-b"[..]));
    }

    #[test]
    fn the_oldest_session_goes_when_full() {
        let mut sessions = Sessions::default();
        let now = Instant::now();
        let first = sessions.open(b"t", now).unwrap();
        for i in 1..MAX_SESSIONS {
            sessions
                .open(b"t", now + Duration::from_millis(i as u64))
                .unwrap();
        }
        let later = now + Duration::from_secs(60);
        assert!(sessions.token(&first, later).is_some());
        sessions.open(b"t", later).unwrap();
        assert!(sessions.token(&first, later).is_none());
        assert_eq!(sessions.0.len(), MAX_SESSIONS);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let id = "ab".repeat(32);
        let header = format!("theme=dark; {COOKIE}={id}; other=1");
        assert_eq!(session_id(&header), Some(id.as_str()));
        assert_eq!(session_id("brasa_session=short"), None);
        assert_eq!(session_id("theme=dark"), None);
        assert!(set_cookie(&id).contains("HttpOnly; SameSite=Strict"));
    }
}
