//! Tokens with scopes on a real `brasa server`: each token does what its
//! line in the token file grants and nothing else; the web UI's session
//! cookie works like its token; the server re-reads the token file when
//! it changes and on SIGHUP, and keeps its tokens when the new file is
//! broken.

use std::{fs::File, path::Path, process::Command, time::Duration};

use brasa_test_support::{server::*, wait_until};

const INGEST: &str = "ingest-token-0123456789abcdef";
const READ: &str = "read-token-0123456789abcdef00";
const ADMIN: &str = "admin-token-0123456789abcdef0";
/// How long the server may take to notice a changed token file.
const RELOAD_LIMIT: Duration = Duration::from_secs(15);

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn status_of(agent: &ureq::Agent, url: &str, auth: &[(&str, &str)]) -> u16 {
    get(agent, url, auth).0
}

/// The count of token file re-reads with `outcome`, from `/metrics`.
fn reloads(agent: &ureq::Agent, base: &str, outcome: &str) -> f64 {
    let admin = bearer(ADMIN);
    let (status, body) = get(
        agent,
        &format!("{base}/metrics"),
        &[("authorization", &admin)],
    );
    assert_eq!(status, 200);
    let wanted = format!("brasa_token_file_reloads_total{{outcome=\"{outcome}\"}} ");
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Rewrites `path` with `text` and gives it back its modification time,
/// so that only a SIGHUP can tell the server it changed.
fn rewrite_unnoticed(path: &Path, text: &str) {
    let before = std::fs::metadata(path).unwrap();
    assert_eq!(before.len(), text.len() as u64, "same length, same stamp");
    std::fs::write(path, text).unwrap();
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(before.modified().unwrap())
        .unwrap();
}

#[test]
fn tokens_do_what_their_scopes_grant() {
    let tmp = tempfile::tempdir().unwrap();
    let tokens = tmp.path().join("tokens");
    std::fs::write(
        &tokens,
        format!("# agents\n{INGEST} ingest\n{READ} read\n{ADMIN} admin\n"),
    )
    .unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &["--token-file", tokens.to_str().unwrap()],
    );
    let agent = client();
    let base = &server.url;
    let ingest_url = format!("{base}/api/v1/ingest?service=api");
    let labels_url = format!("{base}/api/v1/labels");
    let body = pprof_gz("main;work 3\n", 0);

    // Ingest: the ingest and admin tokens may push, the read token may not.
    let (status, text) = post(
        &agent,
        &ingest_url,
        &[("authorization", &bearer(READ))],
        &body,
    )
    .unwrap();
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("`ingest` scope"), "{text}");
    for token in [INGEST, ADMIN] {
        let (status, text) = post(
            &agent,
            &ingest_url,
            &[("authorization", &bearer(token))],
            &body,
        )
        .unwrap();
        assert_eq!(status, 200, "{text}");
    }
    // Reading: the read and admin tokens may, the ingest token may not.
    let (status, text) = get(&agent, &labels_url, &[("authorization", &bearer(INGEST))]);
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&text).contains("`read` scope"));
    for token in [READ, ADMIN] {
        let (status, text) = get(&agent, &labels_url, &[("authorization", &bearer(token))]);
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&text).contains("service"));
    }
    // Operations: admin alone.
    let metrics_url = format!("{base}/metrics");
    assert_eq!(
        status_of(&agent, &metrics_url, &[("authorization", &bearer(READ))]),
        403
    );
    assert_eq!(
        status_of(&agent, &metrics_url, &[("authorization", &bearer(ADMIN))]),
        200
    );
    // No credentials: 401, but the page itself and liveness are open.
    assert_eq!(status_of(&agent, &labels_url, &[]), 401);
    assert_eq!(status_of(&agent, &format!("{base}/"), &[]), 200);
    assert_eq!(status_of(&agent, &format!("{base}/healthz"), &[]), 200);

    // Sign in as the UI does: the cookie reads, and cannot push.
    let session_url = format!("{base}/api/v1/session");
    let (status, text) = post(
        &agent,
        &session_url,
        &[("content-type", "application/json")],
        format!(r#"{{"token": "{INGEST}x"}}"#).as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 401, "{text}");
    let mut response = agent
        .post(&session_url)
        .header("content-type", "application/json")
        .send(format!(r#"{{"token": "{READ}"}}"#))
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    assert!(!set_cookie.contains(READ), "the cookie is not the token");
    let _ = response.body_mut().read_to_string();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let with_cookie = [("cookie", cookie.as_str())];
    assert_eq!(status_of(&agent, &labels_url, &with_cookie), 200);
    let (status, _) = post(&agent, &ingest_url, &with_cookie, &body).unwrap();
    assert_eq!(status, 403);

    // A new token in the file works within seconds; a removed one stops,
    // and so do its sessions.
    const NEW: &str = "new-read-token-0123456789abcd";
    std::fs::write(
        &tokens,
        format!("{INGEST} ingest\n{ADMIN} admin\n{NEW} read\n"),
    )
    .unwrap();
    wait_until("the new token is accepted", RELOAD_LIMIT, || {
        status_of(&agent, &labels_url, &[("authorization", &bearer(NEW))]) == 200
    });
    assert_eq!(
        status_of(&agent, &labels_url, &[("authorization", &bearer(READ))]),
        401
    );
    assert_eq!(status_of(&agent, &labels_url, &with_cookie), 401);

    // A broken file is refused and the tokens before stay.
    let errors = reloads(&agent, base, "error");
    std::fs::write(&tokens, "too-short\n").unwrap();
    wait_until("the broken token file is refused", RELOAD_LIMIT, || {
        reloads(&agent, base, "error") > errors
    });
    assert_eq!(
        status_of(&agent, &labels_url, &[("authorization", &bearer(NEW))]),
        200
    );

    // SIGHUP re-reads a change the modification time does not show, and
    // does not stop the server.
    std::fs::write(&tokens, format!("{ADMIN} admin\n{NEW} read\n")).unwrap();
    wait_until("the repaired file is read", RELOAD_LIMIT, || {
        status_of(&agent, &labels_url, &[("authorization", &bearer(INGEST))]) == 401
    });
    const SWAP: &str = "swp-read-token-0123456789abcd";
    let swapped = format!("{ADMIN} admin\n{SWAP} read\n");
    rewrite_unnoticed(&tokens, &swapped);
    let hup = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_until("SIGHUP re-reads the token file", RELOAD_LIMIT, || {
        status_of(&agent, &labels_url, &[("authorization", &bearer(SWAP))]) == 200
    });
    assert_eq!(
        status_of(&agent, &labels_url, &[("authorization", &bearer(NEW))]),
        401
    );
}
