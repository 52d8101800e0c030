//! Recording a workload command with the real sampler, one recording at a
//! time per test binary.

use std::{ffi::OsString, sync::atomic::AtomicBool, sync::Mutex, time::Duration};

use brasa_agent::record::{record, RecordOptions, Recording, Target};
use brasa_profile::Profile;

use super::stacks;

/// Concurrent workloads would share the CPUs, and rates would drift.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the CPUs for one recording (or a peer tool's run).
pub fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Records `argv` at `frequency` with `options` (target, frequency and a
/// 500 ms drain interval set here), asserts that the command succeeded and
/// returns the recording and its profile.
pub fn record_command(
    argv: Vec<OsString>,
    frequency: u64,
    mut options: RecordOptions,
) -> (Recording, Profile) {
    let _alone = alone();
    let what = format!("{argv:?}");
    options.target = Target::Command(argv);
    options.sampling.frequency = frequency;
    options.drain_interval = Duration::from_millis(500);
    let never = AtomicBool::new(false);
    let mut recording = record(&options, &never, &mut |_| {}).expect("recording works as root");
    assert!(
        recording.exit_status.is_some_and(|s| s.success()),
        "{what} failed"
    );
    let profile = recording.to_profile();
    (recording, profile)
}

/// The pid with the most samples: the workload command itself.
pub fn workload_pid(profile: &Profile) -> i64 {
    let mut counts = std::collections::HashMap::<i64, i64>::new();
    for s in stacks(profile) {
        *counts.entry(s.pid).or_default() += s.count;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(pid, _)| pid)
        .expect("the workload was sampled")
}
