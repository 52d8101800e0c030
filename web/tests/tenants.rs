//! Tenants: `X-Scope-OrgID` and tokens bound to a tenant. A tenant's
//! queries see its own series, labels and profiles alone, whichever
//! endpoint pushed them.

mod common;

use axum::http::{Method, StatusCode};
use brasa_web::{auth::Tokens, tenant::TENANT_HEADER, ServerOptions};
use common::{enc, pprof_gz, App, T0};

const RANGE: &str = "from=1699999990&to=1700000100";

async fn push(app: &App, headers: &[(&str, &str)], service: &str, folded: &str) -> StatusCode {
    let uri = format!("/api/v1/ingest?service={service}");
    app.request(Method::POST, &uri, headers, pprof_gz(folded, T0))
        .await
        .status
}

async fn folded(app: &App, headers: &[(&str, &str)], selector: &str) -> (StatusCode, String) {
    let uri = format!(
        "/api/v1/profile?format=folded&{RANGE}&query={}",
        enc(selector)
    );
    let reply = app.request(Method::GET, &uri, headers, Vec::new()).await;
    (reply.status, reply.text())
}

async fn json(app: &App, headers: &[(&str, &str)], uri: &str) -> serde_json::Value {
    let reply = app.request(Method::GET, uri, headers, Vec::new()).await;
    assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
    reply.json()
}

#[tokio::test]
async fn each_tenant_sees_its_own_data_alone() {
    let app = common::app();
    let acme = [(TENANT_HEADER, "acme")];
    let beta = [(TENANT_HEADER, "beta")];
    assert_eq!(
        push(&app, &acme, "rockets", "main;acme_work 5\n").await,
        StatusCode::OK
    );
    assert_eq!(
        push(&app, &beta, "ledger", "main;beta_work 7\n").await,
        StatusCode::OK
    );
    assert_eq!(
        push(&app, &[], "shop", "main;default_work 3\n").await,
        StatusCode::OK
    );
    // Pyroscope's legacy endpoint honours the header too.
    let legacy = "/ingest?name=web.cpu%7Bregion%3Deu%7D&from=1700000000&format=folded";
    let reply = app
        .request(
            Method::POST,
            legacy,
            &beta,
            b"main;beta_legacy 2\n".to_vec(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    let (status, text) = folded(&app, &acme, "{}").await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "main;acme_work 5\n")
    );
    let (_, text) = folded(&app, &beta, r#"{service="ledger"}"#).await;
    assert_eq!(text, "main;beta_work 7\n");
    let (_, text) = folded(&app, &beta, r#"{region="eu"}"#).await;
    assert!(text.contains("main;beta_legacy "), "{text}");
    let (status, _) = folded(&app, &acme, r#"{region="eu"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, text) = folded(&app, &[], "{}").await;
    assert_eq!(text, "main;default_work 3\n");
    // Naming another tenant's series, or the tenant label, finds nothing.
    let (status, _) = folded(&app, &acme, r#"{service="ledger"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = folded(&app, &acme, r#"{__tenant__="beta"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = folded(&app, &[(TENANT_HEADER, "nobody")], "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let names = json(&app, &acme, "/api/v1/labels").await;
    assert_eq!(names["data"], serde_json::json!(["__name__", "service"]));
    let names = json(&app, &beta, "/api/v1/labels").await;
    assert_eq!(
        names["data"],
        serde_json::json!(["__name__", "region", "service", "service_name"])
    );
    let values = json(&app, &acme, "/api/v1/labels/service/values").await;
    assert_eq!(values["data"], serde_json::json!(["rockets"]));
    let values = json(&app, &[], "/api/v1/labels/service/values").await;
    assert_eq!(values["data"], serde_json::json!(["shop"]));
    let values = json(&app, &[], "/api/v1/labels/__tenant__/values").await;
    assert_eq!(values["data"], serde_json::json!([]));

    let series = json(
        &app,
        &beta,
        &format!("/api/v1/series?{RANGE}&group_by=service"),
    )
    .await;
    let lines = series["data"].as_array().unwrap();
    assert!(!lines.is_empty(), "{series}");
    for line in lines {
        let service = line["labels"]["service"].as_str();
        assert!(matches!(service, Some("" | "ledger")), "{series}");
    }
    let diff = json(
        &app,
        &acme,
        &format!("/api/v1/diff?base=%7B%7D&head=%7B%7D&{RANGE}"),
    )
    .await;
    assert!(!diff.to_string().contains("beta_work"), "{diff}");
    assert!(diff.to_string().contains("acme_work"), "{diff}");
}

#[tokio::test]
async fn clients_cannot_send_the_tenant_label_or_a_bad_tenant() {
    let app = common::app();
    let reply = app
        .post("/api/v1/ingest?__tenant__=beta", pprof_gz("main;x 1\n", T0))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.error().contains("X-Scope-OrgID"), "{}", reply.error());
    for bad in ["a/b", "..", ""] {
        let status = push(&app, &[(TENANT_HEADER, bad)], "x", "main;x 1\n").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
    }
    // Nothing was stored by the refused requests.
    let (status, _) = folded(&app, &[], "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

const BOUND: &str = "acme-token-0123456789";
const FREE: &str = "free-token-0123456789";

#[tokio::test]
async fn a_token_bound_to_a_tenant_acts_for_it_alone() {
    let tokens = Tokens::parse(&format!(
        "{BOUND} ingest,read tenant=acme\n{FREE} ingest,read\n"
    ))
    .unwrap();
    let mut options = ServerOptions::default();
    options.tokens = Some(tokens);
    let app = common::app_with(options);
    let bound = format!("Bearer {BOUND}");
    let free = format!("Bearer {FREE}");
    let as_bound = [("authorization", bound.as_str())];
    // The bound token's pushes land in its tenant without a header...
    assert_eq!(
        push(&app, &as_bound, "rockets", "main;acme_work 5\n").await,
        StatusCode::OK
    );
    // ...and it may not name another.
    let elsewhere = [("authorization", bound.as_str()), (TENANT_HEADER, "beta")];
    assert_eq!(
        push(&app, &elsewhere, "x", "main;x 1\n").await,
        StatusCode::FORBIDDEN
    );
    let (status, _) = folded(&app, &elsewhere, "{}").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let same = [("authorization", bound.as_str()), (TENANT_HEADER, "acme")];
    assert_eq!(folded(&app, &same, "{}").await.1, "main;acme_work 5\n");

    // A token bound to no tenant acts for the one the header names.
    let free_beta = [("authorization", free.as_str()), (TENANT_HEADER, "beta")];
    assert_eq!(
        push(&app, &free_beta, "ledger", "main;beta_work 7\n").await,
        StatusCode::OK
    );
    let free_acme = [("authorization", free.as_str()), (TENANT_HEADER, "acme")];
    assert_eq!(folded(&app, &free_acme, "{}").await.1, "main;acme_work 5\n");
    assert_eq!(folded(&app, &as_bound, "{}").await.1, "main;acme_work 5\n");
    assert_eq!(folded(&app, &free_beta, "{}").await.1, "main;beta_work 7\n");
    let (status, _) = folded(&app, &[("authorization", free.as_str())], "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the default tenant is empty");
}
