//! `brasa up [--listen ADDR] [--data DIR]`: the server and an agent for
//! this host, in one process, on the embedded store.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use anyhow::Context;
use brasa_agent::interrupt::stop_on_interrupt;
use brasa_store::{Store, StoreOptions};
use brasa_web::{serve, AppState, ServerOptions};

use super::agent::{run_with as run_agent, AgentArgs};

/// How often the server checks whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(200);

/// Run the server and profile this host into it: the one command to try Brasa.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7171", value_name = "ADDR")]
    listen: String,
    /// Data directory (created when missing); the agent's spool lives in it too.
    #[arg(long, default_value = "./brasa-data", value_name = "DIR")]
    data: PathBuf,
    #[command(flatten)]
    agent: AgentArgs,
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let stop = stop_on_interrupt()?;
    let store = Store::open(&args.data, StoreOptions::default())
        .with_context(|| format!("opening the data directory {}", args.data.display()))?;
    let (address, server) = start_server(&args.listen, store, stop)?;
    println!(
        "brasa up: listening on http://{address} (data in {})",
        args.data.display()
    );

    args.agent.default_spool(args.data.join("agent-spool"));
    if let Err(error) = run_agent(&format!("http://{address}"), args.agent) {
        // Without privileges the UI and ingest are still worth having.
        eprintln!("brasa up: not profiling this host: {error:#}");
        eprintln!(
            "brasa up: the server keeps running: UI and ingest at http://{address}/ (Ctrl-C stops)"
        );
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(STOP_POLL);
        }
    }
    stop.store(true, Ordering::SeqCst);
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    Ok(ExitCode::SUCCESS)
}

/// Serves on `listen` from a thread of its own until `stop` is set.
fn start_server(
    listen: &str,
    store: Store,
    stop: &'static AtomicBool,
) -> anyhow::Result<(SocketAddr, std::thread::JoinHandle<anyhow::Result<()>>)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(listen))
        .with_context(|| format!("listening on {listen}"))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let state = AppState::new(store, ServerOptions::default());
    let handle = std::thread::Builder::new()
        .name("brasa-server".into())
        .spawn(move || {
            runtime
                .block_on(serve(listener, state, async move {
                    while !stop.load(Ordering::SeqCst) {
                        tokio::time::sleep(STOP_POLL).await;
                    }
                }))
                .context("serving HTTP")
        })
        .context("starting the server thread")?;
    Ok((address, handle))
}
