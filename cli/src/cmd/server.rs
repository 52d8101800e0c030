//! `brasa server [--listen ADDR] [--data DIR] [--storage s3://BUCKET/PREFIX?endpoint=URL&region=R [--storage-credentials FILE]] [--config FILE] [--token-file F] [--retention DUR] [--ingest-in-flight N] [--ingest-queue N] [--query-in-flight N] [--query-queue N]`

use std::{
    net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, thread::JoinHandle,
    time::Duration,
};

use anyhow::Context;
use brasa_cluster::{Cluster, ClusterOptions, Credentials, Location};
use brasa_store::{Store, StoreOptions};
use brasa_web::{auth::Tokens, scrape::ScrapeConfig, serve, AppState, ServerOptions};
use tokio::signal::unix::{signal, SignalKind};

/// Run the Brasa server: ingest profiles over HTTP, store them, answer queries.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    place: Place,
    #[command(flatten)]
    pull: Pull,
    /// File with one bearer token per line, each optionally followed by its scopes
    /// (ingest, read, admin; all when none is named); when set, every data endpoint requires
    /// one, and the web page signs in with one. Re-read when it changes and on SIGHUP.
    #[arg(long, value_name = "F")]
    token_file: Option<PathBuf>,
    /// Delete profiles older than this (e.g. 14d, 36h).
    #[arg(long, default_value = "14d", value_name = "DUR", value_parser = crate::args::parse_duration)]
    retention: Duration,
    #[command(flatten)]
    admission: Admission,
    #[command(flatten)]
    shared: Shared,
}

/// A bucket shared with other servers instead of the data directory alone.
#[derive(clap::Args)]
struct Shared {
    /// Keep the profiles in an S3-compatible bucket that several servers share
    /// (s3://BUCKET/PREFIX?endpoint=http://HOST:PORT&region=REGION); --data is then this
    /// server's cache of it, rebuilt from the bucket when missing.
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// File with AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines (default: those
    /// environment variables).
    #[arg(long, value_name = "FILE", requires = "storage")]
    storage_credentials: Option<PathBuf>,
    /// How long pushes are gathered into one segment before it is written.
    #[arg(long, value_name = "DUR", hide = true, value_parser = crate::args::parse_duration)]
    flush_interval: Option<Duration>,
    /// How often the server reads what the others wrote.
    #[arg(long, value_name = "DUR", hide = true, value_parser = crate::args::parse_duration)]
    poll_interval: Option<Duration>,
    /// How often the server tries to compact the bucket.
    #[arg(long, value_name = "DUR", hide = true, value_parser = crate::args::parse_duration)]
    compaction_interval: Option<Duration>,
    /// How long replaced objects stay in the bucket.
    #[arg(long, value_name = "DUR", hide = true, value_parser = crate::args::parse_duration)]
    grace: Option<Duration>,
    /// How often the server rewrites its heartbeat.
    #[arg(long, value_name = "DUR", hide = true, value_parser = crate::args::parse_duration)]
    heartbeat_interval: Option<Duration>,
}

/// A bucket to join, with how to use it.
pub struct Bucket {
    location: Location,
    credentials: Credentials,
    options: ClusterOptions,
}

impl Shared {
    fn bucket(&self, retention: Duration) -> anyhow::Result<Option<Bucket>> {
        let Some(url) = &self.storage else {
            return Ok(None);
        };
        let mut options = ClusterOptions::new(retention);
        let set = |slot: &mut Duration, value: Option<Duration>| {
            if let Some(value) = value {
                *slot = value;
            }
        };
        set(&mut options.flush_interval, self.flush_interval);
        set(&mut options.poll_interval, self.poll_interval);
        set(&mut options.compaction_interval, self.compaction_interval);
        set(&mut options.grace, self.grace);
        set(&mut options.heartbeat_interval, self.heartbeat_interval);
        Ok(Some(Bucket {
            location: Location::parse(url)?,
            credentials: Credentials::load(self.storage_credentials.as_deref())?,
            options,
        }))
    }
}

/// How many requests of each kind the server takes at once; past the
/// queue, requests are answered 429 with Retry-After.
#[derive(clap::Args)]
struct Admission {
    /// Ingest requests at work at once [default: 16, or 1024 with --storage, where each
    /// waits for its segment to be written].
    #[arg(long, value_name = "N")]
    ingest_in_flight: Option<usize>,
    /// Ingest requests waiting for a turn before more are refused.
    #[arg(long, value_name = "N", default_value_t = brasa_web::limits::DEFAULT_INGEST_QUEUED)]
    ingest_queue: usize,
    /// Queries at work at once.
    #[arg(long, value_name = "N", default_value_t = brasa_web::limits::DEFAULT_QUERY_IN_FLIGHT)]
    query_in_flight: usize,
    /// Queries waiting for a turn before more are refused.
    #[arg(long, value_name = "N", default_value_t = brasa_web::limits::DEFAULT_QUERY_QUEUED)]
    query_queue: usize,
    /// Most series one selector may select (over it, a query is a 422).
    #[arg(long, value_name = "N", default_value_t = brasa_store::query_limits::DEFAULT_MAX_QUERY_SERIES)]
    max_query_series: usize,
    /// Most stored profiles one query may read.
    #[arg(long, value_name = "N", default_value_t = brasa_store::query_limits::DEFAULT_MAX_QUERY_PROFILES)]
    max_query_profiles: usize,
    /// Most distinct stacks in one answer.
    #[arg(long, value_name = "N", default_value_t = brasa_store::query_limits::DEFAULT_MAX_QUERY_STACKS)]
    max_query_stacks: usize,
    /// Longest time one query may take.
    #[arg(long, value_name = "DUR",
          default_value_t = humantime::Duration::from(brasa_store::query_limits::DEFAULT_MAX_QUERY_TIME),
          value_parser = |t: &str| crate::args::parse_duration(t).map(humantime::Duration::from))]
    max_query_time: humantime::Duration,
    /// Free space (MiB) kept on the data directory's filesystem: below it, ingest is
    /// refused with 507 while queries keep answering, until space comes back; 0: no reserve.
    #[arg(long, value_name = "MIB", default_value_t = brasa_store::disk_space::DEFAULT_MIN_FREE_BYTES >> 20)]
    min_free_mib: u64,
    /// Memory (MiB) the server holds on purpose: sled's cache, the symbol tables kept loaded
    /// and running queries' merges share it; a query that would need more than its share
    /// fails (422, or 503 with Retry-After while other queries hold it).
    #[arg(long, value_name = "MIB", default_value_t = brasa_store::memory::DEFAULT_MEMORY_BUDGET >> 20)]
    memory_budget_mib: u64,
}

