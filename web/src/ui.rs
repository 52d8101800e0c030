//! The web UI: `/` and the files under `/ui/`, embedded in the binary so
//! the server needs nothing on disk and nothing from the internet.
//!
//! The page is plain JavaScript modules (no build step) from `web/ui/`.

use axum::{
    extract::Path,
    http::{
        header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS},
        HeaderValue, StatusCode,
    },
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the page; `index.html` is served at `/`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../ui/index.html"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../ui/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: JS,
        body: include_str!("../ui/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JS,
        body: include_str!("../ui/api.js"),
    },
    Asset {
        name: "canvas.js",
        content_type: JS,
        body: include_str!("../ui/canvas.js"),
    },
    Asset {
        name: "chart.js",
        content_type: JS,
        body: include_str!("../ui/chart.js"),
    },
    Asset {
        name: "flame.js",
        content_type: JS,
        body: include_str!("../ui/flame.js"),
    },
    Asset {
        name: "sandwich.js",
        content_type: JS,
        body: include_str!("../ui/sandwich.js"),
    },
    Asset {
        name: "selector.js",
        content_type: JS,
        body: include_str!("../ui/selector.js"),
    },
    Asset {
        name: "table.js",
        content_type: JS,
        body: include_str!("../ui/table.js"),
    },
    Asset {
        name: "textview.js",
        content_type: JS,
        body: include_str!("../ui/textview.js"),
    },
    Asset {
        name: "time.js",
        content_type: JS,
        body: include_str!("../ui/time.js"),
    },
    Asset {
        name: "tree.js",
        content_type: JS,
        body: include_str!("../ui/tree.js"),
    },
    Asset {
        name: "units.js",
        content_type: JS,
        body: include_str!("../ui/units.js"),
    },
];

/// The page loads only its own files and talks only to this server; with
/// no inline script allowed, markup that slipped into the page could not
/// run code either.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Assets change with the binary, so browsers revalidate instead of
/// keeping a stale page after an upgrade.
const CACHE_POLICY: &str = "no-cache";

/// Routes for `/` and `/ui/{file}`, to merge into the server's router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { serve("index.html") }))
        .route(
            "/ui/{file}",
            get(|Path(file): Path<String>| async move { serve(&file) }),
        )
}

fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        let error = format!("no UI file {name:?}; the page is at /");
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": error })),
        )
            .into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files that `text` refers to: `/ui/NAME` in the page, `./NAME` in modules.
    fn references(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for marker in ["\"/ui/", "'./"] {
            for (start, _) in text.match_indices(marker) {
                let rest = &text[start + marker.len()..];
                let end = rest.find(['"', '\'']).unwrap_or(rest.len());
                out.push(rest[..end].to_owned());
            }
        }
        out
    }

    #[test]
    fn every_referenced_file_is_embedded() {
        let mut checked = 0;
        for asset in ASSETS {
            for name in references(asset.body) {
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "{} refers to {name}, which is not embedded",
                    asset.name
                );
                checked += 1;
            }
        }
        assert!(checked >= 8, "only {checked} references found");
    }

    #[test]
    fn every_embedded_file_is_used() {
        for asset in ASSETS.iter().filter(|a| a.name != "index.html") {
            let used = ASSETS
                .iter()
                .any(|other| references(other.body).iter().any(|n| n == asset.name));
            assert!(used, "{} is embedded but nothing loads it", asset.name);
        }
    }

    #[test]
    fn assets_have_their_content_types_and_unknown_files_are_404() {
        let page = serve("index.html");
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(page.headers().contains_key(CONTENT_SECURITY_POLICY));
        assert!(serve("flame.js").headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert!(serve("style.css").headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css"));
        assert_eq!(serve("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        assert_eq!(serve("nope.js").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn page_code_never_assigns_markup() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(
                    !asset.body.contains(sink),
                    "{} uses {sink}; names from profiles must go through textContent",
                    asset.name
                );
            }
        }
    }
}
