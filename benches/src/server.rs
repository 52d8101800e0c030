//! What the benches that run `brasa server` as a process share: the
//! release binary, starting it, its RSS, and fleet-like profiles.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use brasa_profile::{codec, folded::Folded};

use crate::agent_like::Rng;

/// The `brasa` binary: `BRASA_BIN`, else the workspace's release build.
pub fn brasa_bin() -> PathBuf {
    std::env::var_os("BRASA_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/brasa"),
        PathBuf::from,
    )
}

/// A running `brasa server`, killed when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts `brasa server` on a free loopback port over `data`, with
    /// `extra` arguments, and waits until it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Self {
        let bin = brasa_bin();
        assert!(
            bin.exists(),
            "{} missing: build it with `cargo build --release -p brasa`",
            bin.display()
        );
        let mut child = Command::new(&bin)
            .args(["server", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the server's first line: {line:?}"))
            .to_owned();
        Self { child, url }
    }

    /// The server's resident memory, MiB.
    pub fn rss_mib(&self) -> f64 {
        rss_mib(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of process `pid`, MiB (0 when it is gone).
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A gzip pprof CPU profile of `samples` stacks 8-40 frames deep, as a
/// fleet's agents send: a walk down a call tree with 3 callees per
/// function, so stacks share their callers as a program's do, over a few
/// hundred functions. `seed` picks the stacks.
pub fn fleet_profile(seed: u64, samples: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut text = String::new();
    for _ in 0..samples {
        let depth = 8 + rng.below(32);
        let frames: Vec<String> = (0..depth)
            .map(|level| format!("pkg{}.func{}", level % 40, rng.below(3)))
            .collect();
        text.push_str(&frames.join(";"));
        text.push_str(&format!(" {}\n", 1 + rng.below(4)));
    }
    let mut profile = Folded::parse(&text).unwrap().to_profile();
    profile.time_nanos = 0;
    codec::encode(&profile)
}
