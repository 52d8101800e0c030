//! `POST /api/v1/ingest?label=value&...` with a pprof body (gzip or raw).

use axum::{body::Body, extract::State, Json};
use brasa_store::labels::{Labels, NAME_LABEL};

use crate::{
    body::read_body,
    ingest::{store, Item, Payload, Stored},
    params::Params,
    state::AppState,
    Result,
};

/// Profile name given to native ingests that do not set `__name__`: what
/// the agent sends.
pub const DEFAULT_PROFILE_NAME: &str = "process_cpu";

pub(crate) async fn ingest(
    State(state): State<AppState>,
    params: Params,
    body: Body,
) -> Result<Json<Stored>> {
    let prepared = async {
        let mut pairs = params.into_pairs();
        if !pairs.iter().any(|(k, _)| k == NAME_LABEL) {
            pairs.push((NAME_LABEL.to_owned(), DEFAULT_PROFILE_NAME.to_owned()));
        }
        let labels = Labels::new(pairs)?;
        let body = read_body(body, state.limits().max_body_bytes).await?;
        Ok::<_, crate::Error>(Item {
            labels,
            payload: Payload::Pprof(body.to_vec()),
            time_nanos: None,
        })
    }
    .await;
    let item = prepared.inspect_err(|_| state.metrics().ingest_failed(ENDPOINT))?;
    let bytes = match &item.payload {
        Payload::Pprof(b) => b.len(),
        Payload::Built(_) => 0,
    };
    store(&state, ENDPOINT, bytes, vec![item]).await.map(Json)
}

const ENDPOINT: &str = "ingest";
