//! A blocking client of the query API, for the commands that compare
//! profiles held by a server (`brasa check --server`, `brasa diff
//! --server`): one merged pprof profile per selection.

use std::time::Duration;

use brasa_profile::{
    codec::{DecodeOptions, DEFAULT_MAX_DECOMPRESSED_BYTES},
    io::load,
    Profile,
};

/// Upper bound on one query, answer included.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(120);

/// What a query to a Brasa server can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request did not get an answer.
    #[error("no answer from {url}; check that the server runs there and that --server is right")]
    Unreachable {
        /// The server URL.
        url: String,
        /// What the HTTP client saw.
        #[source]
        source: ureq::Error,
    },
    /// The server answered with an error.
    #[error("the server answered {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's `error` message, or its body.
        message: String,
    },
    /// The answer is not a readable profile.
    #[error("the server's answer is not a profile")]
    Answer(#[source] brasa_profile::Error),
}

/// A time range bound as the API takes it: RFC 3339, unix seconds or
/// relative (`now-2h`); `None` leaves the server's default.
pub type Bound<'a> = Option<&'a str>;

/// Queries one Brasa server.
#[derive(Debug, Clone)]
pub struct QueryClient {
    server: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl QueryClient {
    /// A client of `server` (`http://HOST:PORT`), sending `token` as a
    /// bearer token when given.
    pub fn new(server: &str, token: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(QUERY_TIMEOUT))
            .build()
            .into();
        Self {
            server: server.trim_end_matches('/').to_owned(),
            token,
            agent,
        }
    }

    /// Every profile `selector` matches between `from` and `to`, merged,
    /// from `GET /api/v1/profile` as pprof.
    pub fn profile(
        &self,
        selector: &str,
        from: Bound<'_>,
        to: Bound<'_>,
    ) -> Result<Profile, ClientError> {
        let url = format!("{}/api/v1/profile", self.server);
        let mut request = self
            .agent
            .get(&url)
            .query("query", selector)
            .query("format", "pprof");
        for (name, bound) in [("from", from), ("to", to)] {
            if let Some(bound) = bound {
                request = request.query(name, bound);
            }
        }
        if let Some(token) = &self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let unreachable = |source| ClientError::Unreachable {
            url: self.server.clone(),
            source,
        };
        let mut response = request.call().map_err(unreachable)?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(DEFAULT_MAX_DECOMPRESSED_BYTES as u64)
            .read_to_vec()
            .map_err(unreachable)?;
        if !status.is_success() {
            return Err(ClientError::Refused {
                status: status.as_u16(),
                message: error_message(&body),
            });
        }
        load(&body, &DecodeOptions::default()).map_err(ClientError::Answer)
    }
}

/// The `error` of a JSON error answer, else the body as text.
fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned())
}
