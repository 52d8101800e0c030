//! Bearer tokens given to client commands with `--token-file F`.

use std::path::Path;

use anyhow::Context;

/// The first token of the token file `path`, read as the server reads it
/// ([`brasa_web::auth::token_lines`]).
pub fn read_token_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the token file {}", path.display()))?;
    let line = brasa_web::auth::token_lines(&text)
        .next()
        .with_context(|| format!("the token file {} holds no token", path.display()))?
        .map_err(|reason| anyhow::anyhow!("the token file {}: {reason}", path.display()))?;
    Ok(line.token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_skipped_as_the_server_skips_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "# for CI\n\n  0123456789abcdef0123  \nsecond\n").unwrap();
        assert_eq!(read_token_file(&path).unwrap(), "0123456789abcdef0123");
        // A line copied from the server's file, scopes included.
        std::fs::write(&path, "0123456789abcdef0123 ingest\n").unwrap();
        assert_eq!(read_token_file(&path).unwrap(), "0123456789abcdef0123");
        std::fs::write(&path, "# only a comment\n").unwrap();
        let error = format!("{:#}", read_token_file(&path).unwrap_err());
        assert!(error.contains("holds no token"), "{error}");
    }
}
