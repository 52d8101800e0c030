//! The scrape config of pull mode (`brasa server --config FILE`): a YAML
//! file whose `scrape_configs` are in the shape Parca documents for its
//! `parca.yaml`, read into [`ScrapeConfig`].
//!
//! ```yaml
//! scrape_configs:
//!   - job_name: goapp
//!     scrape_interval: 10s        # DEFAULT_SCRAPE_INTERVAL
//!     scrape_timeout: 5s          # DEFAULT_SCRAPE_TIMEOUT, at most the interval
//!     scheme: http                # the only scheme
//!     static_configs:
//!       - targets: ["127.0.0.1:6060"]
//!         labels: {team: core}
//!     profiling_config:
//!       path_prefix: /app         # before every path; default none
//!       pprof_config:
//!         process_cpu: {enabled: true, path: /debug/pprof/profile}
//!         memory: {enabled: false}
//! ```
//!
//! The six profiles of `pprof_config` ([`ProfileKind`]) are all enabled
//! by default, at the paths of Go's `net/http/pprof`; `enabled: false`
//! turns one off, `path:` moves it. Every key is checked: one this file
//! does not know is an error that names it, so a typo never silently
//! turns a setting into its default.

use std::{collections::BTreeMap, path::Path, str::FromStr, time::Duration};

use axum::http::uri::Authority;
use brasa_store::labels::{Labels, NAME_LABEL};
use serde::Deserialize;

use crate::time::{parse_duration, TimeError};

/// How often a target is scraped when its job sets no `scrape_interval`.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a scrape may take when its job sets no `scrape_timeout`, and
/// never more than the job's interval: a target that does not answer in
/// time is down until its next scrape. The CPU profile takes its
/// duration on top ([`Job::timeout`]).
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// How much shorter than the scrape interval a CPU profile is: the
/// profile is fetched as `?seconds=N` with N the interval less this, in
/// whole seconds and at least 1 (9 s of every 10 s by default), so that
/// one profile has ended before the next one starts; Go's runtime runs
/// one CPU profile at a time.
pub const CPU_PROFILE_GAP: Duration = Duration::from_secs(1);

/// The profiles a job can scrape: the keys of `pprof_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProfileKind {
    /// CPU time over `?seconds=N` (a delta already): `process_cpu`.
    ProcessCpu,
    /// In-use memory (snapshot) and allocations (cumulative): `memory`.
    Memory,
    /// The same counts as `memory`, allocations first: `allocs`.
    Allocs,
    /// Goroutines and where they are (snapshot): `goroutine`.
    Goroutine,
    /// Lock contention on `sync.Mutex` (cumulative): `mutex`.
    Mutex,
    /// Blocking on channels and locks (cumulative): `block`.
    Block,
}

impl ProfileKind {
    /// Every kind, in the order of the series they become.
    pub const ALL: [Self; 6] = [
        Self::ProcessCpu,
        Self::Memory,
        Self::Allocs,
        Self::Goroutine,
        Self::Mutex,
        Self::Block,
    ];

    /// Its key in `pprof_config`, which is also the `__name__` of its series.
    pub fn name(self) -> &'static str {
        match self {
            Self::ProcessCpu => "process_cpu",
            Self::Memory => "memory",
            Self::Allocs => "allocs",
            Self::Goroutine => "goroutine",
            Self::Mutex => "mutex",
            Self::Block => "block",
        }
    }

    /// Where Go's `net/http/pprof` serves it.
    pub fn default_path(self) -> &'static str {
        match self {
            Self::ProcessCpu => "/debug/pprof/profile",
            Self::Memory => "/debug/pprof/heap",
            Self::Allocs => "/debug/pprof/allocs",
            Self::Goroutine => "/debug/pprof/goroutine",
            Self::Mutex => "/debug/pprof/mutex",
            Self::Block => "/debug/pprof/block",
        }
    }
}

/// Every job of a scrape config file; empty (the default) when the server
/// pulls nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrapeConfig {
    /// The jobs, in the file's order.
    pub jobs: Vec<Job>,
}

