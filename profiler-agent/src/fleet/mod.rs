//! Fleet mode: what the always-on agent needs beyond sampling.
//!
//! - [`cgroup`]: container id and systemd unit of a process, from its cgroup.
//! - [`environ`]: series labels taken from a process's own environment.
//! - [`spool`]: a bounded on-disk queue of profiles the server has not taken yet.
//! - [`backoff`]: exponential backoff with jitter between delivery attempts.
//! - [`push`]: delivery to the server's ingest endpoint, through the spool.
//! - [`labels`]: the series labels of a process.
//! - [`metrics`]: the agent's own `/metrics`.
//! - [`agent`]: the loop tying sampling, grouping and delivery together.

pub mod agent;
pub mod backoff;
pub mod cgroup;
pub mod environ;
pub mod labels;
pub mod metrics;
pub mod push;
pub mod spool;
