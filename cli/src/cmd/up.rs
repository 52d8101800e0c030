//! `brasa up [--listen ADDR] [--data DIR]`: the server and an agent for
//! this host, in one process, on the embedded store.

use std::{process::ExitCode, sync::atomic::Ordering, time::Duration};

use brasa_agent::interrupt::stop_on_interrupt;
use brasa_web::ServerOptions;

use super::{
    agent::{run_with as run_agent, AgentArgs},
    server::{start as start_server, Place},
};

/// How often a server without an agent checks whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(200);

/// Run the server and profile this host into it: the one command to try Brasa.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    place: Place,
    #[command(flatten)]
    agent: AgentArgs,
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let stop = stop_on_interrupt()?;
    let (address, server) = start_server(&args.place, ServerOptions::default(), stop)?;
    println!(
        "brasa up: listening on http://{address} (data in {})",
        args.place.data.display()
    );

    args.agent
        .default_spool(args.place.data.join("agent-spool"));
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
