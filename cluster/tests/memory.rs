//! Servers on one in-memory bucket that loses, refuses and delays
//! requests on demand: the write path, following, deduplication,
//! compaction, garbage collection and retention, without a network.

use std::{
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use brasa_cluster::{Cluster, ClusterOptions, Error};
use brasa_profile::folded::Folded;
use brasa_store::{labels::Labels, matcher::Matcher, pack::Packed, Store, StoreOptions};
use futures_util::{stream::BoxStream, TryStreamExt};
use object_store::{
    memory::InMemory, path::Path, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// An in-memory bucket whose next PUTs fail on demand.
#[derive(Debug, Default)]
struct Faulty {
    inner: InMemory,
    /// PUTs to refuse (503) before writing.
    refuse: AtomicUsize,
    /// PUTs to write and then answer with an error, as a lost response.
    lose: AtomicUsize,
}

impl fmt::Display for Faulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty")
    }
}

fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn injected() -> object_store::Error {
    object_store::Error::Generic {
        store: "Faulty",
        source: "injected: 503 Service Unavailable".into(),
    }
}

#[async_trait::async_trait]
impl ObjectStore for Faulty {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if location.as_ref().contains("/segments/") {
            if take(&self.refuse) {
                return Err(injected());
            }
            if take(&self.lose) {
                self.inner.put_opts(location, payload, opts).await?;
                return Err(injected());
            }
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn delete(&self, location: &Path) -> object_store::Result<()> {
        self.inner.delete(location).await
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.copy_if_not_exists(from, to).await
    }
}

/// One server: its cluster handle and its local store.
struct Server {
    cluster: Cluster,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

fn options() -> ClusterOptions {
    let mut options = ClusterOptions::new(Duration::from_secs(3600));
    options.flush_interval = Duration::from_millis(20);
    options.poll_interval = Duration::from_millis(30);
    options.heartbeat_interval = Duration::from_millis(100);
    // Compactions run when a test asks for one.
    options.compaction_interval = Duration::from_secs(3600);
    options.grace = Duration::from_secs(2);
    options
}

async fn server(bucket: &Arc<Faulty>, options: ClusterOptions) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), StoreOptions::default()).unwrap());
    let cluster = Cluster::start(bucket.clone(), "test", store.clone(), options)
        .await
        .unwrap();
    Server {
        cluster,
        store,
        _dir: dir,
    }
}

/// Now, in unix ns: profiles older than the retention are dropped.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn packed(service: &str, time_nanos: u64, folded: &str) -> Packed {
    Packed {
        labels: Labels::new([("__name__", "process_cpu"), ("service", service)]).unwrap(),
        profile: Folded::parse(folded).unwrap().to_profile(),
        time_nanos,
    }
}

/// (profiles, folded answer) for `service` in `store`.
fn answer(store: &Store, service: &str) -> (usize, String) {
    let merged = store
        .merge(&[Matcher::equal("service", service)], 0, u64::MAX)
        .unwrap();
    let folded = merged
        .profile
        .map(|p| Folded::from_profile(&p, 0).to_text())
        .unwrap_or_default();
    (merged.profiles, folded)
}

