//! What `brasa` says when it is given something it cannot use: each message
//! names the flag or file, the allowed values, and prints each cause once.
//! The expected output is `tests/golden/messages.txt`; `BRASA_BLESS=1`
//! rewrites it after an intended change.

use std::path::Path;

use brasa_test_support::{brasa, golden, testdata};

/// Runs `brasa ARGS` in `dir` and shows the exchange as a terminal would.
fn exchange(dir: &Path, args: &[&str]) -> String {
    let output = brasa().args(args).current_dir(dir).output().unwrap();
    let mut shown = format!("$ brasa {}\n", args.join(" "));
    for stream in [&output.stdout, &output.stderr] {
        shown.push_str(&String::from_utf8_lossy(stream));
    }
    shown.push_str(&format!(
        "[exit {}]\n\n",
        output.status.code().unwrap_or(-1)
    ));
    shown
}

#[test]
fn messages_name_the_flag_and_print_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    std::fs::copy(testdata("go/cpu.pb.gz"), cwd.join("cpu.pb.gz")).unwrap();
    std::fs::write(cwd.join("garbage.pb.gz"), [0xff, 0x00, 0x13, 0x37]).unwrap();
    let scrape_config = |setting: &str| {
        format!("scrape_configs:\n  - job_name: goapp\n    {setting}\n    static_configs:\n      - targets: ['127.0.0.1:6060']\n")
    };
    std::fs::write(
        cwd.join("typo.yaml"),
        scrape_config("scrape_intervall: 10s"),
    )
    .unwrap();
    std::fs::write(cwd.join("late.yaml"), scrape_config("scrape_interval: 10x")).unwrap();
    let cases: &[&[&str]] = &[
        // Output names.
        &["flamegraph", "cpu.pb.gz", "-o", "x.pb.gz"],
        &["merge", "cpu.pb.gz", "-o", "x.txt"],
        &["diff", "cpu.pb.gz", "cpu.pb.gz", "-o", "x.folded"],
        // Inputs.
        &["flamegraph", "garbage.pb.gz", "-o", "x.svg"],
        &["flamegraph", "missing.pb.gz", "-o", "x.svg"],
        &["record", "-o", "no/such/dir/x.pb.gz", "--", "true"],
        // Flags and their ranges.
        &[
            "check",
            "--base",
            "cpu.pb.gz",
            "--head",
            "cpu.pb.gz",
            "--alpha",
            "2",
        ],
        &[
            "check",
            "--base",
            "cpu.pb.gz",
            "--head",
            "cpu.pb.gz",
            "--threshold",
            "-5",
        ],
        &[
            "check",
            "--server",
            "127.0.0.1:7171",
            "--base-query",
            "{}",
            "--head-query",
            "{}",
        ],
        &[
            "agent",
            "--server",
            "http://127.0.0.1:9",
            "--label",
            "__name__=x",
        ],
        &[
            "agent",
            "--server",
            "http://127.0.0.1:9",
            "--frequency",
            "0",
        ],
        &["server", "--retention", "0s", "--data", "data"],
        // Scrape configs.
        &["server", "--config", "typo.yaml", "--data", "data"],
        &["server", "--config", "late.yaml", "--data", "data"],
        &["up", "--config", "missing.yaml", "--data", "data"],
        &[
            "record",
            "--frequency",
            "10001",
            "-o",
            "x.pb.gz",
            "--",
            "true",
        ],
        // Text output in human units.
        &["diff", "cpu.pb.gz", "cpu.pb.gz", "--top", "3"],
    ];
    let shown: String = cases.iter().map(|args| exchange(cwd, args)).collect();
    golden!("messages.txt", &shown);
    assert!(
        !cwd.join("data").exists(),
        "a refused flag had a side effect"
    );
    assert!(!cwd.join("x.pb.gz").exists() && !cwd.join("x.txt").exists());
}

#[test]
fn a_data_directory_in_use_names_the_process_holding_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let running = brasa_test_support::server::Server::start(&data, &[]);
    let output = brasa()
        .args(["server", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "brasa: error: {} is in use by another Brasa process (pid {}); stop it or choose another --data directory\n",
        data.display(),
        running.pid()
    );
    assert_eq!(stderr, expected);
}
