//! `brasa up [--listen ADDR] [--data DIR] [--config FILE]`: the server
//! and an agent for this host, in one process, on the embedded store.

use std::{
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
};

use brasa_web::ServerOptions;

use super::{
    agent::{run_with as run_agent, AgentArgs},
    server::{start as start_server, Place, Pull},
};

/// Set when the server caught SIGINT or SIGTERM: the agent stops on it.
static STOP: AtomicBool = AtomicBool::new(false);

/// Run the server and profile this host into it: the one command to try Brasa.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    place: Place,
    #[command(flatten)]
    pull: Pull,
    #[command(flatten)]
    agent: AgentArgs,
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let mut options = ServerOptions::default();
    args.pull.apply(&mut options)?;
    let (address, server) = start_server(
        &args.place,
        brasa_store::StoreOptions::default(),
        options,
        None,
        || STOP.store(true, Ordering::SeqCst),
    )?;
    println!(
        "brasa up: listening on http://{address} (data in {})",
        args.place.data.display()
    );

    args.agent
        .default_spool(args.place.data.join("agent-spool"));
    if let Err(error) = run_agent(&[format!("http://{address}")], args.agent, &STOP) {
        // Without privileges the UI and ingest are still worth having.
        eprintln!("brasa up: not profiling this host: {error:#}");
        eprintln!(
            "brasa up: the server keeps running: UI and ingest at http://{address}/ (Ctrl-C stops)"
        );
    }
    // The server thread ends on the same signal that stopped the agent.
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    Ok(ExitCode::SUCCESS)
}
