//! What every ingest endpoint shares: decode under limits, validate, store,
//! and answer only once the store says the profiles are durable.

use std::time::SystemTime;

use brasa_profile::{codec, sample_type::profile_name, Profile};
use brasa_store::{
    labels::{Labels, NAME_LABEL},
    pack::Packed,
};

use crate::{metrics::timed, state::AppState, tenant::Tenant, time::nanos, Result};

/// One profile to store, as an ingest endpoint decoded it from a request.
pub struct Item {
    /// Series labels; without `__name__`, the profile is named from its
    /// sample types.
    pub labels: Labels,
    /// The profile.
    pub payload: Payload,
    /// Key time (unix ns); default: the profile's `time_nanos`, else now.
    pub time_nanos: Option<u64>,
}

/// A profile as received.
pub enum Payload {
    /// pprof bytes, gzip or raw, not yet decoded.
    Pprof(Vec<u8>),
    /// A profile built by the endpoint (e.g. from folded stacks).
    Built(Box<Profile>),
}

impl Item {
    /// The series labels (named from the sample types when the client gave
    /// no `__name__`), the decoded and validated profile, and the key time
    /// the client asked for: what is stored. pprof bytes are decompressed
    /// up to `max_decompressed_bytes`.
    pub fn decode(self, max_decompressed_bytes: usize) -> Result<(Labels, Profile, Option<u64>)> {
        let (profile, empty) = match self.payload {
            Payload::Pprof(bytes) => {
                let raw = codec::maybe_gunzip(&bytes, max_decompressed_bytes)?;
                (codec::decode_raw(&raw)?, raw.is_empty())
            }
            Payload::Built(profile) => (*profile, false),
        };
        if profile.sample_type.is_empty() {
            return Err(crate::Error::BadRequest(if empty {
                "the body is empty; send a pprof profile (gzip or raw)".to_owned()
            } else {
                "the profile has no sample types; send a pprof profile with samples".to_owned()
            }));
        }
        let labels = if self.labels.get(NAME_LABEL).is_some() {
            self.labels
        } else {
            let name = profile_name(&profile);
            Labels::new(self.labels.iter().chain([(NAME_LABEL, name.as_str())]))?
        };
        Ok((labels, profile, self.time_nanos))
    }
}

/// What was stored.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub(crate) struct Stored {
    /// Profiles stored.
    pub profiles: u64,
    /// pprof sample records in them.
    pub samples: u64,
}

/// Decodes and stores `items` durably (one group commit for all of them),
/// in `tenant`. On a server that shares a bucket, durable means in a
/// segment in the bucket.
pub(crate) async fn store(
    state: &AppState,
    tenant: &Tenant,
    endpoint: &'static str,
    body_bytes: usize,
    items: Vec<Item>,
) -> Result<Stored> {
    let (result, took) = timed(async {
        // Decoding and encoding hold a CPU permit; waiting for the group
        // commit (or the segment upload) does not.
        let cpu = state.ingest_cpu().acquire().await;
        let worker = state.clone();
        let tenant = tenant.clone();
        let clustered = state.cluster().is_some();
        let written = tokio::task::spawn_blocking(move || {
            let decoded = decode_blocking(&worker, &tenant, items)?;
            if clustered {
                return Ok(Written::Decoded(decoded));
            }
            insert_blocking(&worker, &decoded).map(|(stored, last)| Written::Inserted(stored, last))
        })
        .await
        .map_err(crate::Error::from)
        .and_then(|r| r);
        drop(cpu);
        match written? {
            Written::Decoded(decoded) => {
                let stored = stored_of(&decoded);
                if let Some(cluster) = state.cluster() {
                    cluster.append(decoded).await?;
                }
                Ok(stored)
            }
            Written::Inserted(stored, last) => {
                if let Some(last) = last {
                    let worker = state.clone();
                    tokio::task::spawn_blocking(move || worker.store().commit(&last))
                        .await
                        .map_err(crate::Error::from)?
                        .map_err(crate::Error::from)?;
                }
                Ok(stored)
            }
        }
    })
    .await;
    match &result {
        Ok(stored) => state.metrics().ingested(
            endpoint,
            stored.profiles,
            body_bytes as u64,
            stored.samples,
            took,
        ),
        Err(_) => state.metrics().ingest_failed(endpoint),
    }
    result
}

/// What the blocking half of [`store`] did.
enum Written {
    /// Decoded, for the bucket.
    Decoded(Vec<Packed>),
    /// Written to the local store, to commit.
    Inserted(Stored, Option<brasa_store::Written>),
}

/// Decodes `items`, in `tenant`, with their key times: a bad profile
/// anywhere refuses the whole request before anything is written.
fn decode_blocking(state: &AppState, tenant: &Tenant, items: Vec<Item>) -> Result<Vec<Packed>> {
    let limit = state.limits().max_decompressed_bytes;
    let now = nanos(SystemTime::now());
    let mut decoded = Vec::with_capacity(items.len());
    for item in items {
        let (labels, profile, time) = item.decode(limit)?;
        let time_nanos = time
            .or_else(|| u64::try_from(profile.time_nanos).ok().filter(|&t| t > 0))
            .unwrap_or(now);
        decoded.push(Packed {
            labels: tenant.label(labels)?,
            profile,
            time_nanos,
        });
    }
    Ok(decoded)
}

fn stored_of(decoded: &[Packed]) -> Stored {
    Stored {
        profiles: decoded.len() as u64,
        samples: decoded.iter().map(|p| p.profile.sample.len() as u64).sum(),
    }
}

/// Writes `decoded`; the write to commit.
fn insert_blocking(
    state: &AppState,
    decoded: &[Packed],
) -> Result<(Stored, Option<brasa_store::Written>)> {
    let mut last = None;
    for p in decoded {
        last = Some(state.store().insert(&p.labels, &p.profile, p.time_nanos)?);
    }
    Ok((stored_of(decoded), last))
}
