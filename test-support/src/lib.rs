//! What Brasa's integration tests share, so that no test reaches into
//! another crate's `tests/` folder: the paths of `testdata/`, the `brasa`
//! binary, golden files, workload builders, readers of recorded stacks,
//! `perf` as a reference, a `brasa server` under test, a Garage cluster
//! for the S3 bucket that servers share, and waits on observable events
//! (a line of output, a metric, a condition) in place of sleeps.

#![warn(missing_docs)]

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::Command,
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

pub mod garage;
pub mod nofp;
pub mod perf;
pub mod server;
pub mod stacks;
pub mod workloads;

/// Environment variable that rewrites golden files instead of comparing.
pub const BLESS: &str = "BRASA_BLESS";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support sits in the repository root")
        .to_owned()
}

/// A file or folder of the repository's `testdata/`.
pub fn testdata(path: &str) -> PathBuf {
    repo_root().join("testdata").join(path)
}

/// Cargo's output folder of the running test (`target/debug`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/debug/deps/TEST-HASH
    exe.parent()
        .and_then(Path::parent)
        .expect("tests run from target/PROFILE/deps")
        .to_owned()
}

/// A folder for built workloads and temporary files, inside `target/`.
pub fn scratch_dir() -> PathBuf {
    let dir = profile_dir().join("brasa-test-scratch");
    std::fs::create_dir_all(&dir).expect("create the test scratch folder");
    dir
}

/// The `brasa` binary that cargo built for the `brasa` package's tests.
pub fn brasa_binary() -> PathBuf {
    let path = profile_dir().join("brasa");
    assert!(
        path.exists(),
        "{} is missing: these tests run as `cargo test -p brasa`",
        path.display()
    );
    path
}

/// A command running the `brasa` binary.
pub fn brasa() -> Command {
    Command::new(brasa_binary())
}

/// Compares `actual` with the golden file `dir/name`, or rewrites it when
/// `BRASA_BLESS=1`. See [`golden!`] for a crate's `tests/golden/`.
pub fn check_golden(dir: &Path, name: &str, actual: &str) {
    let path = dir.join(name);
    if std::env::var_os(BLESS).is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with {BLESS}=1 to create it", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs; if the change is intended, re-run with {BLESS}=1",
        path.display()
    );
}

/// `golden!("name.txt", &text)` compares with the calling crate's
/// `tests/golden/name.txt` (see [`check_golden`]).
#[macro_export]
macro_rules! golden {
    ($name:expr, $actual:expr) => {
        $crate::check_golden(
            &::std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"),
            $name,
            $actual,
        )
    };
}

/// Polls `condition` until it holds, and panics naming `what` when
/// `limit` passes first. For conditions only visible by asking (an HTTP
/// answer, a file count); output lines have [`Lines::wait_for`].
pub fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines a child process writes to one of its pipes, read on a thread
/// of their own so that the child never blocks on a full pipe.
pub struct Lines {
    arrived: mpsc::Receiver<String>,
    all: Arc<Mutex<Vec<String>>>,
}

impl Lines {
    /// Starts reading `pipe` (a child's stdout or stderr).
    pub fn read(pipe: impl Read + Send + 'static) -> Self {
        let (tx, arrived) = mpsc::channel();
        let all = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&all);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Self { arrived, all }
    }

    /// The first line from now on that satisfies `wanted`; panics when the
    /// pipe closes or `limit` passes first.
    pub fn wait_for(&self, limit: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.arrived.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(e) => panic!("no awaited line ({e}); so far: {:?}", self.all()),
            }
        }
    }

    /// Every line read so far.
    pub fn all(&self) -> Vec<String> {
        self.all.lock().unwrap().clone()
    }

    /// Every line, once the pipe has closed (the child has exited).
    pub fn until_closed(self) -> Vec<String> {
        while self.arrived.recv().is_ok() {}
        self.all()
    }
}

/// The last `http://…` word of `line`, as servers print their address
/// (and the agent its /metrics after the server it pushes to).
pub fn url_in(line: &str) -> String {
    line.split_whitespace()
        .rfind(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned()
}

/// The samples of an OpenMetrics text page: `name{labels}` → value.
pub fn scrape(agent: &ureq::Agent, metrics_url: &str) -> HashMap<String, f64> {
    let (status, body) = server::get(agent, metrics_url, &[]);
    assert_eq!(status, 200, "{metrics_url}");
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(name, value)| Some((name.to_owned(), value.parse().ok()?)))
        .collect()
}

/// Runs `go tool pprof ARGS` with its files under `home`, asserts that it
/// succeeded, and returns its report (stdout).
pub fn go_tool_pprof(args: &[&str], home: &Path) -> String {
    let out = Command::new("go")
        .args(["tool", "pprof"])
        .args(args)
        .env("PPROF_TMPDIR", home)
        .env("HOME", home)
        .output()
        .expect("`go` is installed (scripts/apt-packages.txt: golang-go)");
    assert!(
        out.status.success(),
        "go tool pprof {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
