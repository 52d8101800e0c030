//! A real Garage cluster (an S3-compatible object store, version 2.5) on
//! loopback ports, for the tests of Brasa servers that share a bucket.
//! `scripts/garage-cluster.sh` starts it in a fresh temporary folder;
//! [`Garage`] stops and restarts its nodes, reads and writes objects
//! (signed by curl, independent of the S3 client Brasa uses), and kills
//! the nodes when dropped.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::Mutex,
};

use crate::server::enc;

/// The Garage version that `scripts/setup.sh` installs and these tests
/// know the commands of.
pub const VERSION: &str = "2.5.0";

/// Upper bound on one S3 request of these helpers. Generous: through a
/// node that has not yet noticed a killed peer, a request can stall for up
/// to 15 s (see [`Garage::stop_node`]).
const REQUEST_SECONDS: &str = "60";

/// A running Garage cluster: every node on 127.0.0.1, the bucket `brasa`
/// created and an access key allowed to read, write and own it.
///
/// With 1 to 3 nodes every node holds a copy of every object, and a
/// request needs a majority of them (Garage's default consistency): a
/// 3-node cluster keeps serving with one node down.
///
/// Nodes are numbered from 0 here (`i`), from 1 in the folder's file names.
pub struct Garage {
    /// Configs, data and logs of the nodes (`node-N.toml`, `node-N/`,
    /// `node-N.log`, N from 1). Kept when a test panics.
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    binary: PathBuf,
    endpoints: Vec<String>,
    access_key: String,
    secret_key: String,
    region: String,
    bucket: String,
    /// Which nodes [`Garage::stop_node`] stopped.
    stopped: Mutex<Vec<bool>>,
}

