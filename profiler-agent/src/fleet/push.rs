//! Delivery of profiles to the server's `POST /api/v1/ingest`, through the
//! spool.
//!
//! Every profile goes to the spool first and leaves it only once the server
//! has answered 2xx, so an outage, a server restart or an agent restart
//! loses nothing that fits in the spool. Transient failures (no connection,
//! timeouts, 5xx, 429) keep the profile and back off, at least as long as
//! the server's `Retry-After` asks; other 4xx answers mean the server will
//! never take this profile, so it is dropped and counted.

use std::time::{Duration, Instant};

use super::{
    backoff::{Backoff, BackoffOptions},
    spool::{Spool, SpooledProfile},
};
use crate::Result;

/// Where and how to push.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PushOptions {
    /// Server base URL, e.g. `http://127.0.0.1:7171`.
    pub server: String,
    /// Bearer token, when the server wants one.
    pub token: Option<String>,
    /// Time limit of one request. Default: 10 s.
    pub timeout: Duration,
    /// Backoff between attempts after failures.
    pub backoff: BackoffOptions,
}

impl PushOptions {
    /// Options for `server` with the defaults.
    pub fn new(server: &str) -> Self {
        Self {
            server: server.trim_end_matches('/').to_owned(),
            token: None,
            timeout: Duration::from_secs(10),
            backoff: BackoffOptions::default(),
        }
    }
}

/// Counters for the agent's `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushStats {
    /// Profiles the server acknowledged.
    pub pushed: u64,
    /// Attempts that failed transiently (kept for retry).
    pub failures: u64,
    /// Profiles the server refused for good (4xx other than 429).
    pub rejected: u64,
}

enum Outcome {
    Delivered,
    /// Why, and how long the server asked to wait (`Retry-After`).
    Transient(String, Option<Duration>),
    Rejected(String),
}

/// Longest `Retry-After` honoured: a server asking for more is waited on
/// no longer than the backoff's own cap.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The wait a `Retry-After` value asks for, in delay-seconds form (what
/// Brasa and most servers send; an HTTP date is ignored).
fn retry_after(value: &str) -> Option<Duration> {
    let seconds: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Pushes profiles, spooling them while the server cannot take them.
pub struct Pusher {
    options: PushOptions,
    agent: ureq::Agent,
    spool: Spool,
    backoff: Backoff,
    retry_at: Option<Instant>,
    stats: PushStats,
    last_error: Option<String>,
}

impl Pusher {
    /// A pusher delivering through `spool`.
    pub fn new(options: PushOptions, spool: Spool) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let seed = u64::from(std::process::id()) ^ crate::clock::unix_nanos() as u64;
        Self {
            backoff: Backoff::new(options.backoff, seed),
            options,
            agent,
            spool,
            retry_at: None,
            stats: PushStats::default(),
            last_error: None,
        }
    }

    /// Delivery counters.
    pub fn stats(&self) -> PushStats {
        self.stats
    }

    /// The spool, for its size and drop counters.
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// The most recent failure, for logs.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Queues `profile` and delivers whatever is due. Fails only when the
    /// spool itself cannot be written.
    pub fn submit(&mut self, profile: &SpooledProfile) -> Result<()> {
        self.spool.push(profile)?;
        self.flush();
        Ok(())
    }

    /// Delivers spooled profiles, oldest first, unless backing off. Stops at
    /// the first transient failure. Returns how many were delivered.
    pub fn flush(&mut self) -> usize {
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return 0;
        }
        let mut delivered = 0;
        while let Some(profile) = self.spool.oldest() {
            match self.send(&profile) {
                Outcome::Delivered => {
                    self.spool.remove_oldest();
                    self.stats.pushed += 1;
                    delivered += 1;
                    self.backoff.succeeded();
                    self.retry_at = None;
                }
                Outcome::Rejected(why) => {
                    self.spool.remove_oldest();
                    self.stats.rejected += 1;
                    self.last_error = Some(why);
                }
                Outcome::Transient(why, asked) => {
                    self.stats.failures += 1;
                    self.last_error = Some(why);
                    let wait = self.backoff.failed().max(asked.unwrap_or_default());
                    self.retry_at = Some(Instant::now() + wait);
                    break;
                }
            }
        }
        delivered
    }

    fn send(&self, profile: &SpooledProfile) -> Outcome {
        let url = format!("{}/api/v1/ingest", self.options.server);
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/octet-stream");
        for (key, value) in &profile.labels {
            request = request.query(key, value);
        }
        if let Some(token) = &self.options.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        match request.send(&profile.body[..]) {
            Ok(response) => {
                let status = response.status().as_u16();
                match status {
                    200..=299 => Outcome::Delivered,
                    429 | 500..=599 => {
                        let asked = response
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(retry_after);
                        Outcome::Transient(format!("{url}: HTTP {status}"), asked)
                    }
                    _ => {
                        let body = response.into_body().read_to_string().unwrap_or_default();
                        Outcome::Rejected(format!("{url}: HTTP {status}: {}", body.trim()))
                    }
                }
            }
            Err(error) => Outcome::Transient(format!("{url}: {error}"), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_within_a_cap() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(retry_after("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after("-1"), None);
    }
}
