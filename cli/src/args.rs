//! Argument parsers shared by several subcommands.

use std::time::Duration;

/// A duration such as `10s`, `1m30s` or `14d`, in the syntax every Brasa
/// command and endpoint accepts.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    brasa_web::time::parse_duration(text).map_err(|e| e.to_string())
}