impl Garage {
    /// Starts a cluster of `nodes` nodes and returns once a signed S3
    /// request works through each of them. Panics when `garage` is not
    /// installed or the cluster does not come up (with the script's
    /// reason).
    pub fn start(nodes: usize) -> Self {
        assert!(nodes >= 1, "a Garage cluster needs a node");
        let binary = binary();
        let dir = tempfile::Builder::new()
            .prefix("brasa-garage-")
            .tempdir()
            .expect("create a folder for the Garage cluster");
        let path = dir.path().to_owned();
        let out = script(&binary, &[path.as_os_str(), nodes.to_string().as_ref()]);
        let assignments = String::from_utf8(out.stdout).expect("the script prints text");
        let var = |name: &str| {
            assignments
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("garage-cluster.sh printed no {name}: {assignments:?}"))
                .to_owned()
        };
        let endpoints: Vec<String> = var("S3_ENDPOINTS").split(',').map(str::to_owned).collect();
        assert_eq!(endpoints.len(), nodes, "{assignments}");
        assert_eq!(endpoints[0], var("S3_ENDPOINT"), "{assignments}");
        Self {
            dir: Some(dir),
            path,
            binary,
            endpoints,
            access_key: var("AWS_ACCESS_KEY_ID"),
            secret_key: var("AWS_SECRET_ACCESS_KEY"),
            region: var("AWS_REGION"),
            bucket: var("S3_BUCKET"),
            stopped: Mutex::new(vec![false; nodes]),
        }
    }

    /// The first node's (node 0's) S3 API, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoints[0]
    }

    /// Every node's S3 API, in node order ([`stop_node`](Self::stop_node)'s
    /// `i`).
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The access key id (`GK` and 24 hex digits).
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret of [`access_key`](Self::access_key).
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The S3 region the nodes answer to (`garage`).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The bucket (`brasa`).
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `--storage` for objects under `prefix` of the bucket, through the
    /// first node:
    /// `s3://brasa/PREFIX?endpoint=http://127.0.0.1:PORT&region=garage`.
    pub fn storage_url(&self, prefix: &str) -> String {
        format!(
            "s3://{}/{prefix}?endpoint={}&region={}",
            self.bucket,
            self.endpoint(),
            self.region
        )
    }

    /// The credentials and region as a child process's environment:
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".to_owned(), self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), self.secret_key.clone()),
            ("AWS_REGION".to_owned(), self.region.clone()),
        ]
    }

    /// Writes the access key as `brasa server --storage-credentials` reads
    /// it, in `dir`; returns the file's path.
    pub fn credentials_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("garage-credentials");
        std::fs::write(
            &path,
            format!(
                "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
                self.access_key, self.secret_key
            ),
        )
        .expect("write the credentials file");
        path
    }

    /// SIGKILLs node `i` (from 0) and returns once its process is gone.
    /// Panics when it is not running.
    ///
    /// The other nodes keep their connections to it until writing to one
    /// fails: a request they send it meanwhile waits for an answer until
    /// their next write to it (another request, or the ping every 15 s)
    /// finds the connection dead. [`settle`](Self::settle) waits until
    /// they all have.
    pub fn stop_node(&self, i: usize) {
        self.on_node("--kill-node", i);
        self.stopped.lock().unwrap()[i] = true;
    }

    /// Starts node `i` (from 0) again, with its config and data, and
    /// returns once its S3 API answers and it and every running node are
    /// connected to each other. Panics when it is running already.
    pub fn start_node(&self, i: usize) {
        self.on_node("--start-node", i);
        self.stopped.lock().unwrap()[i] = false;
    }

    /// Returns once every running node is connected to exactly the running
    /// nodes: after [`stop_node`](Self::stop_node), once they have all
    /// noticed (up to 15 s), so that no request stalls on the stopped node.
    pub fn settle(&self) {
        script(&self.binary, &["--settle".as_ref(), self.path.as_os_str()]);
    }

    /// A signed S3 request through node `i` (from 0): the status, 0 when
    /// nothing answered (the node is stopped), and the body. `path` is what
    /// follows `/BUCKET/`: an object key, or `?QUERY` on the bucket, with
    /// its query already percent-encoded (as [`crate::server::enc`] does):
    /// curl signs the query as it is given.
    pub fn request(
        &self,
        i: usize,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> (u16, Vec<u8>) {
        let url = format!("{}/{}/{path}", self.endpoints[i], self.bucket);
        let mut curl = Command::new("curl");
        curl.args(["-sS", "--max-time", REQUEST_SECONDS, "-X", method])
            .args(["-w", "\n%{http_code}"])
            .arg("--aws-sigv4")
            .arg(format!("aws:amz:{}:s3", self.region))
            .arg("--user")
            .arg(format!("{}:{}", self.access_key, self.secret_key))
            // Garage requires it, and curl 7.88 does not send it by itself.
            .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if body.is_some() {
            curl.args([
                "--data-binary",
                "@-",
                "-H",
                "Content-Type: application/octet-stream",
            ]);
        }
        let mut child = curl.arg(&url).spawn().expect("curl runs");
        let mut stdin = child.stdin.take().unwrap();
        if let Some(body) = body {
            stdin.write_all(body).expect("curl reads the body");
        }
        drop(stdin);
        let mut out = child.wait_with_output().expect("curl runs").stdout;
        let newline = out
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap_or_else(|| panic!("{method} {url}: curl printed no status"));
        let status = String::from_utf8_lossy(&out[newline + 1..])
            .parse()
            .unwrap();
        out.truncate(newline);
        (status, out)
    }

    /// Writes object `key` through node `i` (from 0); panics unless Garage
    /// answers 200.
    pub fn put(&self, i: usize, key: &str, body: &[u8]) {
        let (status, answer) = self.request(i, "PUT", &enc_key(key), Some(body));
        assert_eq!(
            status,
            200,
            "PUT {key} through node {i}: {}",
            String::from_utf8_lossy(&answer)
        );
    }

    /// Object `key` read through node `i` (from 0); panics unless Garage
    /// answers 200.
    pub fn get(&self, i: usize, key: &str) -> Vec<u8> {
        let (status, body) = self.request(i, "GET", &enc_key(key), None);
        assert_eq!(
            status,
            200,
            "GET {key} through node {i}: {}",
            String::from_utf8_lossy(&body)
        );
        body
    }

    /// The keys of every object under `prefix` (a plain prefix of the key:
    /// `load/segments/`), sorted, listed through the first running node.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        self.list(prefix, 1000)
    }

    /// [`keys`](Self::keys), asking for `page` keys at a time (S3's
    /// listings are pages of at most 1000).
    fn list(&self, prefix: &str, page: usize) -> Vec<String> {
        let node = self
            .stopped
            .lock()
            .unwrap()
            .iter()
            .position(|stopped| !stopped)
            .expect("a running node to list through");
        let mut keys = Vec::new();
        let mut token = None::<String>;
        loop {
            // Parameters in sorted order, as the signature's canonical query.
            let mut query = "?".to_owned();
            if let Some(token) = &token {
                query += &format!("continuation-token={}&", enc(token));
            }
            query += &format!("list-type=2&max-keys={page}&prefix={}", enc(prefix));
            let (status, body) = self.request(node, "GET", &query, None);
            let body = String::from_utf8_lossy(&body);
            assert_eq!(status, 200, "listing {prefix} through node {node}: {body}");
            keys.extend(elements(&body, "Key"));
            token = elements(&body, "NextContinuationToken").pop();
            if token.is_none() {
                return keys;
            }
        }
    }

    /// The folder of the cluster's configs, data and logs.
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// The config of node `i` (from 0), for `garage -c`.
    pub fn config(&self, i: usize) -> PathBuf {
        self.path.join(format!("node-{}.toml", self.node(i)))
    }

    /// The log of node `i` (from 0) so far, across its restarts.
    pub fn log(&self, i: usize) -> String {
        let path = self.path.join(format!("node-{}.log", self.node(i)));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The `garage` command line tool run against node `i` (from 0):
    /// `garage -c CONFIG`, to which a test adds its subcommand
    /// (`bucket info brasa`, `status`, ...).
    pub fn cli(&self, i: usize) -> Command {
        let mut command = Command::new(&self.binary);
        // Another cluster's settings would redirect or override this one's.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GARAGE_") {
                command.env_remove(name);
            }
        }
        command.arg("-c").arg(self.config(i));
        command
    }

    /// Node `i`'s number in the script's file names, from 1.
    fn node(&self, i: usize) -> String {
        assert!(
            i < self.endpoints.len(),
            "node {i} of a {}-node cluster",
            self.endpoints.len()
        );
        (i + 1).to_string()
    }

    /// Runs `scripts/garage-cluster.sh MODE DIR N` on node `i` (from 0).
    fn on_node(&self, mode: &str, i: usize) {
        let n = self.node(i);
        script(
            &self.binary,
            &[mode.as_ref(), self.path.as_os_str(), n.as_ref()],
        );
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = Command::new(script_path())
            .arg("--stop")
            .arg(&self.path)
            .env("BRASA_GARAGE", &self.binary)
            .output();
        // The nodes' logs say why a failing test failed.
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                eprintln!(
                    "the Garage cluster's logs are kept in {}",
                    dir.keep().display()
                );
            }
        }
    }
}

