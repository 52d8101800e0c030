//! `brasa server [--listen ADDR] [--data DIR] [--token-file F] [--retention DUR]`

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context;
use brasa_store::{Store, StoreOptions};
use brasa_web::{auth::Tokens, serve, AppState, ServerOptions};

/// Run the Brasa server: ingest profiles over HTTP, store them, answer queries.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7171", value_name = "ADDR")]
    listen: String,
    /// Data directory (created when missing).
    #[arg(long, default_value = "./brasa-data", value_name = "DIR")]
    data: PathBuf,
    /// File with one bearer token per line; when set, every endpoint but /healthz requires one.
    #[arg(long, value_name = "F")]
    token_file: Option<PathBuf>,
    /// Delete profiles older than this (e.g. 14d, 36h).
    #[arg(long, default_value = "14d", value_name = "DUR", value_parser = crate::args::parse_duration)]
    retention: Duration,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let mut options = ServerOptions::default();
    options.retention = args.retention;
    if let Some(path) = &args.token_file {
        options.tokens = Some(Tokens::from_file(path)?);
    }
    let store = Store::open(&args.data, StoreOptions::default())
        .with_context(|| format!("opening the data directory {}", args.data.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let address = listener.local_addr().context("reading the bound address")?;
        // Scripts and tests read this line to find the port.
        println!(
            "brasa server listening on http://{address} (data in {})",
            args.data.display()
        );
        serve(listener, AppState::new(store, options), shutdown_signal())
            .await
            .context("serving HTTP")
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}
