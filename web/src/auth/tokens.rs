//! The token file: one token per line, each with the scopes it grants.
//!
//! ```text
//! # agents push with this one
//! 9f2c61d0a4b7e8f3c5d1 ingest
//! # people and CI read with this one
//! 3e8a0b5c7d9f1e2a4b6c read
//! 7c1d3e5f7a9b0c2d4e6f admin
//! ```
//!
//! A line without scopes grants all of them, as every token did before
//! tokens had scopes. Blank lines and `#` comments are skipped.

use std::path::{Path, PathBuf};

use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::{Error, Result};

/// Shortest accepted token: anything shorter is guessable.
pub const MIN_TOKEN_BYTES: usize = 16;

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Push profiles (`/api/v1/ingest`, the Pyroscope endpoints).
    Ingest,
    /// Query: profiles, diffs, series, labels, and the UI's data.
    Read,
    /// Operations (`/metrics`, `/api/v1/targets`); implies the other two.
    Admin,
}

impl Scope {
    const ALL: [Scope; 3] = [Scope::Ingest, Scope::Read, Scope::Admin];

    /// The name used in token files and answers.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// Every scope.
    pub const ALL: Scopes = Scopes(0b111);

    /// Whether these scopes allow `scope` (admin allows everything).
    pub fn allow(self, scope: Scope) -> bool {
        self.0 & (scope.bit() | Scope::Admin.bit()) != 0
    }

    /// The scopes held, by name.
    pub fn names(self) -> Vec<&'static str> {
        Scope::ALL
            .into_iter()
            .filter(|s| self.0 & s.bit() != 0)
            .map(Scope::name)
            .collect()
    }

    fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }
}

/// One line of a token file, read: the token and its scopes.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenLine<'a> {
    /// The secret.
    pub token: &'a str,
    /// What it grants.
    pub scopes: Scopes,
}

/// The token lines of a token file's text, each parsed, or why one is
/// refused (with its line number). The server and the client commands
/// read token files through this alone.
pub fn token_lines(text: &str) -> impl Iterator<Item = std::result::Result<TokenLine<'_>, String>> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(number, line)| parse_line(line).map_err(|e| format!("line {number}: {e}")))
}

fn parse_line(line: &str) -> std::result::Result<TokenLine<'_>, String> {
    let mut words = line.split_whitespace();
    let token = words.next().unwrap_or_default();
    if token.len() < MIN_TOKEN_BYTES {
        return Err(format!(
            "the token is shorter than {MIN_TOKEN_BYTES} bytes; use long random tokens"
        ));
    }
    let mut scopes = Scopes::default();
    for word in words {
        for name in word.split(',').filter(|n| !n.is_empty()) {
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| {
                    format!("unknown scope `{name}`; the scopes are ingest, read and admin")
                })?;
            scopes = scopes.with(scope);
        }
    }
    if scopes == Scopes::default() {
        scopes = Scopes::ALL;
    }
    Ok(TokenLine { token, scopes })
}

/// The accepted tokens, and the file they were read from (the server
/// re-reads it when it changes).
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(Vec<u8>, Scopes)>,
    source: Option<PathBuf>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} hidden)", self.entries.len())
    }
}

impl Tokens {
    /// Tokens from the text of a token file.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let entries = token_lines(text)
            .map(|line| line.map(|l| (l.token.as_bytes().to_vec(), l.scopes)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if entries.is_empty() {
            return Err("no token in it; put one token per line".to_owned());
        }
        Ok(Self {
            entries,
            source: None,
        })
    }

    /// Reads a token file; the tokens remember it, so the server can
    /// re-read it.
    pub fn from_file(path: &Path) -> Result<Self> {
        let path_text = || path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::TokenFileUnreadable {
            path: path_text(),
            source,
        })?;
        let mut tokens = Self::parse(&text).map_err(|reason| Error::TokenFile {
            path: path_text(),
            reason,
        })?;
        tokens.source = Some(path.to_owned());
        Ok(tokens)
    }

    /// The file these tokens were read from.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The scopes of `candidate`, if it is one of the tokens. Every token
    /// is compared, each in constant time, so timing says nothing about
    /// which matched.
    pub fn scopes_of(&self, candidate: &[u8]) -> Option<Scopes> {
        let mut found = 0u8;
        for (token, scopes) in &self.entries {
            let hit = token.ct_eq(candidate);
            found |= u8::conditional_select(&0, &scopes.0, hit);
        }
        // A token always has a scope, so 0 means none matched.
        (found != 0).then_some(Scopes(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_scopes_of_their_line() {
        let tokens = Tokens::parse(
            "# fleet\nabcdefghijklmnop ingest\n\n0123456789abcdef0 read,admin\nzyxwvutsrqponmlk\n",
        )
        .unwrap();
        let ingest = tokens.scopes_of(b"abcdefghijklmnop").unwrap();
        assert!(ingest.allow(Scope::Ingest) && !ingest.allow(Scope::Read));
        let admin = tokens.scopes_of(b"0123456789abcdef0").unwrap();
        assert!(admin.allow(Scope::Ingest) && admin.allow(Scope::Read));
        assert_eq!(admin.names(), ["read", "admin"]);
        assert_eq!(tokens.scopes_of(b"zyxwvutsrqponmlk"), Some(Scopes::ALL));
        assert_eq!(tokens.scopes_of(b"abcdefghijklmno"), None);
        assert_eq!(tokens.scopes_of(b""), None);
    }

    #[test]
    fn bad_files_are_refused_with_the_line() {
        assert!(Tokens::parse("\n# nothing\n").is_err());
        let short = Tokens::parse("# c\nshort\n").unwrap_err();
        assert!(
            short.contains("line 2") && short.contains("shorter"),
            "{short}"
        );
        let scope = Tokens::parse("abcdefghijklmnop write\n").unwrap_err();
        assert!(scope.contains("unknown scope `write`"), "{scope}");
    }
}
