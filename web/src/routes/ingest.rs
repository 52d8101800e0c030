//! `POST /api/v1/ingest?label=value&...` with a pprof body (gzip or raw).

use axum::{body::Body, extract::State, Json};
use brasa_store::labels::Labels;

use crate::{
    body::read_body,
    ingest::{store, Item, Payload, Stored},
    params::Params,
    state::AppState,
    tenant::Tenant,
    Result,
};

/// The name of CPU profiles, what the agent sends; a profile that arrives
/// without `__name__` is named from its sample types
/// ([`brasa_profile::sample_type::profile_name`]).
pub const DEFAULT_PROFILE_NAME: &str = brasa_profile::sample_type::CPU_PROFILE_NAME;

pub(crate) async fn ingest(
    State(state): State<AppState>,
    tenant: Tenant,
    params: Params,
    body: Body,
) -> Result<Json<Stored>> {
    let prepared = async {
        let labels = Labels::new(params.into_pairs())?;
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
    store(&state, &tenant, ENDPOINT, bytes, vec![item])
        .await
        .map(Json)
}

const ENDPOINT: &str = "ingest";
