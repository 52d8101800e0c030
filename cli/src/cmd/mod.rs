//! One module per subcommand.

pub mod agent;
pub mod check;
pub mod diff;
pub mod flamegraph;
pub mod merge;
pub mod record;
pub mod server;
pub mod store;
pub mod up;
