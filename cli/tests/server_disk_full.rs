//! A data directory on a small filesystem (a 24 MiB tmpfs), filled by
//! ingest: pushes turn into 507 with a message while the server stays up
//! and answers every profile it acknowledged; once space is freed,
//! ingest resumes without a restart. Needs root (it mounts the tmpfs).

use std::{path::PathBuf, process::Command, time::Duration};

use brasa_test_support::{server::*, wait_until};

/// The reserve the server keeps, in MiB.
const MIN_FREE_MIB: &str = "4";
/// Most pushes tried before the filesystem must be full.
const MAX_PUSHES: usize = 5_000;

/// A tmpfs mounted for the test, unmounted when dropped (then its
/// mount point is removed).
struct Tmpfs {
    path: PathBuf,
    _mount_point: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs needs root");
        Self {
            path: dir.path().to_owned(),
            _mount_point: dir,
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// A profile of 400 stacks of functions named after `n`, so each push
/// takes space of its own (new names, new stacks).
fn profile(n: usize) -> Vec<u8> {
    let folded: String = (0..400)
        .map(|i| {
            format!(
                "main;handler_{n}_{i};work_{n}_{} {}\n",
                i * 7919 % 1009,
                1 + i % 5
            )
        })
        .collect();
    pprof_gz(&folded, 0)
}

fn stored_profiles(agent: &ureq::Agent, url: &str) -> u64 {
    let (status, body) = get(
        agent,
        &format!(
            "{url}/api/v1/profile?query={}&from=0&to=now%2B1h&format=json",
            enc(r#"{service="fill"}"#)
        ),
        &[],
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["profiles"].as_u64().unwrap()
}

#[test]
fn a_full_disk_refuses_ingest_keeps_answering_and_recovers() {
    let fs = Tmpfs::mount("24m");
    // Room that the test gives back later.
    let ballast = fs.path.join("ballast");
    std::fs::write(&ballast, vec![1u8; 8 << 20]).unwrap();
    let mut server = Server::start(&fs.path.join("data"), &["--min-free-mib", MIN_FREE_MIB]);
    let agent = client();
    let ingest = format!("{}/api/v1/ingest?service=fill", server.url);

    let (mut acknowledged, mut refusal) = (0u64, None);
    for n in 0..MAX_PUSHES {
        let (status, text) = post(&agent, &ingest, &[], &profile(n)).unwrap();
        match status {
            200 => acknowledged += 1,
            507 => {
                refusal = Some(text);
                break;
            }
            other => panic!("push {n}: HTTP {other}: {text}"),
        }
    }
    let refusal = refusal.expect("the filesystem fills up");
    assert!(refusal.contains("free up space"), "{refusal}");
    assert!(acknowledged > 10, "only {acknowledged} pushes fit");
    // Still up, and every acknowledged profile answers.
    assert!(server.alive());
    assert_eq!(stored_profiles(&agent, &server.url), acknowledged);
    let (status, _) = post(&agent, &ingest, &[], &profile(MAX_PUSHES)).unwrap();
    assert_eq!(status, 507, "still full");

    // Space comes back: ingest resumes by itself.
    std::fs::remove_file(&ballast).unwrap();
    let mut n = MAX_PUSHES + 1;
    wait_until(
        "ingest resumes once space is freed",
        Duration::from_secs(15),
        || {
            n += 1;
            let (status, _) = post(&agent, &ingest, &[], &profile(n)).unwrap();
            if status == 200 {
                acknowledged += 1;
            }
            status == 200
        },
    );
    assert_eq!(stored_profiles(&agent, &server.url), acknowledged);
    server.terminate(Duration::from_secs(30));
}
