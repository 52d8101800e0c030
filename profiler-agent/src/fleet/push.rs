//! Delivery of profiles to the server's `POST /api/v1/ingest`, through the
//! spool.
//!
//! Every profile goes to the spool first and leaves it only once the server
//! has answered 2xx, so an outage, a server restart or an agent restart
//! loses nothing that fits in the spool. Transient failures (no connection,
//! timeouts, 5xx, 429) keep the profile and back off, at least as long as
//! the server's `Retry-After` asks; other 4xx answers mean the server will
//! never take this profile, so it is dropped and counted. The agent
//! delivers on a thread of its own ([`Pusher::start`]): the sampling side
//! only writes to the spool, so a server that hangs never holds it up.
//! Once the server takes a profile, a backlog goes
//! [`DELIVERY_CONCURRENCY`] at a time.
//!
//! Given several servers, the agent sticks to one while it takes
//! profiles and moves to the next at once when it fails transiently; it
//! backs off only once every server has failed in a row, and the spool
//! covers an outage of them all.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Condvar, Mutex, MutexGuard,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use super::{
    backoff::{Backoff, BackoffOptions},
    spool::{Spool, SpoolId, SpooledProfile},
};
use crate::{Error, Result};

/// Default time limit of one delivery attempt.
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to push.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PushOptions {
    /// Server base URLs, e.g. `http://127.0.0.1:7171`, in the order they
    /// are tried; at least one.
    pub servers: Vec<String>,
    /// Bearer token, when the server wants one.
    pub token: Option<String>,
    /// Time limit of one request. Default: [`DEFAULT_PUSH_TIMEOUT`].
    pub timeout: Duration,
    /// Backoff between attempts after failures.
    pub backoff: BackoffOptions,
}

