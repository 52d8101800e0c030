//! The real `pyroscope-io` Python client (PyPI, pinned in
//! scripts/pip-requirements.txt) profiles a small program and pushes to
//! `brasa server`; its samples are queryable by `service_name` with the
//! Python function names. The push authenticates with HTTP Basic, the token
//! as password.

use std::process::Command;

use brasa_test_support::server::*;

const TOKEN: &str = "pyroscope-test-token-0123456789";
/// How long the Python program runs; the client uploads every second.
const RUN_SECONDS: &str = "4";

#[test]
fn pyroscope_io_client_pushes_python_profiles() {
    let probe = Command::new("python3")
        .args(["-c", "import pyroscope"])
        .output()
        .expect("python3 is installed");
    assert!(
        probe.status.success(),
        "the pyroscope-io client is missing: run scripts/setup.sh (pip install -r scripts/pip-requirements.txt)\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("tokens");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &["--token-file", token_file.to_str().unwrap()],
    );
    let program = brasa_test_support::testdata("python/busy.py");
    let status = Command::new("python3")
        .arg(&program)
        .args([&server.url, "brasa-pytest", RUN_SECONDS, TOKEN])
        .status()
        .unwrap();
    assert!(status.success());

    let agent = client();
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let (status, body) = get(
        &agent,
        &format!("{}/api/v1/labels/service_name/values", server.url),
        &auth,
    );
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("brasa-pytest"));

    let (status, body) = get(
        &agent,
        &format!(
            "{}/api/v1/profile?query={}&from=now-10m&format=folded",
            server.url,
            enc(r#"process_cpu{service_name="brasa-pytest"}"#)
        ),
        &auth,
    );
    let folded = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{folded}");
    for function in ["brasa_fixture_fib", "brasa_fixture_sort", "main"] {
        assert!(
            folded.contains(function),
            "{function} missing from:\n{folded}"
        );
    }
    // Without the token the same query is refused.
    let (status, _) = get(&agent, &format!("{}/api/v1/labels", server.url), &[]);
    assert_eq!(status, 401);
}

/// The client's `tenant_id` (sent as `X-Scope-OrgID`) puts its profiles
/// in that tenant: that tenant's queries find them, the default tenant's
/// and another's do not, and its labels are listed for it alone.
#[test]
fn tenant_id_keeps_profiles_in_their_tenant() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let program = brasa_test_support::testdata("python/busy.py");
    let status = Command::new("python3")
        .arg(&program)
        .args([&server.url, "brasa-tenant", RUN_SECONDS, "", "team-py"])
        .status()
        .unwrap();
    assert!(status.success());

    let query = |tenant: Option<&str>| {
        let headers: Vec<(&str, &str)> = tenant.map(|t| ("X-Scope-OrgID", t)).into_iter().collect();
        let (status, body) = get(
            &client(),
            &format!(
                "{}/api/v1/profile?query={}&from=now-10m&format=folded",
                server.url,
                enc(r#"process_cpu{service_name="brasa-tenant"}"#)
            ),
            &headers,
        );
        (status, String::from_utf8(body).unwrap())
    };
    let (status, folded) = query(Some("team-py"));
    assert_eq!(status, 200, "{folded}");
    assert!(folded.contains("brasa_fixture_fib"), "{folded}");
    assert_eq!(query(None).0, 404);
    assert_eq!(query(Some("team-other")).0, 404);

    let values = |tenant: Option<&str>| {
        let headers: Vec<(&str, &str)> = tenant.map(|t| ("X-Scope-OrgID", t)).into_iter().collect();
        let url = format!("{}/api/v1/labels/service_name/values", server.url);
        String::from_utf8(get(&client(), &url, &headers).1).unwrap()
    };
    assert!(values(Some("team-py")).contains("brasa-tenant"));
    assert!(!values(None).contains("brasa-tenant"));
}

/// The sum of a folded text's values.
fn total(folded: &str) -> u64 {
    folded
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}

/// The share of a folded text's value in stacks that hold `function`.
fn share(folded: &str, function: &str) -> f64 {
    let with: String = folded
        .lines()
        .filter(|l| l.split([';', ' ']).any(|frame| frame == function))
        .map(|l| format!("{l}\n"))
        .collect();
    total(&with) as f64 / total(folded).max(1) as f64
}

/// The folded text of `selector` over the last ten minutes.
fn folded(server: &Server, selector: &str) -> String {
    let (status, body) = get(
        &client(),
        &format!(
            "{}/api/v1/profile?query={}&from=now-10m&format=folded",
            server.url,
            enc(selector)
        ),
        &[],
    );
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{selector}: {text}");
    text
}

#[test]
fn tag_wrapper_tags_select_and_group_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let program = brasa_test_support::testdata("python/tagged.py");
    let status = Command::new("python3")
        .arg(&program)
        .args([&server.url, "brasa-tagged", RUN_SECONDS])
        .status()
        .unwrap();
    assert!(status.success());

    // The dynamic tag is a label like any other.
    let agent = client();
    let (_, names) = get(&agent, &format!("{}/api/v1/labels", server.url), &[]);
    assert!(String::from_utf8_lossy(&names).contains("\"request\""));
    let (_, values) = get(
        &agent,
        &format!("{}/api/v1/labels/request/values", server.url),
        &[],
    );
    let values: serde_json::Value = serde_json::from_slice(&values).unwrap();
    assert_eq!(values["data"], serde_json::json!(["fast", "slow"]));

    // Selecting on it keeps that tag's samples: the client switches tags
    // a little after the function does, so a few samples at the edges
    // carry the other tag's function.
    let fast = folded(&server, r#"{service_name="brasa-tagged",request="fast"}"#);
    let slow = folded(&server, r#"{service_name="brasa-tagged",request="slow"}"#);
    let everything = folded(&server, r#"{service_name="brasa-tagged"}"#);
    let (own, other) = (
        share(&fast, "brasa_fixture_fast"),
        share(&fast, "brasa_fixture_slow"),
    );
    assert!(
        own > 0.8 && other < 0.1,
        "fast: {own} fast, {other} slow in\n{fast}"
    );
    let (own, other) = (
        share(&slow, "brasa_fixture_slow"),
        share(&slow, "brasa_fixture_fast"),
    );
    assert!(
        own > 0.8 && other < 0.1,
        "slow: {own} slow, {other} fast in\n{slow}"
    );
    assert_eq!(
        total(&fast) + total(&slow),
        total(&everything),
        "every sample has one of the two tags"
    );

    // Grouped on it, the chart has one line per tag, slow the larger.
    let (status, body) = get(
        &agent,
        &format!(
            "{}/api/v1/series?query={}&from=now-10m&step=1h&group_by=request",
            server.url,
            enc(r#"{service_name="brasa-tagged"}"#)
        ),
        &[],
    );
    let chart: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{chart}");
    let total = |tag: &str| -> f64 {
        chart["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|line| line["labels"]["request"] == tag)
            .unwrap_or_else(|| panic!("no {tag} line in {chart}"))["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].as_f64().unwrap())
            .sum()
    };
    let (fast, slow) = (total("fast"), total("slow"));
    assert!(fast > 0.0 && slow > 2.0 * fast, "fast {fast}, slow {slow}");
}
