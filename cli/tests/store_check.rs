//! `brasa store check DIR` on a clean and a damaged data directory, and
//! `brasa server` refusing the damaged one with a message, not a panic.

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::Duration,
};

use brasa_test_support::{brasa, server::*, wait_until};

/// Profiles the test server is sent.
const PROFILES: usize = 12;

/// A data directory that a real server wrote `PROFILES` profiles to and
/// closed.
fn written_store(data: &Path) {
    let mut server = Server::start(data, &[]);
    let agent = client();
    for i in 0..PROFILES {
        let body = pprof_gz(&format!("main;handler;step_{i} {}\n", i + 1), 0);
        let uri = format!("{}/api/v1/ingest?service=checked", server.url);
        let (status, answer) = post(&agent, &uri, &[], &body).unwrap();
        assert_eq!(status, 200, "{answer}");
    }
    assert!(server.terminate(Duration::from_secs(30)).success());
}

fn store_check(data: &Path) -> Output {
    brasa()
        .args(["store", "check"])
        .arg(data)
        .stdin(Stdio::null())
        .output()
        .expect("brasa store check runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn store_check_names_the_damage_and_the_server_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    written_store(&data);

    let clean = store_check(&data);
    let stdout = text(&clean.stdout);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{stdout}{}",
        text(&clean.stderr)
    );
    assert!(
        stdout.contains(&format!("{PROFILES} profiles OK, 0 profiles damaged")),
        "{stdout}"
    );
    assert!(stdout.contains("is not damaged"), "{stdout}");
    assert!(!stdout.contains("damaged:"), "{stdout}");

    // Cut the database in half.
    let db = data.join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let damaged = store_check(&data);
    let stdout = text(&damaged.stdout);
    assert_eq!(
        damaged.status.code(),
        Some(1),
        "{stdout}{}",
        text(&damaged.stderr)
    );
    assert!(
        stdout.contains("damaged: db: it ends at commit"),
        "{stdout}"
    );
    assert!(stdout.contains("is damaged (1 item)"), "{stdout}");

    // The server refuses to start on it, with one clear line.
    let mut child = Command::new(brasa_test_support::brasa_binary())
        .args(["server", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("brasa server starts");
    let mut status = None;
    wait_until("brasa server exits", Duration::from_secs(30), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{} is damaged", db.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("run `brasa store check {}`", data.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!text(&output.stdout).contains("listening"));
}

#[test]
fn store_check_of_a_directory_without_a_store_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    for dir in [tmp.path().to_owned(), tmp.path().join("missing")] {
        let output = store_check(&dir);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with("brasa: error: checking the data directory"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}
