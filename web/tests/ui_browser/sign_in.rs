//! The page behind a token file: it asks for a token, refuses one that is
//! wrong or may not read, and once signed in with a read token shows the
//! flame graph; the session is an HttpOnly cookie, so the token is kept
//! nowhere the page's scripts or its URL could show it.

use brasa_web::{auth::Tokens, ServerOptions};
use fantoccini::Client;
use serde_json::json;

use crate::{
    page::{click_id, js, screenshot, set_input, table_column, wait_js},
    seed::{go_fixture, ingest_as, start_server_with},
};

const INGEST: &str = "ui-ingest-token-0123456789abc";
const READ: &str = "ui-read-token-0123456789abcde";

/// Starts a server with an ingest and a read token, seeded through the
/// ingest token; returns its base URL and the server (kept alive).
pub async fn server() -> crate::seed::Server {
    let mut options = ServerOptions::default();
    options.tokens = Some(Tokens::parse(&format!("{INGEST} ingest\n{READ} read\n")).unwrap());
    let server = start_server_with(options).await;
    ingest_as(
        &server.base,
        "service=cpuwork&version=go",
        go_fixture(),
        Some(INGEST),
    )
    .await;
    server
}

async fn sign_in_open(client: &Client) -> bool {
    js(client, "return document.getElementById('sign-in').open").await == json!(true)
}

async fn submit_token(client: &Client, token: &str) {
    set_input(client, "sign-in-token", token).await;
    click_id(client, "sign-in-submit").await;
}

pub async fn steps(client: &Client, base: &str) {
    client.goto(&format!("{base}/")).await.unwrap();
    wait_js(
        client,
        "document.getElementById('sign-in').open",
        "the sign-in dialog",
    )
    .await;
    screenshot(client, "sign-in-01-asked").await;

    submit_token(client, "not-a-token-of-this-server").await;
    let error = wait_js(
        client,
        "document.getElementById('sign-in-error').textContent",
        "the refusal of a wrong token",
    )
    .await;
    assert_eq!(error, json!("That token is not accepted."));
    submit_token(client, INGEST).await;
    wait_js(
        client,
        "document.getElementById('sign-in-error').textContent.includes('`read` scope')",
        "the refusal of a token that may not read",
    )
    .await;
    assert!(sign_in_open(client).await);

    submit_token(client, READ).await;
    wait_js(
        client,
        "document.body.dataset.state === 'ready'",
        "the flame graph after signing in",
    )
    .await;
    assert!(!sign_in_open(client).await);
    let functions = table_column(client, 0).await;
    assert!(
        functions.contains(&"crypto/sha256.block".to_owned()),
        "{functions:?}"
    );
    screenshot(client, "sign-in-02-signed-in").await;
    // The cookie is HttpOnly; nothing in the page holds the token.
    let exposed = js(
        client,
        &format!(
            "return [document.cookie, location.href, JSON.stringify(localStorage), \
             JSON.stringify(sessionStorage), document.documentElement.outerHTML]\
             .filter((s) => s.includes('{READ}')).length"
        ),
    )
    .await;
    assert_eq!(exposed, json!(0));
    assert_eq!(js(client, "return document.cookie").await, json!(""));

    // Signing out ends the session: the page asks again.
    click_id(client, "sign-out").await;
    wait_js(
        client,
        "document.getElementById('sign-in').open",
        "the sign-in dialog after signing out",
    )
    .await;
}
