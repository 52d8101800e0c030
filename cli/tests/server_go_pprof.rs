//! A Go runtime/pprof profile ingested natively comes back through
//! `go tool pprof -top` fetching the query URL, functions and totals intact.

use std::path::Path;

use brasa_test_support::server::*;

/// The table part of `go tool pprof -top` (from the `flat flat%` header
/// on), plus the totals line.
fn top_rows(output: &str) -> (String, String) {
    let totals = output
        .lines()
        .find(|l| l.contains("Total samples"))
        .unwrap_or_else(|| panic!("no totals line in:\n{output}"))
        .to_owned();
    let rows: Vec<&str> = output
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .collect();
    assert!(rows.len() > 3, "no rows in:\n{output}");
    (totals, rows.join("\n"))
}

fn pprof_top(source: &str, tmp: &Path) -> String {
    brasa_test_support::go_tool_pprof(&["-top", source], tmp)
}

#[test]
fn go_tool_pprof_reads_the_query_url() {
    let fixture = brasa_test_support::testdata("go/cpu.pb.gz");
    let bytes = std::fs::read(&fixture).expect("testdata/go/cpu.pb.gz exists");
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let agent = client();
    let (status, body) = post(
        &agent,
        &format!("{}/api/v1/ingest?service=gofixture&host=ci", server.url),
        &[],
        &bytes,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");

    let url = format!(
        "{}/api/v1/profile?query={}&from=0&to=now",
        server.url,
        enc(r#"process_cpu{service="gofixture"}"#)
    );
    let (served_totals, served_rows) = top_rows(&pprof_top(&url, tmp.path()));
    let (file_totals, file_rows) = top_rows(&pprof_top(fixture.to_str().unwrap(), tmp.path()));
    assert_eq!(served_totals, file_totals);
    assert_eq!(served_rows, file_rows);
    assert!(served_rows.contains("main."), "{served_rows}");
}
