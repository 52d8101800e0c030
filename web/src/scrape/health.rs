//! The health of every scrape, per (job, target, profile): when it last
//! ran, how long it took and how it failed, as `GET /api/v1/targets`
//! shows it. The scrape loops write it, the handler reads it; it lives in
//! the shared state, so it imports neither.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use serde_json::{json, Map, Value};

use super::config::{Job, ProfileSource, ScrapeConfig, Target, INSTANCE_LABEL, JOB_LABEL};
use crate::time::rfc3339;

/// One scrape to run: a profile of a target of a job, and where its
/// health goes.
#[derive(Clone)]
pub(crate) struct Scrape {
    /// The job, with its interval and timeout.
    pub(crate) job: Arc<Job>,
    /// The target.
    pub(crate) target: Target,
    /// The profile.
    pub(crate) source: ProfileSource,
    /// Its health.
    pub(crate) health: Arc<ProfileHealth>,
}

/// Every scrape of the server's config, with its health.
#[derive(Default)]
pub(crate) struct Targets {
    targets: Vec<TargetHealth>,
}

struct TargetHealth {
    job: Arc<Job>,
    target: Target,
    profiles: Vec<(ProfileSource, Arc<ProfileHealth>)>,
}

/// The health of one profile of one target.
pub(crate) struct ProfileHealth {
    /// Where it is scraped from.
    pub(crate) url: String,
    last: Mutex<Last>,
}

/// The last scrape's outcome.
#[derive(Default, Clone)]
struct Last {
    /// When it started (unix ns); `None` before the first one.
    started_nanos: Option<u64>,
    duration: Duration,
    error: Option<String>,
}

impl ProfileHealth {
    /// Records a scrape that started at `started_nanos` (unix ns) and took
    /// `took`, with its error if it failed. Returns the previous error, or
    /// `None` if the previous scrape succeeded or there was none.
    pub(crate) fn record(
        &self,
        started_nanos: u64,
        took: Duration,
        error: Option<String>,
    ) -> Option<Option<String>> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let had = last.started_nanos.map(|_| last.error.clone());
        *last = Last {
            started_nanos: Some(started_nanos),
            duration: took,
            error,
        };
        had
    }

    fn json(&self, name: &str) -> Value {
        let last = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let health = match (&last.started_nanos, &last.error) {
            (None, _) => "unknown",
            (Some(_), None) => "up",
            (Some(_), Some(_)) => "down",
        };
        json!({
            "name": name,
            "url": self.url,
            "last_scrape": last.started_nanos.map(rfc3339),
            "last_duration_seconds": last.started_nanos.map(|_| last.duration.as_secs_f64()),
            "last_error": last.error,
            "health": health,
        })
    }
}

impl Targets {
    /// Every scrape of `config`, none run yet.
    pub(crate) fn new(config: &ScrapeConfig) -> Self {
        let mut targets = Vec::new();
        for job in &config.jobs {
            let job = Arc::new(job.clone());
            for target in &job.targets {
                let profiles = job
                    .profiles
                    .iter()
                    .map(|source| {
                        let health = ProfileHealth {
                            url: job.url(target, source),
                            last: Mutex::default(),
                        };
                        (source.clone(), Arc::new(health))
                    })
                    .collect();
                targets.push(TargetHealth {
                    job: Arc::clone(&job),
                    target: target.clone(),
                    profiles,
                });
            }
        }
        Self { targets }
    }

    /// Every scrape, by job, target and profile.
    pub(crate) fn scrapes(&self) -> Vec<Scrape> {
        self.targets
            .iter()
            .flat_map(|t| {
                t.profiles.iter().map(|(source, health)| Scrape {
                    job: Arc::clone(&t.job),
                    target: t.target.clone(),
                    source: source.clone(),
                    health: Arc::clone(health),
                })
            })
            .collect()
    }

    /// The `data` of `GET /api/v1/targets`: per target its job, instance,
    /// labels (`job`, `instance` and its static labels) and the health of
    /// each of its profiles.
    pub(crate) fn json(&self) -> Value {
        let data: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                let mut labels = Map::new();
                labels.insert(JOB_LABEL.to_owned(), Value::from(t.job.name.as_str()));
                labels.insert(
                    INSTANCE_LABEL.to_owned(),
                    Value::from(t.target.address.as_str()),
                );
                for (name, value) in &t.target.labels {
                    labels.insert(name.clone(), Value::from(value.as_str()));
                }
                let profiles: Vec<Value> = t
                    .profiles
                    .iter()
                    .map(|(source, health)| health.json(source.kind.name()))
                    .collect();
                json!({
                    "job": t.job.name,
                    "instance": t.target.address,
                    "labels": labels,
                    "profiles": profiles,
                })
            })
            .collect();
        Value::from(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_unknown_then_follows_the_last_scrape() {
        let config = ScrapeConfig::parse(
            "scrape_configs:
  - job_name: goapp
    static_configs:
      - targets: ['127.0.0.1:6060']
        labels: {team: core}
    profiling_config:
      pprof_config:
        process_cpu: {enabled: false}
        allocs: {enabled: false}
        goroutine: {enabled: false}
        mutex: {enabled: false}
        block: {enabled: false}
",
            "brasa.yaml",
        )
        .unwrap();
        let targets = Targets::new(&config);
        let scrapes = targets.scrapes();
        assert_eq!(scrapes.len(), 1);
        let unknown = json!([{
            "job": "goapp",
            "instance": "127.0.0.1:6060",
            "labels": {"instance": "127.0.0.1:6060", "job": "goapp", "team": "core"},
            "profiles": [{
                "name": "memory",
                "url": "http://127.0.0.1:6060/debug/pprof/heap",
                "last_scrape": null,
                "last_duration_seconds": null,
                "last_error": null,
                "health": "unknown",
            }],
        }]);
        assert_eq!(targets.json(), unknown);

        let health = &scrapes[0].health;
        let second = 1_764_151_200_000_000_000;
        assert_eq!(
            health.record(second, Duration::from_millis(250), None),
            None
        );
        let up = &targets.json()[0]["profiles"][0];
        assert_eq!(up["health"], "up");
        assert_eq!(up["last_scrape"], "2025-11-26T10:00:00Z");
        assert_eq!(up["last_duration_seconds"], 0.25);

        let failed = Some("no answer".to_owned());
        assert_eq!(
            health.record(second, Duration::ZERO, failed.clone()),
            Some(None)
        );
        let down = &targets.json()[0]["profiles"][0];
        assert_eq!(
            (&down["health"], &down["last_error"]),
            (&json!("down"), &json!("no answer"))
        );
        assert_eq!(health.record(second, Duration::ZERO, None), Some(failed));
    }
}
