//! One module per subcommand.

pub mod flamegraph;
pub mod merge;
