//! What kind of work a request is, from its method and path: the one
//! classification that authentication (which scope it needs) and
//! admission control (which queue it waits in) both follow.

use axum::http::Method;

/// Where the UI signs in (`POST`), asks who it is (`GET`) and signs out
/// (`DELETE`).
pub const SESSION_PATH: &str = "/api/v1/session";
/// Paths of the Pyroscope protocol.
pub(crate) const PYROSCOPE_PATH_PREFIXES: &[&str] = &["/ingest", "/push.v1."];

/// The kinds of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// Liveness, signing in, and the page and its files (they hold no data).
    Open,
    /// Pushes of profiles.
    Ingest,
    /// Queries: profiles, diffs, series, labels, profile types.
    Query,
    /// Operations: `/metrics`, `/api/v1/targets`.
    Operations,
}

/// The kind of a request.
pub fn endpoint_kind(method: &Method, path: &str) -> EndpointKind {
    if path == "/healthz" || path == SESSION_PATH || path == "/" || path.starts_with("/ui/") {
        EndpointKind::Open
    } else if *method == Method::POST
        && (path == "/api/v1/ingest" || PYROSCOPE_PATH_PREFIXES.iter().any(|p| path.starts_with(p)))
    {
        EndpointKind::Ingest
    } else if path == "/metrics" || path == "/api/v1/targets" {
        EndpointKind::Operations
    } else {
        EndpointKind::Query
    }
}

#[cfg(test)]
mod tests {
    use super::{EndpointKind::*, *};

    #[test]
    fn requests_are_classified_by_method_and_path() {
        let (post, get) = (Method::POST, Method::GET);
        assert_eq!(endpoint_kind(&post, "/api/v1/ingest"), Ingest);
        assert_eq!(endpoint_kind(&post, "/ingest"), Ingest);
        assert_eq!(endpoint_kind(&post, "/push.v1.PusherService/Push"), Ingest);
        assert_eq!(endpoint_kind(&get, "/api/v1/ingest"), Query);
        assert_eq!(endpoint_kind(&get, "/api/v1/profile"), Query);
        assert_eq!(endpoint_kind(&get, "/api/v1/labels/comm/values"), Query);
        assert_eq!(endpoint_kind(&get, "/metrics"), Operations);
        assert_eq!(endpoint_kind(&get, "/api/v1/targets"), Operations);
        for open in ["/", "/ui/app.js", "/healthz", SESSION_PATH] {
            assert_eq!(endpoint_kind(&get, open), Open, "{open}");
        }
    }
}
