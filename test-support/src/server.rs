//! Runs `brasa server` as a child process on a loopback port, and a small
//! blocking HTTP client for the tests that talk to it.

use std::{
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use crate::{url_in, wait_until, Lines};

/// How long a starting server (or `brasa up`) may take to print its
/// address.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound on any single request in these tests.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest response body the tests read.
const MAX_RESPONSE_BYTES: u64 = 256 << 20;

/// A `brasa server` child process, killed when dropped.
pub struct Server {
    child: Child,
    _stdout: Lines,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Server {
    /// Starts `brasa server` on a free loopback port with data in `data`.
    pub fn start(data: &Path, extra: &[&str]) -> Self {
        Self::start_at("127.0.0.1:0", data, extra)
    }

    /// Starts `brasa server` listening on `listen` with data in `data`.
    pub fn start_at(listen: &str, data: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(crate::brasa_binary())
            .args(["server", "--listen", listen, "--data"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("brasa server starts");
        // Read on a thread of its own, so the server never blocks on a full pipe.
        let stdout = Lines::read(child.stdout.take().unwrap());
        let url = url_in(&stdout.wait_for(START_TIMEOUT, |l| l.contains("http://")));
        Self {
            child,
            url,
            _stdout: stdout,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then its exit status once it has stopped, which must be
    /// within `limit`.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {}", self.child.id());
        let mut status = None;
        wait_until("brasa server stops on SIGTERM", limit, || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that returns error statuses as answers, with a timeout.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .new_agent()
}

/// POSTs `body`; returns the status and body text.
pub fn post(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String), ureq::Error> {
    let mut request = agent.post(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut response = request.send(body)?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
        .unwrap_or_default();
    Ok((status, text))
}

/// GETs `url`; returns the status and body bytes.
pub fn get(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let mut request = agent.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_vec()
        .unwrap();
    (status, body)
}

/// Percent-encodes a query parameter value.
pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// gzip pprof of a folded-stacks profile; with `time_nanos` 0 the server
/// stores it at its arrival time.
pub fn pprof_gz(folded: &str, time_nanos: i64) -> Vec<u8> {
    let mut p = brasa_profile::folded::Folded::parse(folded)
        .unwrap()
        .to_profile();
    p.time_nanos = time_nanos;
    brasa_profile::codec::encode(&p)
}

/// The folded stacks of everything matching `selector`, ever.
pub fn folded_all(agent: &ureq::Agent, url: &str, selector: &str) -> String {
    let (status, body) = get(
        agent,
        &format!(
            "{url}/api/v1/profile?query={}&from=0&to=now%2B1h&format=folded",
            enc(selector)
        ),
        &[],
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    String::from_utf8(body).unwrap()
}
