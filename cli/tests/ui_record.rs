//! The web page on a profile of `brasa record`, in Debian's headless
//! chromium: a frame's details give its binary and file:line from the
//! recorded debug info, and every download of the view is read back by
//! the tool it is meant for: pprof by `go tool pprof`, folded stacks by
//! `brasa flamegraph`.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON) to record; CI runs as root.

#[path = "../../web/tests/ui_browser/page.rs"]
#[allow(dead_code)]
mod page;

use std::{path::Path, process::Command};

use brasa_test_support::{
    server::{client, enc, post, Server},
    workloads::build_c,
};
use fantoccini::Client;
use serde_json::{json, Value};

use page::{
    assert_nothing_injected, js, open, screenshot, tooltip_text, wait_for_download_named,
    with_browser,
};

/// The function of the C workload the details are checked on.
const FUNCTION: &str = "hot_branch";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_and_downloads_of_a_recorded_profile() {
    let workload = build_c("ui-record");
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("cpu.pb.gz");
    let output = brasa_test_support::brasa()
        .args(["record", "--frequency", "499", "-o"])
        .arg(&recorded)
        .arg("--")
        .arg(&workload)
        .args(["cpu", "1500"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "brasa record failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let (status, text) = post(
        &client(),
        &format!("{}/api/v1/ingest?service=recorded", server.url),
        &[],
        &std::fs::read(&recorded).unwrap(),
    )
    .unwrap();
    assert_eq!(status, 200, "{text}");

    let url = server.url.clone();
    with_browser(
        |client, downloads| async move { steps(&client, &url, &downloads, &workload).await },
    )
    .await;
}

async fn steps(client: &Client, url: &str, downloads: &Path, workload: &Path) {
    let query = enc(r#"process_cpu{service="recorded"}"#);
    open(
        client,
        &format!("{url}/?query={query}"),
        "the recorded profile",
    )
    .await;

    // The details of a frame: the binary it ran in and where in the source.
    let name = serde_json::to_string(FUNCTION).unwrap();
    js(
        client,
        &format!(
            "[...document.querySelectorAll('#top-table tbody tr')]
               .find(tr => tr.dataset.name === {name}).children[0].click()"
        ),
    )
    .await;
    let facts = js(
        client,
        "return Object.fromEntries([...document.querySelectorAll('#details-facts dd')]
           .map(dd => [dd.dataset.fact, dd.textContent]))",
    )
    .await;
    assert_eq!(
        facts["binary"],
        json!(workload.to_string_lossy()),
        "{facts}"
    );
    let source = facts["source"].as_str().unwrap_or_default();
    let (file, line) = source.rsplit_once(':').unwrap_or_default();
    assert!(
        file.ends_with("workload.c") && line.parse::<u32>().is_ok_and(|l| l > 0),
        "{facts}"
    );
    let lines = js(
        client,
        "return [...document.querySelectorAll('#details-lines tbody tr')]
           .map(tr => Number(tr.children[0].textContent))",
    )
    .await;
    let lines: Vec<u32> = serde_json::from_value(lines).unwrap();
    assert!(
        !lines.is_empty() && lines.contains(&line.parse().unwrap()),
        "{lines:?}"
    );
    let tooltip = tooltip_text(client, FUNCTION).await;
    assert!(
        tooltip.contains(&format!("binary: {}", workload.display()))
            && tooltip.contains(&format!("source: {source}")),
        "{tooltip}"
    );
    screenshot(client, "record-01-details").await;

    // Every download of the view, read back by its own reader.
    for format in ["pprof", "svg", "folded", "json"] {
        js(
            client,
            &format!("document.querySelector('#downloads a[data-format=\"{format}\"]').click()"),
        )
        .await;
    }
    wait_for_download_named(downloads, "profile.pb.gz").await;
    let pprof = downloads.join("profile.pb.gz");
    let top = Command::new("go")
        .args(["tool", "pprof", "-top"])
        .arg(&pprof)
        .output()
        .expect("go tool pprof");
    let text = String::from_utf8_lossy(&top.stdout);
    assert!(
        top.status.success() && text.lines().any(|l| l.ends_with(&format!(" {FUNCTION}"))),
        "go tool pprof: {text}{}",
        String::from_utf8_lossy(&top.stderr)
    );

    let folded = wait_for_download_named(downloads, ".folded.txt").await;
    let svg_out = downloads.join("from-folded.svg");
    let rendered = brasa_test_support::brasa()
        .arg("flamegraph")
        .arg(downloads.join("profile.folded.txt"))
        .arg("-o")
        .arg(&svg_out)
        .output()
        .unwrap();
    assert!(
        rendered.status.success(),
        "brasa flamegraph: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert!(String::from_utf8_lossy(&folded).contains(FUNCTION));
    assert!(std::fs::read_to_string(&svg_out)
        .unwrap()
        .contains(FUNCTION));

    let svg = String::from_utf8(wait_for_download_named(downloads, "profile.svg").await).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains(FUNCTION),
        "not a flame graph"
    );
    let body: Value =
        serde_json::from_slice(&wait_for_download_named(downloads, "profile.json").await).unwrap();
    assert!(
        body["names"]
            .as_array()
            .is_some_and(|n| n.contains(&json!(FUNCTION))),
        "the JSON download has no {FUNCTION}"
    );
    assert_nothing_injected(client).await;
}
