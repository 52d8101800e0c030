//! The token file: one token per line, each with the scopes it grants.
//!
//! ```text
//! # agents push with this one
//! 9f2c61d0a4b7e8f3c5d1 ingest
//! # people and CI read with this one
//! 3e8a0b5c7d9f1e2a4b6c read
//! 7c1d3e5f7a9b0c2d4e6f admin
//! # one team's agents and people, who see only their own tenant
//! 5b2e8d1f0c3a6e9b7d4f ingest,read tenant=payments
//! ```
//!
//! A line without scopes grants all of them, as every token did before
//! tokens had scopes. `tenant=NAME` binds the token to a tenant: what it
//! pushes is stored in that tenant, and it reads that tenant alone. A
//! token without a tenant acts for the tenant a request names in
//! `X-Scope-OrgID`, or the default one. Blank lines and `#` comments are
//! skipped.

use std::path::{Path, PathBuf};

use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::{tenant::check_tenant, Error, Result};

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

/// One line of a token file, read: the token, its scopes and its tenant.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenLine<'a> {
    /// The secret.
    pub token: &'a str,
    /// What it grants.
    pub scopes: Scopes,
    /// The tenant it is bound to, if any.
    pub tenant: Option<&'a str>,
}

/// What an accepted token grants: its scopes, and the tenant it is bound
/// to, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// What it may do.
    pub scopes: Scopes,
    /// The only tenant it may act for; `None`: any.
    pub tenant: Option<String>,
}

/// The word of a token line that binds it to a tenant: `tenant=NAME`.
const TENANT_WORD: &str = "tenant=";

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
    let mut tenant = None;
    for word in words {
        if let Some(name) = word.strip_prefix(TENANT_WORD) {
            if tenant.replace(name).is_some() {
                return Err("more than one tenant; a token is bound to one tenant".to_owned());
            }
            check_tenant(name)?;
            continue;
        }
        for name in word.split(',').filter(|n| !n.is_empty()) {
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.name() == name)
                .ok_or_else(|| {
                    format!("unknown scope `{name}`; the scopes are ingest, read and admin, and `{TENANT_WORD}NAME` binds a tenant")
                })?;
            scopes = scopes.with(scope);
        }
    }
    if scopes == Scopes::default() {
        scopes = Scopes::ALL;
    }
    Ok(TokenLine {
        token,
        scopes,
        tenant,
    })
}

/// The accepted tokens, and the file they were read from (the server
/// re-reads it when it changes).
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(Vec<u8>, Grant)>,
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
            .map(|line| {
                line.map(|l| {
                    let grant = Grant {
                        scopes: l.scopes,
                        tenant: l.tenant.map(str::to_owned),
                    };
                    (l.token.as_bytes().to_vec(), grant)
                })
            })
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

    /// What `candidate` grants, if it is one of the tokens. Every token
    /// is compared, each in constant time, so timing says nothing about
    /// which matched.
    pub fn grant_of(&self, candidate: &[u8]) -> Option<Grant> {
        // 1 + the index of the match; 0 when none matched.
        let mut found = 0u32;
        for (i, (token, _)) in self.entries.iter().enumerate() {
            let hit = token.ct_eq(candidate);
            let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
            found = u32::conditional_select(&found, &position, hit);
        }
        let index = usize::try_from(found.checked_sub(1)?).ok()?;
        self.entries.get(index).map(|(_, grant)| grant.clone())
    }

    /// The scopes of `candidate`, if it is one of the tokens.
    pub fn scopes_of(&self, candidate: &[u8]) -> Option<Scopes> {
        self.grant_of(candidate).map(|g| g.scopes)
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
        let two = Tokens::parse("abcdefghijklmnop tenant=a tenant=b\n").unwrap_err();
        assert!(two.contains("more than one tenant"), "{two}");
        let bad = Tokens::parse("abcdefghijklmnop tenant=a/b\n").unwrap_err();
        assert!(bad.contains("line 1") && bad.contains("tenant"), "{bad}");
    }

    #[test]
    fn a_token_may_be_bound_to_a_tenant() {
        let tokens =
            Tokens::parse("abcdefghijklmnop read tenant=payments\n0123456789abcdef0 ingest\n")
                .unwrap();
        let bound = tokens.grant_of(b"abcdefghijklmnop").unwrap();
        assert_eq!(bound.tenant.as_deref(), Some("payments"));
        assert!(bound.scopes.allow(Scope::Read) && !bound.scopes.allow(Scope::Ingest));
        let free = tokens.grant_of(b"0123456789abcdef0").unwrap();
        assert_eq!(free.tenant, None);
        assert_eq!(tokens.grant_of(b"0123456789abcdef"), None);
    }
}
