//! Bearer tokens given to client commands with `--token-file F`.

use std::path::Path;

use anyhow::Context;

/// The first non-blank line of `path`, trimmed.
pub fn read_token_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the token file {}", path.display()))?;
    let token = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .with_context(|| format!("the token file {} holds no token", path.display()))?;
    Ok(token.to_owned())
}