impl PushOptions {
    /// Options for `servers` (tried in order) with the defaults.
    ///
    /// # Panics
    /// When `servers` is empty.
    pub fn new<S: AsRef<str>>(servers: impl IntoIterator<Item = S>) -> Self {
        let servers: Vec<String> = servers
            .into_iter()
            .map(|s| s.as_ref().trim_end_matches('/').to_owned())
            .collect();
        assert!(
            !servers.is_empty(),
            "an agent pushes to at least one server"
        );
        Self {
            servers,
            token: None,
            timeout: DEFAULT_PUSH_TIMEOUT,
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
    /// Times delivery moved on to the next server after a failure.
    pub failovers: u64,
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

/// Profiles sent at once while a backlog waits: the server makes one
/// commit to disk serve concurrent pushes, so a spool filled during an
/// outage drains several times faster than one push at a time, while a
/// fleet coming back all at once still asks little of each server.
pub const DELIVERY_CONCURRENCY: usize = 4;

/// How long the delivery thread sleeps when nothing waits, at most: a
/// submit or a stop wakes it at once.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// What the sampling side and the delivery side share.
#[derive(Debug)]
struct Shared {
    spool: Mutex<Spool>,
    /// Signalled when a profile is spooled or delivery should stop.
    wake: Condvar,
    stats: Mutex<PushStats>,
    stopping: AtomicBool,
}

/// The spool as the sampling side sees it: queueing a profile touches the
/// disk, never the network, so a server that hangs cannot hold up
/// sampling.
#[derive(Debug, Clone)]
pub struct Outbox(Arc<Shared>);

impl Outbox {
    fn new(spool: Spool) -> Self {
        Self(Arc::new(Shared {
            spool: Mutex::new(spool),
            wake: Condvar::new(),
            stats: Mutex::new(PushStats::default()),
            stopping: AtomicBool::new(false),
        }))
    }

    /// Queues `profile` for delivery. Fails only when the spool itself
    /// cannot be written.
    pub fn submit(&self, profile: &SpooledProfile) -> Result<()> {
        self.spool().push(profile)?;
        self.0.wake.notify_all();
        Ok(())
    }

    /// The spool, for its size and counters; held only for disk work.
    pub fn spool(&self) -> MutexGuard<'_, Spool> {
        self.0.spool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivery counters.
    pub fn stats(&self) -> PushStats {
        *self.0.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, count: impl FnOnce(&mut PushStats)) {
        count(&mut self.0.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn stopping(&self) -> bool {
        self.0.stopping.load(Ordering::SeqCst)
    }
}

/// Pushes profiles, spooling them while the server cannot take them.
/// [`Pusher::flush`] delivers on the caller's thread; [`Pusher::start`]
/// moves delivery to a thread of its own, as the agent runs it.
pub struct Pusher {
    options: PushOptions,
    agent: ureq::Agent,
    outbox: Outbox,
    backoff: Backoff,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    /// The server pushed to, an index into the options' servers.
    server: usize,
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
            outbox: Outbox::new(spool),
            retry_at: None,
            last_error: None,
            server: 0,
        }
    }

    /// Delivery counters.
    pub fn stats(&self) -> PushStats {
        self.outbox.stats()
    }

    /// The spool, for its size and drop counters.
    pub fn spool(&self) -> MutexGuard<'_, Spool> {
        self.outbox.spool()
    }

    /// The most recent failure, for logs.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Queues `profile` and delivers whatever is due, on this thread. Fails
    /// only when the spool itself cannot be written.
    pub fn submit(&mut self, profile: &SpooledProfile) -> Result<()> {
        self.outbox.submit(profile)?;
        self.flush();
        Ok(())
    }

    /// Whether the backoff lets the next attempt go now.
    fn due(&self) -> bool {
        self.retry_at.is_none_or(|at| Instant::now() >= at)
    }

    /// The base URL of the server pushed to.
    pub fn server(&self) -> &str {
        &self.options.servers[self.server]
    }

    /// Delivers spooled profiles, oldest first, unless backing off. A
    /// transient failure moves on to the next server; once every server
    /// has failed in a row, backs off and stops. Stops too once delivery
    /// is stopping and the last request timeout has passed. Returns how
    /// many were delivered. The spool is not locked while a request is on
    /// the wire.
    pub fn flush(&mut self) -> usize {
        if !self.due() {
            return 0;
        }
        let mut delivered = 0;
        let mut give_up_at = None;
        // Servers that failed in a row in this flush.
        let mut failed_servers = 0;
        loop {
            if self.outbox.stopping()
                && Instant::now()
                    >= *give_up_at.get_or_insert(Instant::now() + self.options.timeout)
            {
                break;
            }
            // One at a time until the server has taken one: a server that
            // is down costs a single attempt, not one per waiting profile.
            let at_once = if self.retry_at.is_none() && delivered > 0 {
                DELIVERY_CONCURRENCY
            } else {
                1
            };
            let batch = self.outbox.spool().oldest_n(at_once);
            if batch.is_empty() {
                break;
            }
            let outcomes = self.send_all(&batch);
            // The first transient failure's `Retry-After`, when one failed.
            let mut failed: Option<Option<Duration>> = None;
            for ((id, _), outcome) in batch.iter().zip(outcomes) {
                match outcome {
                    Outcome::Delivered => {
                        self.outbox.spool().remove(*id);
                        self.outbox.count(|s| s.pushed += 1);
                        delivered += 1;
                        self.backoff.succeeded();
                    }
                    Outcome::Rejected(why) => {
                        self.outbox.spool().remove(*id);
                        self.outbox.count(|s| s.rejected += 1);
                        self.last_error = Some(why);
                    }
                    Outcome::Transient(why, asked) => {
                        self.outbox.count(|s| s.failures += 1);
                        self.last_error = Some(why);
                        failed.get_or_insert(asked);
                    }
                }
            }
            if let Some(asked) = failed {
                failed_servers += 1;
                let servers = self.options.servers.len();
                if servers > 1 {
                    self.server = (self.server + 1) % servers;
                    self.outbox.count(|s| s.failovers += 1);
                }
                if failed_servers < servers {
                    continue;
                }
                let wait = self.backoff.failed().max(asked.unwrap_or_default());
                self.retry_at = Some(Instant::now() + wait);
                break;
            }
            failed_servers = 0;
            self.retry_at = None;
        }
        delivered
    }

    /// Sends `batch` (one thread per profile past the first) and returns
    /// each one's outcome, in order.
    fn send_all(&self, batch: &[(SpoolId, SpooledProfile)]) -> Vec<Outcome> {
        if let [(_, profile)] = batch {
            return vec![self.send(profile)];
        }
        std::thread::scope(|scope| {
            let sending: Vec<_> = batch
                .iter()
                .map(|(_, profile)| scope.spawn(move || self.send(profile)))
                .collect();
            sending
                .into_iter()
                .map(|s| {
                    s.join()
                        .unwrap_or_else(|_| Outcome::Transient("the send panicked".into(), None))
                })
                .collect()
        })
    }

    /// Moves delivery to a thread of its own; the returned handle queues
    /// profiles and stops the thread.
    pub fn start(self) -> Result<Delivery> {
        let outbox = self.outbox.clone();
        let thread = std::thread::Builder::new()
            .name("brasa-push".into())
            .spawn(move || self.deliver())
            .map_err(|source| Error::Io {
                action: "starting the delivery thread".into(),
                source,
            })?;
        Ok(Delivery {
            outbox,
            thread: Some(thread),
        })
    }

    /// The delivery thread: flush whenever something waits and the
    /// backoff allows, sleep otherwise; on stop, one last attempt bounded
    /// by the request timeout, then return. What is left stays spooled for
    /// the next run.
    fn deliver(mut self) {
        loop {
            if self.outbox.stopping() {
                if self.due() {
                    self.flush();
                }
                return;
            }
            let shared = Arc::clone(&self.outbox.0);
            let spool = shared.spool.lock().unwrap_or_else(|p| p.into_inner());
            let wait = match self.retry_at {
                _ if spool.is_empty() => IDLE_WAIT,
                Some(at) => at.saturating_duration_since(Instant::now()),
                None => Duration::ZERO,
            };
            if wait.is_zero() && !self.outbox.stopping() {
                drop(spool);
                self.flush();
                if let Some(error) = self.last_error.take() {
                    eprintln!("brasa agent: delivery failed, will retry: {error}");
                }
            } else if !self.outbox.stopping() {
                drop(shared.wake.wait_timeout(spool, wait));
            }
        }
    }

    fn send(&self, profile: &SpooledProfile) -> Outcome {
        let url = format!("{}/api/v1/ingest", self.server());
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

/// The delivery thread of [`Pusher::start`] and the agent's [`Outbox`].
pub struct Delivery {
    outbox: Outbox,
    thread: Option<JoinHandle<()>>,
}

impl Delivery {
    /// Where the agent queues its profiles.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Stops the thread after one last attempt at what is due (bounded by
    /// the request timeout) and waits for it.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        {
            // Under the lock: the thread is either before its check or
            // waiting, never in between, so the wake-up is not missed.
            let _spool = self.outbox.spool();
            self.outbox.0.stopping.store(true, Ordering::SeqCst);
            self.outbox.0.wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.stop();
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
