//! Tenants: separate sets of series on one server. A request's tenant is
//! the one its token is bound to (`tenant=NAME` in the token file), else
//! the one its `X-Scope-OrgID` header names (Pyroscope's and Mimir's
//! convention), else the default tenant, which holds everything stored
//! without one. A token bound to a tenant cannot name another.
//!
//! The tenant is stored as the reserved series label
//! [`brasa_store::labels::TENANT_LABEL`]: ingest sets it and refuses it
//! from clients, and every query is limited to its tenant's series, labels
//! and profiles.

use axum::{extract::FromRequestParts, http::request::Parts};
use brasa_store::{
    labels::{Labels, DEFAULT_TENANT, TENANT_LABEL},
    matcher::Matcher,
};

use crate::{Error, Result};

/// The header that names a request's tenant.
pub const TENANT_HEADER: &str = "X-Scope-OrgID";
/// Longest tenant name, in bytes (Mimir's limit).
pub const MAX_TENANT_BYTES: usize = 150;

/// Checks a tenant name: 1 to [`MAX_TENANT_BYTES`] bytes of ASCII letters,
/// digits and `!-_.*'()`, not `.` or `..` (the characters Mimir allows).
pub fn check_tenant(name: &str) -> std::result::Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!-_.*'()".contains(c);
    if name.is_empty() || name.len() > MAX_TENANT_BYTES {
        return Err(format!(
            "a tenant name has 1 to {MAX_TENANT_BYTES} bytes; {:?} has {}",
            name,
            name.len()
        ));
    }
    if !name.chars().all(allowed) || name == "." || name == ".." {
        return Err(format!(
            "tenant {name:?} must be letters, digits and !-_.*'() (and not . or ..)"
        ));
    }
    Ok(())
}

/// The tenant of a request ([`DEFAULT_TENANT`] when it names none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tenant(String);

impl Default for Tenant {
    fn default() -> Self {
        Self(DEFAULT_TENANT.to_owned())
    }
}

/// The tenant a request's token is bound to: put in the request by
/// authentication, read by [`Tenant`]'s extractor.
#[derive(Debug, Clone)]
pub(crate) struct TokenTenant(pub(crate) String);

impl Tenant {
    /// The tenant's name ([`DEFAULT_TENANT`] for the default one).
    pub(crate) fn name(&self) -> &str {
        &self.0
    }

    /// The matcher that limits a query to this tenant's series.
    pub(crate) fn matcher(&self) -> Matcher {
        Matcher::equal(TENANT_LABEL, &self.0)
    }

    /// `labels` of a series pushed by a client, put in this tenant; a
    /// client that sends the tenant label itself is refused.
    pub(crate) fn label(&self, labels: Labels) -> Result<Labels> {
        if labels.get(TENANT_LABEL).is_some() {
            return Err(Error::BadRequest(format!(
                "the label {TENANT_LABEL} is reserved; name the tenant with the {TENANT_HEADER} header or a token bound to it"
            )));
        }
        if self.0 == DEFAULT_TENANT {
            return Ok(labels);
        }
        Ok(Labels::new(
            labels.iter().chain([(TENANT_LABEL, self.0.as_str())]),
        )?)
    }

    /// The tenant of a request: its token's, else its header's, else the
    /// default one.
    fn of(token: Option<&TokenTenant>, header: Option<&str>) -> Result<Self> {
        let header = header.map(str::trim);
        if let Some(name) = header {
            check_tenant(name).map_err(|e| Error::BadRequest(format!("{TENANT_HEADER}: {e}")))?;
        }
        match (token, header) {
            (Some(TokenTenant(bound)), Some(asked)) if bound != asked => Err(Error::WrongTenant {
                bound: bound.clone(),
                asked: asked.to_owned(),
            }),
            (Some(TokenTenant(bound)), _) => Ok(Self(bound.clone())),
            (None, Some(asked)) => Ok(Self(asked.to_owned())),
            (None, None) => Ok(Self::default()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        let header =
            match parts.headers.get(TENANT_HEADER) {
                None => None,
                Some(value) => Some(value.to_str().map_err(|_| {
                    Error::BadRequest(format!("{TENANT_HEADER} must be ASCII text"))
                })?),
            };
        Self::of(parts.extensions.get::<TokenTenant>(), header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_follow_mimir() {
        assert!(check_tenant("team-a_1.(prod)*").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(151)] {
            assert!(check_tenant(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_token_s_tenant_wins_and_cannot_be_changed() {
        let bound = TokenTenant("a".to_owned());
        assert_eq!(Tenant::of(Some(&bound), None).unwrap().name(), "a");
        assert_eq!(Tenant::of(Some(&bound), Some("a")).unwrap().name(), "a");
        let err = Tenant::of(Some(&bound), Some("b")).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::FORBIDDEN);
        assert_eq!(Tenant::of(None, Some(" b ")).unwrap().name(), "b");
        assert_eq!(Tenant::of(None, None).unwrap(), Tenant::default());
        let bad = Tenant::of(None, Some("a/b")).unwrap_err();
        assert_eq!(bad.status(), axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn clients_cannot_send_the_tenant_label() {
        let tenant = Tenant("a".to_owned());
        let labels = Labels::new([("service", "x")]).unwrap();
        let labelled = tenant.label(labels.clone()).unwrap();
        assert_eq!(labelled.get(TENANT_LABEL), Some("a"));
        assert_eq!(
            Tenant::default().label(labels).unwrap().get(TENANT_LABEL),
            None
        );
        let sneaky = Labels::new([(TENANT_LABEL, "b")]).unwrap();
        assert!(tenant.label(sneaky).is_err());
    }
}
