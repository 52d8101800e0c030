//! `brasa check` and `brasa diff` against a running `brasa server`: each
//! selector is one profile, the time range is per side.

use std::{
    process::Output,
    time::{SystemTime, UNIX_EPOCH},
};

use brasa_test_support::brasa;
use brasa_test_support::server::*;

const RUNS: usize = 3;

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Pushes `RUNS` profiles of `version`, labelled `run=0..`; `parse_factor`
/// scales parse's samples.
fn ingest(agent: &ureq::Agent, url: &str, version: &str, parse_factor: f64) {
    for (run, jitter) in [0i64, 9, -6].into_iter().enumerate().take(RUNS) {
        let parse = ((1000 + jitter) as f64 * parse_factor) as i64;
        let folded = format!("main;parse {parse}\nmain;eval {}\n", 9000 - jitter);
        let (status, body) = post(
            agent,
            &format!("{url}/api/v1/ingest?service=app&version={version}&run={run}"),
            &[],
            &pprof_gz(&folded, now_nanos()),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }
}

fn selections(flag: &str, version: &str) -> Vec<String> {
    (0..RUNS)
        .flat_map(|run| {
            [
                flag.to_owned(),
                format!("{{service=\"app\",version=\"{version}\",run=\"{run}\"}}"),
            ]
        })
        .collect()
}

fn check(url: &str, base: &str, head: &str, extra: &[&str]) -> Output {
    brasa()
        .args(["check", "--server", url])
        .args(selections("--base-query", base))
        .args(selections("--head-query", head))
        .args(extra)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn server_selections_are_checked_and_diffed() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let agent = client();
    ingest(&agent, &server.url, "1", 1.0);
    ingest(&agent, &server.url, "2", 1.6);

    let slower = check(&server.url, "1", "2", &[]);
    assert_eq!(
        slower.status.code(),
        Some(1),
        "{}{}",
        text(&slower.stdout),
        text(&slower.stderr)
    );
    let report = text(&slower.stdout);
    assert!(report.contains("  parse "), "{report}");
    assert!(report.contains("3 base vs 3 head profiles"), "{report}");

    let same = check(
        &server.url,
        "1",
        "1",
        &[
            "--base-from",
            "0",
            "--base-to",
            "now+1h",
            "--head-from",
            "now-1h",
        ],
    );
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}{}",
        text(&same.stdout),
        text(&same.stderr)
    );

    // A range that holds nothing is an error, with the server's reason.
    let empty = check(&server.url, "1", "2", &["--base-to", "1"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(
        text(&empty.stderr).contains("the server answered 404"),
        "{}",
        text(&empty.stderr)
    );

    let svg = tmp.path().join("diff.svg");
    let diff = brasa()
        .args(["diff", "--server", &server.url])
        .args(selections("--base-query", "1"))
        .args(selections("--head-query", "2"))
        .arg("-o")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(diff.status.success(), "{}", text(&diff.stderr));
    let table = text(&diff.stdout);
    // parse gained what eval lost: they head the table, parse up ~50%.
    let parse = table
        .lines()
        .skip(2)
        .take(2)
        .find(|l| l.trim_start().starts_with("parse "));
    assert!(parse.is_some_and(|l| l.ends_with("+50.9%")), "{table}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("parse"));
}

#[test]
fn server_mode_needs_both_selections_and_a_reachable_server() {
    let only_base = brasa()
        .args([
            "check",
            "--server",
            "http://127.0.0.1:9",
            "--base-query",
            "{a=\"b\"}",
        ])
        .output()
        .unwrap();
    assert_eq!(only_base.status.code(), Some(2));
    let unreachable = brasa()
        .args(["check", "--server", "http://127.0.0.1:9"])
        .args(["--base-query", "{a=\"b\"}", "--head-query", "{a=\"c\"}"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(
        text(&unreachable.stderr).contains("127.0.0.1:9"),
        "{}",
        text(&unreachable.stderr)
    );
}
