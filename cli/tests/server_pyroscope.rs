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
