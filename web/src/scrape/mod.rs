//! Pull mode: the server scrapes Go's `net/http/pprof` endpoints of the
//! targets its scrape config lists ([`ScrapeConfig`], read from `brasa
//! server --config FILE`), and stores what it fetches like any ingested
//! profile.
//!
//! Every profile of every target is scraped by a task of its own, once
//! per `scrape_interval` of its job, the first time as the server starts.
//! A scrape is one GET bounded by the job's timeout and the server's body
//! and decompression limits ([`crate::limits`]); a target that hangs,
//! fails, or answers something that is not a profile is marked down with
//! the reason, and tried again at its next scrape, while every other
//! scrape goes on. The series of a scraped profile are labelled
//! `__name__` (the `pprof_config` key: `process_cpu`, `memory`, `allocs`,
//! `goroutine`, `mutex`, `block`), `job`, `instance` (the target's
//! `host:port`) and the target's static labels.
//!
//! Go counts allocations, lock contentions and blocking from the start of
//! the process; those profiles (`memory`, `allocs`, `mutex`, `block`) are
//! stored as the change since the previous scrape
//! ([`brasa_profile::delta`]; in-use memory is kept as scraped). The first
//! scrape of each of them stores nothing: it is the baseline of the
//! next. So is the first scrape after the target restarted (its counts
//! went down). CPU profiles (fetched as `?seconds=N`, see
//! [`CPU_PROFILE_GAP`]) and goroutines are stored as they come.
//!
//! The health of each scrape is served at `GET /api/v1/targets` and on
//! `/metrics` (`brasa_scrape_last_success_timestamp_seconds`,
//! `brasa_scrape_duration_seconds`, `brasa_scrape_failures_total`,
//! `brasa_scrape_up`, labelled `job`, `instance` and `profile`).
//!
//! Modules: [`config`] reads the file, `fetch` does the HTTP, `baseline`
//! keeps the deltas, `health` is the table `/api/v1/targets` shows, and
//! this module runs the loops.

mod baseline;
pub mod config;
mod error;
mod fetch;
pub(crate) mod health;

use std::time::{Instant, SystemTime};

use brasa_store::labels::Labels;
use tokio::{sync::watch, task::JoinHandle, time::MissedTickBehavior};

pub use config::{
    ConfigError, Job, ProfileKind, ProfileSource, ScrapeConfig, Target, CPU_PROFILE_GAP,
    DEFAULT_SCRAPE_INTERVAL, DEFAULT_SCRAPE_TIMEOUT,
};

use self::{
    baseline::{Baseline, Next},
    error::ScrapeError,
    fetch::Fetcher,
    health::Scrape,
};
use crate::{
    ingest::{self, Item, Payload},
    metrics::ScrapeLabels,
    state::AppState,
    time::nanos,
};

/// The endpoint name scraped profiles are counted under in the ingest
/// metrics.
const SCRAPE_ENDPOINT: &str = "scrape";

/// The running scrape loops of a server.
pub(crate) struct Scrapers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Scrapers {
    /// Starts one loop per scrape of `state`'s config.
    pub(crate) fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let fetcher = Fetcher::new();
        let scrapes = state.targets().scrapes();
        if !scrapes.is_empty() {
            tracing::info!(
                scrapes = scrapes.len(),
                jobs = state.options().scrape.jobs.len(),
                "pulling profiles"
            );
        }
        let tasks = scrapes
            .into_iter()
            .map(|scrape| {
                tokio::spawn(scrape_loop(
                    state.clone(),
                    fetcher.clone(),
                    scrape,
                    stopped.clone(),
                ))
            })
            .collect();
        Self { stop, tasks }
    }

    /// Stops every loop: requests in flight are dropped, a profile being
    /// stored is stored first.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!("a scrape loop failed: {e}");
            }
        }
    }
}

/// Scrapes one profile of one target every interval until `stop`.
async fn scrape_loop(
    state: AppState,
    fetcher: Fetcher,
    scrape: Scrape,
    mut stop: watch::Receiver<bool>,
) {
    let Scrape {
        job,
        target,
        source,
        health,
    } = scrape;
    let labels = job.series_labels(&target, source.kind);
    let metric = ScrapeLabels {
        job: job.name.clone(),
        instance: target.address.clone(),
        profile: source.kind.name(),
    };
    let timeout = job.timeout(source.kind);
    let mut baseline = Baseline::default();
    let mut tick = tokio::time::interval(job.interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let started = SystemTime::now();
        let clock = Instant::now();
        let fetched = tokio::select! {
            biased;
            _ = stop.changed() => return,
            fetched = fetcher.get(&health.url, timeout, state.limits().max_body_bytes) => fetched,
        };
        let result = match fetched {
            Ok(body) => store(&state, &labels, &mut baseline, body, nanos(started)).await,
            Err(e) => Err(e),
        };
        let took = clock.elapsed();
        state
            .metrics()
            .scraped(&metric, result.is_ok(), took, started);
        let error = result.err().map(|e| brasa_profile::error_chain(&e));
        let before = health.record(nanos(started), took, error.clone());
        match (before, error) {
            (Some(None) | None, Some(error)) => {
                tracing::warn!("scrape of {} failed: {error}", health.url)
            }
            (Some(Some(old)), Some(error)) if old != error => {
                tracing::warn!("scrape of {} failed: {error}", health.url)
            }
            (Some(Some(_)), None) => tracing::info!("scrape of {} works again", health.url),
            _ => {}
        }
    }
}

/// Decodes `body`, takes its delta when it is cumulative, and stores the
/// result under `labels`.
async fn store(
    state: &AppState,
    labels: &Labels,
    baseline: &mut Baseline,
    body: axum::body::Bytes,
    started_nanos: u64,
) -> Result<(), ScrapeError> {
    let limit = state.limits().max_decompressed_bytes;
    let body_bytes = body.len();
    let mut kept = std::mem::take(baseline);
    let (kept, next) = tokio::task::spawn_blocking(move || {
        let next = kept.next(&body, limit, started_nanos);
        (kept, next)
    })
    .await
    .map_err(|e| ScrapeError::Internal(format!("decoding task failed: {e}")))?;
    *baseline = kept;
    let profile = match next? {
        Next::Store(profile) => profile,
        Next::Primed | Next::Restarted => return Ok(()),
    };
    let item = Item {
        labels: labels.clone(),
        payload: Payload::Built(profile),
        time_nanos: None,
    };
    // Scraped targets belong to the default tenant.
    ingest::store(
        state,
        &crate::tenant::Tenant::default(),
        SCRAPE_ENDPOINT,
        body_bytes,
        vec![item],
    )
    .await
    .map_err(ScrapeError::Store)?;
    Ok(())
}
