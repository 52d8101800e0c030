//! Chrome DevTools Protocol commands through chromedriver's
//! `goog/cdp/execute` endpoint, for what WebDriver itself cannot set: the
//! colour scheme the page sees.

use axum::http::Method;
use fantoccini::{wd::WebDriverCompatibleCommand, Client};
use serde_json::{json, Value};

/// One DevTools command and its parameters.
#[derive(Debug)]
struct DevTools {
    command: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (Method, Option<String>) {
        let body = json!({ "cmd": self.command, "params": self.params });
        (Method::POST, Some(body.to_string()))
    }
}

/// Makes the page see `prefers-color-scheme: SCHEME` (`dark`, `light`, or
/// `""` for the system's again).
pub async fn prefer_color_scheme(client: &Client, scheme: &str) {
    client
        .issue_cmd(DevTools {
            command: "Emulation.setEmulatedMedia",
            params: json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        })
        .await
        .expect("chromedriver runs DevTools commands");
}
