//! `/api/v1/session`: the web UI signs in with a token (`POST`), asks
//! whether it is signed in and with which scopes (`GET`), and signs out
//! (`DELETE`). The session itself is a cookie ([`crate::auth::session`]).

use axum::{
    body::Bytes,
    extract::State,
    http::{
        header::{COOKIE, SET_COOKIE},
        HeaderMap, StatusCode,
    },
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use crate::{
    auth::{session, Scopes},
    state::AppState,
    Error, Result,
};

fn cookie_header(headers: &HeaderMap) -> &str {
    headers
        .get(COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn scopes_json(scopes: Option<Scopes>) -> Value {
    json!(scopes.map(Scopes::names).unwrap_or_default())
}

/// `GET`: `{"auth": bool, "signed_in": bool, "scopes": [...], "tenant":
/// NAME or null}` (the tenant the session's token is bound to).
pub(crate) async fn whoami(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    Json(match state.auth() {
        None => json!({
            "auth": false,
            "signed_in": false,
            "scopes": scopes_json(Some(Scopes::ALL)),
            "tenant": null,
        }),
        Some(auth) => {
            let grant = auth.session_grant(cookie_header(&headers));
            json!({
                "auth": true,
                "signed_in": grant.is_some(),
                "scopes": scopes_json(grant.as_ref().map(|g| g.scopes)),
                "tenant": grant.and_then(|g| g.tenant),
            })
        }
    })
}

/// `POST {"token": "..."}`: opens a session and sets its cookie.
pub(crate) async fn sign_in(State(state): State<AppState>, body: Bytes) -> Result<Response> {
    let auth = state.auth().ok_or_else(|| {
        Error::BadRequest("this server has no token file; there is nothing to sign in to".into())
    })?;
    #[derive(serde::Deserialize)]
    struct SignIn {
        token: String,
    }
    let request: SignIn = serde_json::from_slice(&body).map_err(|e| {
        Error::BadRequest(format!(
            "the body must be JSON {{\"token\": \"...\"}} ({e})"
        ))
    })?;
    let token = request.token.trim().as_bytes();
    let id = auth.sign_in(token)?;
    let scopes = auth.scopes_of(token);
    Ok((
        [(SET_COOKIE, session::set_cookie(&id))],
        Json(json!({ "signed_in": true, "scopes": scopes_json(scopes) })),
    )
        .into_response())
}

/// `DELETE`: ends the session and clears its cookie.
pub(crate) async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(auth) = state.auth() {
        auth.sign_out(cookie_header(&headers));
    }
    (
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, session::clear_cookie())],
    )
        .into_response()
}