/// Waits until `store` answers `want` for `service`.
async fn wait_for(store: &Store, service: &str, want: &(usize, String)) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = answer(store, service);
        if &got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{service}: {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn keys(bucket: &Faulty, under: &str) -> Vec<String> {
    let prefix = Path::from(format!("test/{under}"));
    let listed: Vec<ObjectMeta> = bucket.list(Some(&prefix)).try_collect().await.unwrap();
    listed.into_iter().map(|o| o.location.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_answer_each_others_profiles_before_and_after_compaction() {
    let bucket = Arc::new(Faulty::default());
    let a = server(&bucket, options()).await;
    let b = server(&bucket, options()).await;
    let t = now();
    for i in 0..10u64 {
        a.cluster
            .append(vec![packed("api", t + i, "main;work 3\nmain 1\n")])
            .await
            .unwrap();
        b.cluster
            .append(vec![packed("db", t + i, "main;query 2\n")])
            .await
            .unwrap();
    }
    let api = (10, "main 10\nmain;work 30\n".to_owned());
    let db = (10, "main;query 20\n".to_owned());
    for s in [&a, &b] {
        wait_for(&s.store, "api", &api).await;
        wait_for(&s.store, "db", &db).await;
    }
    assert!(keys(&bucket, "segments").await.len() >= 2);

    assert!(a.cluster.compact().await.unwrap());
    let blocks = keys(&bucket, "blocks").await;
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    // Replaced segments stay for the grace period, then go.
    assert!(!keys(&bucket, "segments").await.is_empty());
    tokio::time::sleep(options().grace).await;
    assert!(a.cluster.compact().await.unwrap());
    assert_eq!(keys(&bucket, "segments").await, Vec::<String>::new());

    // A server that starts now reads the block alone, and answers the same.
    let c = server(&bucket, options()).await;
    assert_eq!(answer(&c.store, "api"), api);
    assert_eq!(answer(&c.store, "db"), db);
    for s in [&a, &b] {
        assert_eq!(answer(&s.store, "api"), api);
        assert_eq!(answer(&s.store, "db"), db);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_retried_after_a_lost_response_is_stored_once() {
    let bucket = Arc::new(Faulty::default());
    let a = server(&bucket, options()).await;
    let b = server(&bucket, options()).await;
    bucket.lose.store(1, Ordering::SeqCst);
    let t = now();
    let push = || vec![packed("api", t, "main;work 7\n")];
    let error = a.cluster.append(push()).await.unwrap_err();
    assert!(matches!(error, Error::NotDurable(_)), "{error}");
    assert!(error.is_retryable());
    a.cluster.append(push()).await.unwrap();
    let once = (1, "main;work 7\n".to_owned());
    wait_for(&a.store, "api", &once).await;
    wait_for(&b.store, "api", &once).await;
    // Both segments hold it; so does the block made from them, once.
    assert_eq!(keys(&bucket, "segments").await.len(), 2);
    assert!(a.cluster.compact().await.unwrap());
    let c = server(&bucket, options()).await;
    assert_eq!(answer(&c.store, "api"), once);
    assert_eq!(answer(&b.store, "api"), once);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_is_not_acknowledged_and_loses_nothing_earlier() {
    let bucket = Arc::new(Faulty::default());
    let a = server(&bucket, options()).await;
    a.cluster
        .append(vec![packed("api", now(), "main;early 1\n")])
        .await
        .unwrap();
    bucket.refuse.store(1, Ordering::SeqCst);
    let error = a
        .cluster
        .append(vec![packed("api", now(), "main;late 1\n")])
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(answer(&a.store, "api"), (1, "main;early 1\n".to_owned()));
    let b = server(&bucket, options()).await;
    assert_eq!(answer(&b.store, "api"), (1, "main;early 1\n".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_old_blocks_from_the_bucket() {
    let bucket = Arc::new(Faulty::default());
    let mut short = options();
    short.retention = Duration::from_secs(60);
    short.grace = Duration::ZERO;
    let a = server(&bucket, short.clone()).await;
    let now = now();
    a.cluster
        .append(vec![
            packed("old", now - 3_600_000_000_000, "main;old 1\n"),
            packed("new", now, "main;new 1\n"),
        ])
        .await
        .unwrap();
    assert!(a.cluster.compact().await.unwrap());
    // With no grace, the next job deletes the replaced segment.
    assert!(a.cluster.compact().await.unwrap());
    assert_eq!(keys(&bucket, "segments").await, Vec::<String>::new());
    let c = server(&bucket, short).await;
    assert_eq!(answer(&c.store, "old"), (0, String::new()));
    assert_eq!(answer(&c.store, "new"), (1, "main;new 1\n".to_owned()));
}