impl Admission {
    fn store_options(&self) -> StoreOptions {
        let mut options = StoreOptions::default();
        options.query.max_series = self.max_query_series;
        options.query.max_profiles = self.max_query_profiles;
        options.query.max_stacks = self.max_query_stacks;
        options.query.max_time = *self.max_query_time;
        options.min_free_bytes = self.min_free_mib << 20;
        options.memory_budget = self.memory_budget_mib << 20;
        options
    }
}

/// Where a server listens and keeps its data (shared with `brasa up`).
#[derive(clap::Args)]
pub struct Place {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7171", value_name = "ADDR")]
    pub listen: String,
    /// Data directory (created when missing).
    #[arg(long, default_value = "./brasa-data", value_name = "DIR")]
    pub data: PathBuf,
}

/// What a server pulls (shared with `brasa up`).
#[derive(clap::Args)]
pub struct Pull {
    /// YAML file with `scrape_configs` (the shape of Parca's parca.yaml):
    /// targets whose Go /debug/pprof endpoints the server scrapes.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl Pull {
    /// Reads the scrape config into `options`, when one is given.
    pub fn apply(&self, options: &mut ServerOptions) -> anyhow::Result<()> {
        if let Some(path) = &self.config {
            // The error names the file.
            options.scrape = ScrapeConfig::load(path)?;
        }
        Ok(())
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let mut options = ServerOptions::default();
    options.retention = args.retention;
    let lanes = &mut options.limits;
    lanes.ingest.in_flight =
        args.admission
            .ingest_in_flight
            .unwrap_or(if args.shared.storage.is_some() {
                brasa_cluster::INGEST_IN_FLIGHT
            } else {
                brasa_web::limits::DEFAULT_INGEST_IN_FLIGHT
            });
    lanes.ingest.queued = args.admission.ingest_queue;
    lanes.query.in_flight = args.admission.query_in_flight;
    lanes.query.queued = args.admission.query_queue;
    args.pull.apply(&mut options)?;
    if let Some(path) = &args.token_file {
        options.tokens = Some(Tokens::from_file(path)?);
    }
    let bucket = args.shared.bucket(args.retention)?;
    let (address, server) = start(
        &args.place,
        args.admission.store_options(),
        options,
        bucket,
        || {},
    )?;
    // Scripts and tests read this line to find the port.
    println!(
        "brasa server listening on http://{address} (data in {})",
        args.place.data.display()
    );
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    Ok(ExitCode::SUCCESS)
}

/// Opens the store (and joins `bucket`, when given, with the store as its
/// cache) and serves it from a thread of its own until SIGINT or SIGTERM,
/// then calls `on_stop` (`brasa up` stops its agent there); the data is
/// flushed before the thread ends. The signals are caught from
/// the moment this returns, so a caller may announce the address at once.
pub fn start(
    place: &Place,
    store_options: StoreOptions,
    options: ServerOptions,
    bucket: Option<Bucket>,
    on_stop: impl FnOnce() + Send + 'static,
) -> anyhow::Result<(SocketAddr, JoinHandle<anyhow::Result<()>>)> {
    let store = Store::open(&place.data, store_options).map_err(|error| {
        // These name the directory themselves.
        if matches!(
            error,
            brasa_store::Error::Locked { .. }
                | brasa_store::Error::FormatMismatch { .. }
                | brasa_store::Error::FormatUnreadable { .. }
                | brasa_store::Error::Damaged { .. }
        ) {
            anyhow::Error::from(error)
        } else {
            anyhow::Error::from(error).context(format!(
                "opening the data directory {}",
                place.data.display()
            ))
        }
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&place.listen))
        .with_context(|| format!("listening on {}", place.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let (mut interrupt, mut terminate) = {
        let _in_runtime = runtime.enter();
        let catch = |kind| signal(kind).context("catching SIGINT and SIGTERM");
        (
            catch(SignalKind::interrupt())?,
            catch(SignalKind::terminate())?,
        )
    };
    let state = match bucket {
        None => AppState::new(store, options),
        Some(bucket) => {
            let client = bucket.location.open(&bucket.credentials)?;
            let store = Arc::new(store);
            let cluster = runtime
                .block_on(Cluster::start(
                    client,
                    &bucket.location.prefix,
                    store.clone(),
                    bucket.options,
                ))
                .with_context(|| format!("joining the bucket {}", bucket.location.bucket))?;
            AppState::clustered(store, cluster, options)
        }
    };
    let handle = std::thread::Builder::new()
        .name("brasa-server".into())
        .spawn(move || {
            runtime
                .block_on(serve(listener, state, async move {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                    on_stop();
                }))
                .context("serving HTTP")
        })
        .context("starting the server thread")?;
    Ok((address, handle))
}
