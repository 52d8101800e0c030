//! `GET /api/v1/labels` and `GET /api/v1/labels/NAME/values`, answered in
//! the Prometheus API shape (`{"status": "success", "data": [...]}`).

use axum::{
    extract::{Path, State},
    Json,
};
use serde_json::{json, Value};

use crate::{state::AppState, tenant::Tenant, Error, Result};

pub(crate) async fn names(State(state): State<AppState>, tenant: Tenant) -> Json<Value> {
    Json(json!({ "status": "success", "data": state.store().label_names(tenant.name()) }))
}

pub(crate) async fn values(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    brasa_store::labels::check_name(&name).map_err(|e| Error::BadRequest(e.to_string()))?;
    let values = state.store().label_values(tenant.name(), &name)?;
    Ok(Json(json!({ "status": "success", "data": values })))
}