/// An object key as a URL path: percent-encoded but for its `/`.
fn enc_key(key: &str) -> String {
    key.split('/').map(enc).collect::<Vec<_>>().join("/")
}

/// The texts of the `<NAME>` elements of an XML answer.
fn elements(xml: &str, name: &str) -> Vec<String> {
    let close = format!("</{name}>");
    xml.split(&format!("<{name}>"))
        .skip(1)
        .filter_map(|s| Some(unescape(s.split_once(close.as_str())?.0)))
        .collect()
}

/// Resolves XML's character entities.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The `garage` binary: on `PATH`, else in `~/.cargo/bin`, where
/// `scripts/setup.sh` installs it. Panics saying so when it is neither.
pub fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("garage"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let in_cargo = std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo/bin/garage"));
    on_path
        .into_iter()
        .chain(in_cargo)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "garage {VERSION} is not installed (neither on PATH nor in ~/.cargo/bin): \
                 run scripts/setup.sh"
            )
        })
}

fn script_path() -> PathBuf {
    crate::repo_root().join("scripts/garage-cluster.sh")
}

/// Runs `scripts/garage-cluster.sh ARGS` with `garage`; panics with its
/// stderr when it fails.
fn script(garage: &Path, args: &[&std::ffi::OsStr]) -> Output {
    let out = Command::new(script_path())
        .args(args)
        .env("BRASA_GARAGE", garage)
        .output()
        .expect("scripts/garage-cluster.sh runs");
    assert!(
        out.status.success(),
        "scripts/garage-cluster.sh {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::Garage;

    #[test]
    fn listings_go_from_page_to_page() {
        let garage = Garage::start(1);
        let all: Vec<String> = (0..5).map(|n| format!("many/{n}")).collect();
        for key in &all {
            garage.put(0, key, b"x");
        }
        garage.put(0, "other/&<key> +=", b"x");
        assert_eq!(garage.list("many/", 2), all);
        assert_eq!(garage.list("many/", 1000), all);
        assert_eq!(garage.keys("other/"), ["other/&<key> +="]);
        assert_eq!(garage.keys("none/"), Vec::<String>::new());
    }
}