/// One entry of `scrape_configs`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Job {
    /// `job_name`: the `job` label of its series.
    pub name: String,
    /// `scrape_interval`: one scrape of each profile of each target per
    /// interval. Default: [`DEFAULT_SCRAPE_INTERVAL`].
    pub interval: Duration,
    /// `scrape_timeout`. Default: [`DEFAULT_SCRAPE_TIMEOUT`] or the
    /// interval, the shorter.
    pub timeout: Duration,
    /// The targets of every `static_configs` entry.
    pub targets: Vec<Target>,
    /// The enabled profiles, in [`ProfileKind::ALL`]'s order.
    pub profiles: Vec<ProfileSource>,
}

/// One target of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// `host:port`: the `instance` label of its series.
    pub address: String,
    /// The `labels` of its `static_configs` entry, sorted by name.
    pub labels: Vec<(String, String)>,
}

/// A profile a job scrapes, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProfileSource {
    /// Which profile.
    pub kind: ProfileKind,
    /// Its path on every target of the job (`path_prefix` included).
    pub path: String,
}

impl Job {
    /// The `seconds` a CPU profile is asked for: see [`CPU_PROFILE_GAP`].
    pub fn cpu_seconds(&self) -> u64 {
        self.interval
            .saturating_sub(CPU_PROFILE_GAP)
            .as_secs()
            .max(1)
    }

    /// How long a scrape of `kind` may take: the job's timeout, plus the
    /// profile's own duration for the CPU profile.
    pub fn timeout(&self, kind: ProfileKind) -> Duration {
        match kind {
            ProfileKind::ProcessCpu => self.timeout + Duration::from_secs(self.cpu_seconds()),
            _ => self.timeout,
        }
    }

    /// The URL `source` is scraped from on `target`.
    pub fn url(&self, target: &Target, source: &ProfileSource) -> String {
        let mut url = format!("http://{}{}", target.address, source.path);
        if source.kind == ProfileKind::ProcessCpu {
            let separator = if url.contains('?') { '&' } else { '?' };
            url.push_str(&format!("{separator}seconds={}", self.cpu_seconds()));
        }
        url
    }

    /// The series labels of `kind` scraped from `target`: `__name__`,
    /// `job`, `instance` and the target's labels.
    pub fn series_labels(&self, target: &Target, kind: ProfileKind) -> Labels {
        series_labels(&self.name, target, kind)
            .expect("the labels were checked when the config was read")
    }
}

fn series_labels(job: &str, target: &Target, kind: ProfileKind) -> brasa_store::Result<Labels> {
    let fixed = [
        (NAME_LABEL, kind.name()),
        (JOB_LABEL, job),
        (INSTANCE_LABEL, target.address.as_str()),
    ];
    Labels::new(
        fixed
            .into_iter()
            .chain(target.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    )
}

/// The label of a series that names its job.
pub const JOB_LABEL: &str = "job";
/// The label of a series that names its target (`host:port`).
pub const INSTANCE_LABEL: &str = "instance";

/// What a scrape config file can be refused for; every message names the
/// file, and the job where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the scrape config {path}; check the path given with --config")]
    Unreadable {
        /// The file.
        path: String,
        /// Why reading it failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not YAML in the shape of a scrape config: a key it does
    /// not know, a value of the wrong type, bad YAML.
    #[error("{path} is not a valid scrape config; fix the key or value named here (the README's pull mode section has an example)")]
    Syntax {
        /// The file.
        path: String,
        /// What the YAML reader found, with the key's place.
        #[source]
        source: serde_norway::Error,
    },
    /// A duration of a job does not parse.
    #[error("{path}: job {job:?}: {key} is not a duration")]
    Duration {
        /// The file.
        path: String,
        /// The job's name.
        job: String,
        /// `scrape_interval` or `scrape_timeout`.
        key: &'static str,
        /// Why.
        #[source]
        source: Box<TimeError>,
    },
    /// A target's labels are refused.
    #[error("{path}: job {job:?}: the labels of target {target} are refused")]
    Labels {
        /// The file.
        path: String,
        /// The job's name.
        job: String,
        /// The target.
        target: String,
        /// Why.
        #[source]
        source: Box<brasa_store::Error>,
    },
    /// A job's setting is refused; the message says which and why.
    #[error("{path}: job {job:?}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// The job's name.
        job: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
}

impl ScrapeConfig {
    /// Reads the scrape config file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses `text`, the content of the file `path` (named in errors).
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let blank = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if blank {
            return Ok(Self::default());
        }
        let file: FileDoc = serde_norway::from_str(text).map_err(|source| ConfigError::Syntax {
            path: path.to_owned(),
            source,
        })?;
        let mut jobs: Vec<Job> = Vec::new();
        for doc in file.scrape_configs {
            let job = doc.into_job(path)?;
            if jobs.iter().any(|j| j.name == job.name) {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    job: job.name,
                    reason: "job_name is used twice; give each job its own name".to_owned(),
                });
            }
            jobs.push(job);
        }
        Ok(Self { jobs })
    }

    /// How many (target, profile) pairs are scraped.
    pub fn scrapes(&self) -> usize {
        self.jobs
            .iter()
            .map(|j| j.targets.len() * j.profiles.len())
            .sum()
    }
}

// The file as written. Every struct refuses keys it does not know.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    scrape_configs: Vec<JobDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobDoc {
    job_name: String,
    scrape_interval: Option<String>,
    scrape_timeout: Option<String>,
    scheme: Option<String>,
    #[serde(default)]
    static_configs: Vec<StaticDoc>,
    #[serde(default)]
    profiling_config: ProfilingDoc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaticDoc {
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProfilingDoc {
    path_prefix: Option<String>,
    #[serde(default)]
    pprof_config: PprofDoc,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PprofDoc {
    process_cpu: Option<ProfileDoc>,
    memory: Option<ProfileDoc>,
    allocs: Option<ProfileDoc>,
    goroutine: Option<ProfileDoc>,
    mutex: Option<ProfileDoc>,
    block: Option<ProfileDoc>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct ProfileDoc {
    enabled: Option<bool>,
    path: Option<String>,
    /// Parca's switch for cumulative profiles. Brasa takes deltas of the
    /// cumulative sample types whatever it says, so `true` is accepted as
    /// a no-op (configs written for Parca carry it) and `false` refused.
    delta: Option<bool>,
}

impl PprofDoc {
    fn get(&self, kind: ProfileKind) -> Option<&ProfileDoc> {
        match kind {
            ProfileKind::ProcessCpu => self.process_cpu.as_ref(),
            ProfileKind::Memory => self.memory.as_ref(),
            ProfileKind::Allocs => self.allocs.as_ref(),
            ProfileKind::Goroutine => self.goroutine.as_ref(),
            ProfileKind::Mutex => self.mutex.as_ref(),
            ProfileKind::Block => self.block.as_ref(),
        }
    }
}

/// Labels a target's `labels` may not set: the scraper sets them (and
/// names that start with `__` are reserved, as everywhere in Brasa).
fn is_reserved(name: &str) -> bool {
    name.starts_with("__") || name == JOB_LABEL || name == INSTANCE_LABEL
}

impl JobDoc {
    fn into_job(self, path: &str) -> Result<Job, ConfigError> {
        let name = self.job_name.trim().to_owned();
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.to_owned(),
            job: name.clone(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid(
                "job_name is empty; name the job (it becomes the `job` label)".to_owned(),
            ));
        }
        let duration = |key: &'static str, text: &Option<String>| -> Result<_, ConfigError> {
            let Some(text) = text else { return Ok(None) };
            let value = parse_duration(text).map_err(|source| ConfigError::Duration {
                path: path.to_owned(),
                job: name.clone(),
                key,
                source: Box::new(source),
            })?;
            if value.is_zero() {
                return Err(invalid(format!(
                    "{key} {text:?} is no time at all; give a duration such as 10s"
                )));
            }
            Ok(Some(value))
        };
        let interval =
            duration("scrape_interval", &self.scrape_interval)?.unwrap_or(DEFAULT_SCRAPE_INTERVAL);
        let timeout = match duration("scrape_timeout", &self.scrape_timeout)? {
            Some(timeout) if timeout > interval => {
                return Err(invalid(format!(
                    "scrape_timeout ({}) is longer than scrape_interval ({}); shorten it or scrape less often",
                    humantime::format_duration(timeout),
                    humantime::format_duration(interval)
                )))
            }
            Some(timeout) => timeout,
            None => DEFAULT_SCRAPE_TIMEOUT.min(interval),
        };
        match self.scheme.as_deref() {
            None | Some("http") => {}
            Some("https") => {
                return Err(invalid(
                    "scheme https is not supported: Brasa scrapes over plain HTTP; write `scheme: http`, or reach the target through a local TLS proxy".to_owned(),
                ))
            }
            Some(other) => {
                return Err(invalid(format!(
                    "scheme {other:?} is not one Brasa scrapes with; write `scheme: http`"
                )))
            }
        }

        let mut targets: Vec<Target> = Vec::new();
        for group in self.static_configs {
            let labels: Vec<(String, String)> = group.labels.into_iter().collect();
            if let Some((reserved, _)) = labels.iter().find(|(k, _)| is_reserved(k)) {
                return Err(invalid(format!(
                    "label {reserved:?} is the scraper's (job comes from job_name, instance from the target, __name__ from the profile, and names starting with __ are reserved); give the label another name"
                )));
            }
            for address in group.targets {
                let address = address.trim().to_owned();
                check_address(&address).map_err(&invalid)?;
                if targets.iter().any(|t| t.address == address) {
                    return Err(invalid(format!(
                        "target {address} is listed twice; list each target once"
                    )));
                }
                let target = Target {
                    address,
                    labels: labels.clone(),
                };
                series_labels(&name, &target, ProfileKind::ProcessCpu).map_err(|source| {
                    ConfigError::Labels {
                        path: path.to_owned(),
                        job: name.clone(),
                        target: target.address.clone(),
                        source: Box::new(source),
                    }
                })?;
                targets.push(target);
            }
        }
        if targets.is_empty() {
            return Err(invalid(
                "no targets; list them as `static_configs: [{targets: [\"HOST:PORT\"]}]`"
                    .to_owned(),
            ));
        }

        let prefix = self.profiling_config.path_prefix.unwrap_or_default();
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && !prefix.starts_with('/') {
            return Err(invalid(format!("path_prefix {prefix:?} must start with /")));
        }
        let mut profiles = Vec::new();
        for kind in ProfileKind::ALL {
            let doc = self
                .profiling_config
                .pprof_config
                .get(kind)
                .cloned()
                .unwrap_or_default();
            if doc.enabled == Some(false) {
                continue;
            }
            if doc.delta == Some(false) {
                return Err(invalid(format!(
                    "pprof_config.{}.delta: false is not supported: Brasa stores the deltas of Go's cumulative profiles (allocations, mutex and block) between scrapes; remove the key",
                    kind.name()
                )));
            }
            let path = doc.path.unwrap_or_else(|| kind.default_path().to_owned());
            if !path.starts_with('/') {
                return Err(invalid(format!(
                    "pprof_config.{}.path {path:?} must start with / (a path on the target, such as {})",
                    kind.name(),
                    kind.default_path()
                )));
            }
            profiles.push(ProfileSource {
                kind,
                path: format!("{prefix}{path}"),
            });
        }
        if profiles.is_empty() {
            return Err(invalid(
                "every profile of pprof_config is disabled; enable at least one".to_owned(),
            ));
        }
        Ok(Job {
            name,
            interval,
            timeout,
            targets,
            profiles,
        })
    }
}

/// A target must be `host:port` (or `host`, port 80), without a scheme or
/// a path.
fn check_address(address: &str) -> Result<(), String> {
    let refused = || {
        format!("target {address:?} is not host:port; write it like \"127.0.0.1:6060\" (the scheme and paths go elsewhere)")
    };
    if address.is_empty() || address.contains('@') {
        return Err(refused());
    }
    Authority::from_str(address).map_err(|_| refused())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ScrapeConfig, ConfigError> {
        ScrapeConfig::parse(text, "brasa.yaml")
    }

    fn job(text: &str) -> Job {
        let mut config = parse(text).unwrap();
        assert_eq!(config.jobs.len(), 1);
        config.jobs.remove(0)
    }

    fn report(error: ConfigError) -> String {
        brasa_profile::error_chain(&error)
    }

    const MINIMAL: &str = "scrape_configs:\n  - job_name: goapp\n    static_configs:\n      - targets: ['127.0.0.1:6060']\n";

    #[test]
    fn parca_delta_true_is_accepted_and_false_refused() {
        let with = |delta: &str| {
            parse(&format!(
                "{MINIMAL}    profiling_config:\n      pprof_config:\n        memory: {{path: /debug/pprof/allocs, delta: {delta}}}\n"
            ))
        };
        assert_eq!(with("true").unwrap().jobs[0].profiles.len(), 6);
        let err = report(with("false").unwrap_err());
        assert!(err.contains("pprof_config.memory.delta: false"), "{err}");
    }

    #[test]
    fn defaults_are_the_named_constants_and_every_profile() {
        let job = job(MINIMAL);
        assert_eq!(job.name, "goapp");
        assert_eq!(job.interval, DEFAULT_SCRAPE_INTERVAL);
        assert_eq!(job.timeout, DEFAULT_SCRAPE_TIMEOUT);
        assert_eq!(job.cpu_seconds(), 9);
        let kinds: Vec<(&str, &str)> = job
            .profiles
            .iter()
            .map(|p| (p.kind.name(), p.path.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("process_cpu", "/debug/pprof/profile"),
                ("memory", "/debug/pprof/heap"),
                ("allocs", "/debug/pprof/allocs"),
                ("goroutine", "/debug/pprof/goroutine"),
                ("mutex", "/debug/pprof/mutex"),
                ("block", "/debug/pprof/block"),
            ]
        );
        assert_eq!(
            job.targets,
            [Target {
                address: "127.0.0.1:6060".to_owned(),
                labels: vec![]
            }]
        );
        assert_eq!(
            job.url(&job.targets[0], &job.profiles[0]),
            "http://127.0.0.1:6060/debug/pprof/profile?seconds=9"
        );
        assert_eq!(
            job.url(&job.targets[0], &job.profiles[1]),
            "http://127.0.0.1:6060/debug/pprof/heap"
        );
        assert_eq!(
            job.timeout(ProfileKind::ProcessCpu),
            Duration::from_secs(19)
        );
        assert_eq!(job.timeout(ProfileKind::Memory), Duration::from_secs(10));
    }

    #[test]
    fn settings_override_the_defaults() {
        let job = job("scrape_configs:
  - job_name: api
    scrape_interval: 3s
    scheme: http
    static_configs:
      - targets: ['10.0.0.1:6060', 'api.internal:80']
        labels: {team: core, env: prod}
      - targets: ['localhost']
    profiling_config:
      path_prefix: /app/
      pprof_config:
        process_cpu: {path: /pprof/cpu}
        memory: {enabled: false}
        mutex: {enabled: true}
        block:
");
        assert_eq!(job.interval, Duration::from_secs(3));
        // The default timeout is capped at the interval.
        assert_eq!(job.timeout, Duration::from_secs(3));
        assert_eq!(job.cpu_seconds(), 2);
        let kinds: Vec<(&str, &str)> = job
            .profiles
            .iter()
            .map(|p| (p.kind.name(), p.path.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("process_cpu", "/app/pprof/cpu"),
                ("allocs", "/app/debug/pprof/allocs"),
                ("goroutine", "/app/debug/pprof/goroutine"),
                ("mutex", "/app/debug/pprof/mutex"),
                ("block", "/app/debug/pprof/block"),
            ]
        );
        let addresses: Vec<&str> = job.targets.iter().map(|t| t.address.as_str()).collect();
        assert_eq!(addresses, ["10.0.0.1:6060", "api.internal:80", "localhost"]);
        let labels = job.series_labels(&job.targets[0], ProfileKind::Mutex);
        assert_eq!(
            labels.to_string(),
            r#"mutex{env="prod", instance="10.0.0.1:6060", job="api", team="core"}"#
        );
        assert!(job.targets[2].labels.is_empty());

        let timed = self::job(&MINIMAL.replace(
            "    static_configs",
            "    scrape_interval: 1m\n    scrape_timeout: 15s\n    static_configs",
        ));
        assert_eq!(
            (timed.interval.as_secs(), timed.timeout.as_secs()),
            (60, 15)
        );
        assert_eq!(timed.cpu_seconds(), 59);
    }

    #[test]
    fn empty_files_pull_nothing() {
        for text in ["", "\n# nothing yet\n", "scrape_configs: []\n"] {
            assert_eq!(parse(text).unwrap(), ScrapeConfig::default(), "{text:?}");
        }
        assert_eq!(parse(MINIMAL).unwrap().scrapes(), 6);
    }

    #[test]
    fn unknown_keys_are_named_with_the_file() {
        for (text, key) in [
            (
                MINIMAL.replace("job_name", "scrape_intervall: 5s\n    job_name"),
                "scrape_intervall",
            ),
            (format!("{MINIMAL}global: {{}}\n"), "global"),
            (
                format!("{MINIMAL}    profiling_config:\n      pprof_config:\n        heap: {{enabled: true}}\n"),
                "heap",
            ),
            (
                format!("{MINIMAL}    profiling_config:\n      pprof_config:\n        memory: {{enabled: true, keep: true}}\n"),
                "keep",
            ),
            (MINIMAL.replace("targets:", "target:"), "target"),
        ] {
            let error = report(parse(&text).unwrap_err());
            assert!(error.starts_with("brasa.yaml is not a valid scrape config"), "{error}");
            assert!(error.contains(&format!("unknown field `{key}`")), "{error}");
        }
    }

    #[test]
    fn bad_values_name_the_file_and_the_job() {
        let with = |setting: &str| {
            MINIMAL.replace(
                "    static_configs",
                &format!("    {setting}\n    static_configs"),
            )
        };
        for (text, wanted) in [
            (with("scrape_interval: 10x"), "brasa.yaml: job \"goapp\": scrape_interval is not a duration: invalid duration \"10x\""),
            (with("scrape_timeout: soon"), "brasa.yaml: job \"goapp\": scrape_timeout is not a duration"),
            (with("scrape_interval: 0s"), "scrape_interval \"0s\" is no time at all"),
            (with("scrape_interval: 5s\n    scrape_timeout: 6s"), "brasa.yaml: job \"goapp\": scrape_timeout (6s) is longer than scrape_interval (5s)"),
            (with("scheme: https"), "scheme https is not supported"),
            (with("scheme: ftp"), "scheme \"ftp\""),
            (MINIMAL.replace("'127.0.0.1:6060'", "'http://127.0.0.1:6060/debug'"), "target \"http://127.0.0.1:6060/debug\" is not host:port"),
            (MINIMAL.replace("'127.0.0.1:6060'", "'a:1', 'a:1'"), "target a:1 is listed twice"),
            (MINIMAL.replace("      - targets: ['127.0.0.1:6060']\n", "      - targets: []\n"), "no targets"),
            (format!("{MINIMAL}        labels: {{job: other}}\n"), "label \"job\" is the scraper's"),
            (format!("{MINIMAL}        labels: {{__meta: x}}\n"), "label \"__meta\" is the scraper's"),
            (format!("{MINIMAL}        labels: {{bad-name: x}}\n"), "the labels of target 127.0.0.1:6060 are refused: invalid labels: label name \"bad-name\""),
            (format!("{MINIMAL}    profiling_config:\n      pprof_config:\n        memory: {{path: debug/heap}}\n"), "pprof_config.memory.path \"debug/heap\" must start with /"),
            (MINIMAL.replace("goapp", "''"), "job_name is empty"),
            (format!("{MINIMAL}{}", &MINIMAL["scrape_configs:\n".len()..]), "job \"goapp\": job_name is used twice"),
        ] {
            let error = report(parse(&text).unwrap_err());
            assert!(error.contains(wanted), "{wanted:?} not in {error:?}");
            assert!(error.starts_with("brasa.yaml"), "{error}");
        }
        let all_off: String = ProfileKind::ALL
            .iter()
            .map(|k| format!("        {}: {{enabled: false}}\n", k.name()))
            .collect();
        let text = format!("{MINIMAL}    profiling_config:\n      pprof_config:\n{all_off}");
        assert!(
            report(parse(&text).unwrap_err()).contains("every profile of pprof_config is disabled")
        );
    }

    #[test]
    fn wrong_types_and_missing_keys_are_syntax_errors() {
        let error = report(parse("scrape_configs:\n  - static_configs: []\n").unwrap_err());
        assert!(error.contains("missing field `job_name`"), "{error}");
        let error = report(parse(&MINIMAL.replace("['127.0.0.1:6060']", "7")).unwrap_err());
        assert!(error.contains("invalid type"), "{error}");
    }

    #[test]
    fn a_missing_file_names_the_flag() {
        let error = ScrapeConfig::load(Path::new("/nonexistent/brasa.yaml")).unwrap_err();
        assert_eq!(
            report(error),
            "cannot read the scrape config /nonexistent/brasa.yaml; check the path given with --config: No such file or directory"
        );
    }
}
